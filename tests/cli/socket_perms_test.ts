// `-sockperms`, `-sockowner`, `-sockgroup` of the server and of the proxy
// (`client`): a process of another user (nobody, through setpriv) that
// keeps trying to connect while they start under umask 000 never gets in
// when the mode is 600, and does when it is 666 (so the prober works); a
// watcher that keeps looking at the socket path never sees it owned by
// anyone but the -sockowner/-sockgroup asked; a mode beyond rwx bits is
// refused. Real processes; needs root.

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

// Looks at the path as fast as it can until told to stop on stdin, then
// prints how often it saw a socket there with the owner and group asked,
// and with another.
const WATCHER = `
const fs = require("fs");
const [path, uid, gid] = process.argv.slice(1);
let right = 0, wrong = 0, stop = false;
process.stdin.on("data", () => { stop = true; });
process.stdin.on("end", () => { stop = true; });
function batch() {
  if (stop) { console.log(JSON.stringify({ right, wrong })); process.exit(0); }
  for (let i = 0; i < 200; i++) {
    try {
      const st = fs.lstatSync(path);
      if (st.uid === Number(uid) && st.gid === Number(gid)) right++;
      else wrong++;
    } catch {}
  }
  setImmediate(batch);
}
console.log("probing");
batch();
`;

class Prober {
  readonly child: ChildProcess;
  out = "";
  constructor(sock: string, watch = false) {
    this.child = watch
      ? spawn("node", ["-e", WATCHER, sock, String(NOBODY), String(NOBODY)], {
        stdio: ["pipe", "pipe", "inherit"],
      })
      : spawn("setpriv", [
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
  async result<T>(): Promise<T> {
    const closed = new Promise((r) => this.child.once("close", r));
    this.child.stdin!.end("stop\n");
    await closed;
    return JSON.parse(this.out.trim().split("\n").pop()!);
  }
}

type Tool = "server" | "client";

// The command line of a tool listening on `sock`; the proxy's server is
// not there (it listens all the same, and retries).
function toolArgs(tool: Tool, sock: string, flags: string[]): string[] {
  return tool === "server" ? ["server", "-listen", `UNIX:${sock}`, ...flags] : [
    "client",
    "-listen",
    `UNIX:${sock}`,
    "-server",
    `UNIX:${sock}.absent`,
    ...flags,
  ];
}

// RACES servers (or proxies) started one after another with the prober
// running all along; what it counted.
async function race<T>(
  dir: string,
  tool: Tool,
  flags: string[],
  watch = false,
): Promise<T> {
  const sock = path.join(dir, `race-${tool}-${flags.join("")}`);
  const prober = new Prober(sock, watch);
  let result: Promise<T> | null = null;
  try {
    await prober.started();
    for (let i = 0; i < RACES; i++) {
      const server = new CliProcess(
        toolArgs(tool, sock, flags),
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
    result = prober.result<T>();
  } finally {
    // Stopped whatever happened (stdin's end stops it too).
    if (result === null) prober.child.stdin!.end();
  }
  return await result;
}

for (const tool of ["server", "client"] as const) {
  describe(`${tool} -sockperms, -sockowner, -sockgroup`, () => {
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
        const r = await race<{ ok: number; tries: number }>(dir, tool, [
          "-sockperms",
          "600",
        ]);
        assert.ok(r.tries > 100, `the prober tried only ${r.tries} times`);
        assert.equal(r.ok, 0, `nobody connected ${r.ok} of ${r.tries} times`);
      },
    );

    it(
      "(the prober does connect to a -sockperms 666 socket)",
      { skip: canDropToNobody() },
      async () => {
        const r = await race<{ ok: number; tries: number }>(dir, tool, [
          "-sockperms",
          "666",
        ]);
        assert.ok(r.ok > 0, `no connect in ${r.tries} tries`);
      },
    );

    it(
      `a -sockowner/-sockgroup socket is never seen with another owner over ${RACES} starts`,
      { skip: canDropToNobody() },
      async () => {
        const r = await race<{ right: number; wrong: number }>(dir, tool, [
          "-sockowner",
          String(NOBODY),
          "-sockgroup",
          String(NOBODY),
        ], true);
        assert.ok(r.right > 0, "the watcher never saw the socket");
        assert.equal(
          r.wrong,
          0,
          `seen ${r.wrong} times owned by another (${r.right} as asked)`,
        );
      },
    );

    it("-sockperms 7777 is refused: rwx bits only", async () => {
      const r = await runCli(toolArgs(tool, path.join(dir, "never"), [
        "-sockperms",
        "7777",
      ]));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /-sockperms: 7777 is not a permission mode/);
      assert.equal(fs.existsSync(path.join(dir, "never")), false);
    });
  });
}
