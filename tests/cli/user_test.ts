// -user as root: the server drops to the user, keeping none of root's
// supplementary groups, in every thread; and a socket or pidfile it will
// not be able to remove afterwards is named at start. Needs root, and
// setpriv (util-linux) to start the server with supplementary groups, as a
// root shell often has them (e.g. 0 4 27).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { DcCtx } from "../../dc_client/mod.ts";
import {
  cliCommand,
  CliProcess,
  CliSandbox,
  haveCommand,
  listenAddr,
} from "../_cli.ts";
import { HAVE_PROC, statusLines } from "../_proc.ts";

// The uid and gid of "nobody", from /etc/passwd.
function nobody(): { uid: number; gid: number } | null {
  const line = fs.readFileSync("/etc/passwd", "utf8").split("\n")
    .find((l) => l.startsWith("nobody:"));
  if (line === undefined) return null;
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

const SKIP = process.getuid?.() !== 0
  ? "needs root"
  : !HAVE_PROC
  ? "needs /proc (Linux)"
  : !haveCommand("setpriv")
  ? "needs setpriv (util-linux)"
  : nobody() === null
  ? "needs a user nobody"
  : false;

describe("-user", { skip: SKIP }, () => {
  const box = new CliSandbox("distcache-user-");
  const GROUPS = "4 27";

  // Starts `distcache <args>` with supplementary groups 4 and 27.
  async function startWithGroups(args: string[]): Promise<CliProcess> {
    const cmd = cliCommand(args);
    const proc = box.track(
      new CliProcess(
        [`--groups=${GROUPS.replace(" ", ",")}`, cmd.command, ...cmd.args],
        "setpriv",
      ),
    );
    await proc.waitFor("listening on");
    return proc;
  }

  // A directory where nobody may remove its own files (like /tmp).
  const sticky = () => {
    const dir = path.join(box.dir, "sticky");
    fs.mkdirSync(dir, { recursive: true });
    fs.chmodSync(box.dir, 0o755);
    fs.chmodSync(dir, 0o1777);
    return dir;
  };

  it("without -user the groups are there (the setup is sound)", async () => {
    const proc = await startWithGroups([
      "server",
      "-listen",
      `UNIX:${path.join(sticky(), "plain.sock")}`,
    ]);
    assert.deepEqual(
      [...new Set(statusLines(proc.child.pid!, "Groups"))],
      [GROUPS],
    );
    assert.ok(await proc.stop(), "clean shutdown");
  });

  for (const tool of ["server", "client"]) {
    it(`${tool} -user nobody: every thread is nobody, with no other group; the socket is removed at exit`, async () => {
      const { uid, gid } = nobody()!;
      const dir = sticky();
      const server = tool === "server" ? null : await startWithGroups([
        "server",
        "-listen",
        `UNIX:${path.join(dir, "upstream.sock")}`,
        "-sockperms",
        "666",
      ]);
      const sock = path.join(dir, `${tool}-nobody.sock`);
      const proc = await startWithGroups([
        tool,
        "-listen",
        `UNIX:${sock}`,
        ...(server === null ? [] : ["-server", listenAddr(server)]),
        "-user",
        "nobody",
      ]);
      const pid = proc.child.pid!;
      const norm = (
        lines: string[],
      ) => [...new Set(lines.map((l) => l.replace(/\s+/g, " ")))];
      assert.deepEqual(
        norm(statusLines(pid, "Uid")),
        [`${uid} ${uid} ${uid} ${uid}`],
      );
      assert.deepEqual(
        norm(statusLines(pid, "Gid")),
        [`${gid} ${gid} ${gid} ${gid}`],
      );
      for (const groups of statusLines(pid, "Groups")) {
        assert.ok(
          groups === "" || groups === `${gid}`,
          `Groups "${groups}": only nobody's own group may remain`,
        );
      }
      assert.doesNotMatch(proc.stderr, /warning/);
      const ctx = await DcCtx.create(`UNIX:${sock}`);
      assert.equal(await ctx.addSession("u", "as nobody", 60_000), true);
      ctx.close();
      assert.ok(await proc.stop(), "clean shutdown");
      assert.equal(fs.existsSync(sock), false, "socket file removed");
      if (server !== null) assert.ok(await server.stop(), "clean shutdown");
    });
  }

  it("a socket and pidfile nobody cannot remove are named at start, and left", async () => {
    const dir = path.join(box.dir, "root-only");
    fs.mkdirSync(dir);
    fs.chmodSync(box.dir, 0o755);
    fs.chmodSync(dir, 0o755);
    const sock = path.join(dir, "kept.sock");
    const pidfile = path.join(dir, "kept.pid");
    const proc = await startWithGroups([
      "server",
      "-listen",
      `UNIX:${sock}`,
      "-pidfile",
      pidfile,
      "-user",
      "nobody",
    ]);
    const warnings = proc.stderr.trim().split("\n");
    assert.equal(warnings.length, 2, proc.stderr);
    assert.match(warnings[0], new RegExp(`cannot remove ${sock} at exit`));
    assert.match(warnings[1], new RegExp(`cannot remove ${pidfile} at exit`));
    assert.ok(await proc.stop(), "clean shutdown");
    assert.equal(fs.existsSync(sock), true, "left behind, as said");
    // The next start takes the stale socket and pidfile over.
    const again = await startWithGroups([
      "server",
      "-listen",
      `UNIX:${sock}`,
      "-pidfile",
      pidfile,
    ]);
    assert.equal(Number(fs.readFileSync(pidfile, "utf8")), again.child.pid);
    assert.ok(await again.stop(), "clean shutdown");
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
