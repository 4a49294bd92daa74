// `npm start`, the README's main command, and `deno task server`, as a
// supervisor runs them (Docker, pm2, a CI job): it sends SIGTERM to the
// process it started and expects nothing left behind. Runs in a copy of
// the checkout whose node_modules/deno has not run its wrapper yet (as
// right after `npm ci`): the real binary is not in place until something
// puts it there.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { DcCtx } from "../../dc_client/mod.ts";
import { CliProcess, haveCommand, SOURCE_ROOT } from "../_cli.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";
import { alive, HAVE_PROC } from "../_proc.ts";

const ROOT = SOURCE_ROOT;
const SOURCES = [
  "cli",
  "scripts",
  "nal",
  "dc_enc",
  "dc_client",
  "dc_server",
  "mod.ts",
  "deno.json",
  "package.json",
];

// A checkout as `npm ci` leaves it: sources copied, node_modules entries
// linked to ours, except the deno package, copied without the binary its
// wrapper puts there on first use.
function freshCheckout(dir: string): void {
  for (const name of SOURCES) {
    fs.cpSync(path.join(ROOT, name), path.join(dir, name), {
      recursive: true,
    });
  }
  const modules = path.join(dir, "node_modules");
  fs.mkdirSync(modules);
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (entry === "deno") continue;
    fs.symlinkSync(
      path.join(ROOT, "node_modules", entry),
      path.join(modules, entry),
    );
  }
  fs.mkdirSync(path.join(modules, "deno"));
  for (const file of fs.readdirSync(path.join(ROOT, "node_modules", "deno"))) {
    if (file === "deno" || file === "deno.exe") continue;
    fs.copyFileSync(
      path.join(ROOT, "node_modules", "deno", file),
      path.join(modules, "deno", file),
    );
  }
}

// The binary `deno task` is run with: the real Deno, wherever the test runs.
function denoBinary(): string {
  if ("Deno" in globalThis) return process.execPath;
  return execFileSync("node", [path.join(ROOT, "scripts", "deno_path.cjs")], {
    encoding: "utf8",
  });
}

// The children of a process, from /proc.
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...; comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

// Every process below `pid`.
function descendantsOf(pid: number): number[] {
  const out = childrenOf(pid);
  for (const child of [...out]) out.push(...descendantsOf(child));
  return out;
}

// Starts `command args` in the checkout as a supervisor would, and checks
// that the server is its only child, the runtime binary itself, and that
// SIGTERM to the started process stops everything cleanly.
async function superviseOnce(
  checkout: string,
  sock: string,
  command: string,
  args: string[],
): Promise<void> {
  const top = new CliProcess(args, command, { cwd: checkout });
  const spawned = [top.child.pid!];
  try {
    await top.waitFor("listening on", 60_000);
    spawned.push(...descendantsOf(top.child.pid!));
    const children = childrenOf(top.child.pid!);
    assert.equal(children.length, 1, `${command}'s children: ${children}`);
    const server = children[0];
    assert.match(
      fs.readlinkSync(`/proc/${server}/exe`),
      /\/deno$/,
      "the server is the deno binary itself (no shell, no node wrapper)",
    );
    assert.deepEqual(childrenOf(server), [], "and it has no children");
    const ctx = await DcCtx.create(`UNIX:${sock}`);
    assert.equal(await ctx.addSession("sup", "supervised", 60_000), true);
    ctx.close();
    top.signal("SIGTERM");
    await top.exited;
    assert.match(top.stdout, /distcache server stopped/);
    assert.equal(fs.existsSync(sock), false, "socket file removed");
    await until(() => !alive(server), 5000, "the server to be gone");
  } finally {
    for (const pid of spawned) {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  }
}

describe("npm start and deno task server under a supervisor", {
  skip: !haveCommand("npm")
    ? "npm is not installed"
    : !HAVE_PROC
    ? "needs /proc (Linux) to follow the process tree"
    : false,
}, () => {
  let tmp = "";
  let checkout = "";
  before(() => {
    tmp = makeTempDir("distcache-npm-");
    checkout = path.join(tmp, "checkout");
    fs.mkdirSync(checkout);
    freshCheckout(checkout);
  });
  after(() => removeDir(tmp));

  it("npm start runs the server as npm's only child; SIGTERM to npm stops it", async () => {
    assert.equal(
      fs.existsSync(path.join(checkout, "node_modules", "deno", "deno")),
      false,
      "as after a fresh npm ci",
    );
    const sock = path.join(tmp, "npm.sock");
    await superviseOnce(checkout, sock, "npm", [
      "start",
      "--",
      "-listen",
      `UNIX:${sock}`,
    ]);
  });

  it("deno task server runs the server as its only child; SIGTERM stops it", async () => {
    const sock = path.join(tmp, "task.sock");
    await superviseOnce(checkout, sock, denoBinary(), [
      "task",
      "server",
      "-listen",
      `UNIX:${sock}`,
    ]);
  });
});
