// `server -sockperms`: a process of another user (nobody, through setpriv)
// that keeps trying to connect while servers start under umask 000 never
// gets in when the mode is 600, and does when it is 666 (so the prober
// works); a mode beyond rwx bits is refused. Real processes; needs root.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { CliProcess, runCli } from "../_cli.ts";
import { makeTempDir, removeDir } from "../_servers.ts";

const RACES = 10;
// Connect loops the prober runs side by side.
const LOOPS = 8;
const NOBODY = 65534;

// Connects to the path as fast as it can until told to stop on stdin, then
// prints how many connects succeeded (and that it ran).
const PROBER = `
const net = require("net");
const path = process.argv[1];
let ok = 0, tries = 0, stop = false;
process.stdin.on("data", () => { stop = true; });
process.stdin.on("end", () => { stop = true; });
function next() {
  if (stop) { console.log(JSON.stringify({ ok, tries })); process.exit(0); }
  tries++;
  const s = net.createConnection({ path });
  const done = () => { s.destroy(); setImmediate(next); };
  s.on("connect", () => { ok++; done(); });
  s.on("error", done);
}
console.log("probing");
for (let i = 0; i < ${LOOPS}; i++) next();
`;

function canDropToNobody(): string | false {
  if (process.getuid?.() !== 0) return "needs root (to run a prober as nobody)";
  const r = spawnSync("setpriv", [
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    "--clear-groups",
    "node",
    "-e",
    "0",
  ]);
  return r.status === 0 ? false : "needs setpriv and node";
}

class Prober {
  readonly child: ChildProcess;
  out = "";
  constructor(sock: string) {
    this.child = spawn("setpriv", [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      "node",
      "-e",
      PROBER,
      sock,
    ], { stdio: ["pipe", "pipe", "inherit"] });
    this.child.stdout!.on("data", (d) => this.out += d);
  }
  async started(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.out.includes("probing")) {
      if (Date.now() > deadline) throw new Error("the prober did not start");
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async result(): Promise<{ ok: number; tries: number }> {
    const closed = new Promise((r) => this.child.once("close", r));
    this.child.stdin!.end("stop\n");
    await closed;
    return JSON.parse(this.out.trim().split("\n").pop()!);
  }
}

// RACES servers started one after another with the prober running all
// along; how many of its connects succeeded.
async function race(
  dir: string,
  perms: string,
): Promise<{ ok: number; tries: number }> {
  const sock = path.join(dir, `race-${perms}`);
  const prober = new Prober(sock);
  let result: Promise<{ ok: number; tries: number }> | null = null;
  try {
    await prober.started();
    for (let i = 0; i < RACES; i++) {
      const server = new CliProcess(
        ["server", "-listen", `UNIX:${sock}`, "-sockperms", perms],
        undefined,
        { umask: 0 },
      );
      try {
        await server.waitFor("listening on");
        // A few of the prober's tries against the running server too.
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        assert.ok(await server.stop(), server.stderr);
      }
    }
    result = prober.result();
  } finally {
    // Stopped whatever happened (stdin's end stops it too).
    if (result === null) prober.child.stdin!.end();
  }
  return await result;
}

describe("server -sockperms", () => {
  let dir = "";
  before(() => {
    dir = makeTempDir("distcache-perms-");
    // Anyone may enter: only the socket's own mode keeps nobody out.
    fs.chmodSync(dir, 0o777);
  });
  after(() => removeDir(dir));

  it(
    `nobody never connects to a -sockperms 600 socket over ${RACES} starts under umask 000`,
    { skip: canDropToNobody() },
    async () => {
      const r = await race(dir, "600");
      assert.ok(r.tries > 100, `the prober tried only ${r.tries} times`);
      assert.equal(r.ok, 0, `nobody connected ${r.ok} of ${r.tries} times`);
    },
  );

  it(
    "(the prober does connect to a -sockperms 666 socket)",
    { skip: canDropToNobody() },
    async () => {
      const r = await race(dir, "666");
      assert.ok(r.ok > 0, `no connect in ${r.tries} tries`);
    },
  );

  it("-sockperms 7777 is refused: rwx bits only", async () => {
    const r = await runCli([
      "server",
      "-listen",
      `UNIX:${path.join(dir, "never")}`,
      "-sockperms",
      "7777",
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /-sockperms: 7777 is not a permission mode/);
    assert.equal(fs.existsSync(path.join(dir, "never")), false);
  });
});
