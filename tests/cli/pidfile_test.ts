// -pidfile as an attacker or a careless operator meets it, with real
// processes, in the foreground and with -daemon: links at the pidfile's
// name are replaced, never followed; a live server's pidfile is never
// taken over; only our own pidfile is removed at exit.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { DcCtx } from "../../dc_client/mod.ts";
import { CliProcess, CliSandbox, runCli } from "../_cli.ts";
import { alive } from "../_proc.ts";
import { until } from "../_servers.ts";

describe("-pidfile", () => {
  const box = new CliSandbox("distcache-pid-");
  let n = 0;
  // A fresh directory per case, so that stray files show.
  const caseDir = () => {
    const dir = path.join(box.dir, `case-${++n}`);
    fs.mkdirSync(dir);
    return dir;
  };

  // Starts a server with -pidfile in the foreground or as a daemon;
  // resolves with its pid and a way to stop it (and wait until it is gone).
  async function start(
    daemon: boolean,
    pidfile: string,
    sock: string,
  ): Promise<{ pid: number; stop: () => Promise<void> }> {
    const args = ["-listen", `UNIX:${sock}`];
    if (daemon) {
      const pid = await box.startDaemon("server", pidfile, args);
      return {
        pid,
        stop: async () => {
          process.kill(pid, "SIGTERM");
          await until(() => !alive(pid), 5000, "the daemon to exit");
        },
      };
    }
    const proc = box.track(
      new CliProcess(["server", "-pidfile", pidfile, ...args]),
    );
    await proc.waitFor("listening on");
    return {
      pid: proc.child.pid!,
      stop: async () => {
        assert.ok(await proc.stop(), "clean shutdown");
      },
    };
  }

  const readPid = (file: string) => Number(fs.readFileSync(file, "utf8"));

  for (const daemon of [false, true]) {
    const mode = daemon ? "-daemon" : "foreground";

    it(`${mode}: a link at the pidfile's name is replaced, its target untouched`, async () => {
      const dir = caseDir();
      const victim = path.join(dir, "victim");
      fs.writeFileSync(victim, "precious\n", { mode: 0o600 });
      const pidfile = path.join(dir, "server.pid");
      fs.symlinkSync(victim, pidfile);
      const server = await start(daemon, pidfile, path.join(dir, "s.sock"));
      assert.equal(fs.readFileSync(victim, "utf8"), "precious\n");
      assert.equal(fs.statSync(victim).mode & 0o777, 0o600);
      assert.ok(fs.lstatSync(pidfile).isFile(), "a regular file now");
      assert.equal(readPid(pidfile), server.pid);
      await server.stop();
      assert.equal(fs.existsSync(pidfile), false, "removed at exit");
      assert.equal(fs.readFileSync(victim, "utf8"), "precious\n");
      assert.deepEqual(fs.readdirSync(dir).sort(), ["victim"]);
    });

    it(`${mode}: a dangling link creates nothing at its target`, async () => {
      const dir = caseDir();
      const target = path.join(dir, "created-by-root");
      const pidfile = path.join(dir, "server.pid");
      fs.symlinkSync(target, pidfile);
      const server = await start(daemon, pidfile, path.join(dir, "s.sock"));
      assert.equal(fs.existsSync(target), false);
      assert.equal(readPid(pidfile), server.pid);
      await server.stop();
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    it(`${mode}: a second server refuses a live server's pidfile, before listening`, async () => {
      const dir = caseDir();
      const pidfile = path.join(dir, "server.pid");
      const first = await start(daemon, pidfile, path.join(dir, "one.sock"));
      const second = await runCli(
        [
          "server",
          ...(daemon ? ["-daemon"] : []),
          "-pidfile",
          pidfile,
          "-listen",
          `UNIX:${path.join(dir, "two.sock")}`,
        ],
        undefined,
        15_000,
      );
      assert.equal(second.code, 1);
      const lines = second.stderr.trim().split("\n");
      assert.equal(lines.length, 1, second.stderr);
      assert.match(lines[0], new RegExp(`names running process ${first.pid}`));
      assert.equal(readPid(pidfile), first.pid, "the first's pidfile kept");
      assert.equal(fs.existsSync(path.join(dir, "two.sock")), false);
      const ctx = await DcCtx.create(`UNIX:${path.join(dir, "one.sock")}`);
      assert.equal(
        await ctx.addSession("first", "still serving", 60_000),
        true,
      );
      ctx.close();
      await first.stop();
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    it(`${mode}: a stale pidfile is replaced; one no longer ours is left at exit`, async () => {
      const dir = caseDir();
      const pidfile = path.join(dir, "server.pid");
      const gone = spawnSync(process.execPath, ["--version"]).pid!;
      fs.writeFileSync(pidfile, `${gone}\n`);
      const server = await start(daemon, pidfile, path.join(dir, "s.sock"));
      assert.equal(readPid(pidfile), server.pid);
      fs.writeFileSync(pidfile, `${gone}\n`); // an operator's edit
      await server.stop();
      assert.equal(readPid(pidfile), gone, "not ours any more: kept");
      assert.deepEqual(fs.readdirSync(dir), ["server.pid"]);
    });

    it(`${mode}: a pidfile in a missing directory is a one-line error`, async () => {
      const dir = caseDir();
      const res = await runCli([
        "server",
        ...(daemon ? ["-daemon"] : []),
        "-pidfile",
        path.join(dir, "missing", "server.pid"),
        "-listen",
        `UNIX:${path.join(dir, "s.sock")}`,
      ]);
      assert.equal(res.code, 1);
      assert.equal(
        res.stderr.trim(),
        `distcache server: cannot write pidfile ${
          path.join(dir, "missing", "server.pid")
        }: no directory ${path.join(dir, "missing")}`,
      );
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  }
});
