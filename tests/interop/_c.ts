// Helpers of the interop tests: the original C tools (found by
// tests/_c_tools.ts) and how to run them (their servers print nothing, so
// readiness is read from the socket or /proc).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import net from "node:net";
import * as path from "node:path";
import process from "node:process";
import { after, before } from "node:test";
import { CliProcess } from "../_cli.ts";
import { cTool, cToolMissing } from "../_c_tools.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";

/** The C tools used here. */
export interface CTools {
  server: string;
  client: string;
  test: string;
}

const found = {
  server: cTool("dc_server"),
  client: cTool("dc_client"),
  test: cTool("dc_test"),
};

/** The C tools, from {@linkcode cTool}; null when one is missing. */
export const C: CTools | null = found.server && found.client && found.test
  ? { server: found.server, client: found.client, test: found.test }
  : null;

/** Why the interop tests skip (false when the tools are there). */
export const SKIP: string | false = C ? false : cToolMissing(
  Object.entries(found).filter(([, p]) => p === null).map(([n]) => `dc_${n}`)
    .join(", "),
);

if (SKIP) console.warn(`interop tests skipped: ${SKIP}`);

/** A C process with its output collected. */
export class CProcess {
  readonly child: ChildProcess;
  output = "";
  readonly exited: Promise<number | null>;

  constructor(argv: string[]) {
    this.child = spawn(argv[0], argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const take = (d: Uint8Array) => this.output += new TextDecoder().decode(d);
    this.child.stdout!.on("data", take);
    this.child.stderr!.on("data", take);
    this.exited = new Promise((resolve) => {
      this.child.on("error", (e) => {
        this.output += String(e);
        resolve(null);
      });
      this.child.on("close", (code) => resolve(code));
    });
  }

  /** Kills it (the C servers stop at SIGTERM) and waits for its exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await this.exited;
  }
}

/**
 * Runs a C tool to completion: exit code and everything it printed. One
 * still running after `timeoutMs` (a C client waiting forever on an answer)
 * is killed, and says so in its output.
 */
export async function runC(
  argv: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; output: string }> {
  const p = new CProcess(argv);
  const timer = setTimeout(() => {
    p.output += `\n(killed: still running after ${timeoutMs} ms)\n`;
    p.stop();
  }, timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, output: p.output };
}

function canConnect(opts: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(opts);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Waits until something accepts connections at the UNIX socket `sock`. */
export function accepting(sock: string, what: string): Promise<void> {
  return until(() => canConnect({ path: sock }), 10_000, `${what} at ${sock}`);
}

// The TCP port process `pid` listens on: its socket inodes matched against
// /proc/net/tcp's listening sockets (the C server prints no address).
function listeningPort(pid: number): number | null {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(
        fs.readlinkSync(`/proc/${pid}/fd/${fd}`),
      );
      if (m) inodes.add(m[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  for (const line of fs.readFileSync("/proc/net/tcp", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    // local_address is "0100007F:PORT" in hex; state 0A is LISTEN.
    if (f[3] === "0A" && inodes.has(f[9])) {
      return parseInt(f[1].split(":")[1], 16);
    }
  }
  return null;
}

/**
 * Starts the C `dc_server` on a UNIX socket in `dir` or on a loopback port
 * the kernel picks, and resolves once it accepts connections.
 */
export async function startCServer(
  transport: "UNIX" | "TCP",
  dir: string,
  name = "c-server.sock",
): Promise<{ proc: CProcess; addr: string }> {
  if (transport === "UNIX") {
    const sock = path.join(dir, name);
    const proc = new CProcess([
      C!.server,
      "-listen",
      `UNIX:${sock}`,
      "-sessions",
      "10000",
    ]);
    await accepting(sock, "the C dc_server");
    return { proc, addr: `UNIX:${sock}` };
  }
  const proc = new CProcess([
    C!.server,
    "-listen",
    "IP:127.0.0.1:0",
    "-sessions",
    "10000",
  ]);
  let port: number | null = null;
  await until(
    () => {
      if (proc.child.exitCode !== null) {
        throw new Error(`the C dc_server exited: ${proc.output}`);
      }
      port = listeningPort(proc.child.pid!);
      return port !== null;
    },
    10_000,
    "the C dc_server to listen",
  );
  return { proc, addr: `IP:127.0.0.1:${port}` };
}

/**
 * The arguments of a C `dc_test` run kept inside the C tools' known limits
 * (data up to 3990 bytes; the C server corrupts 4069..4072), printing its
 * operation count at the end.
 */
export function dcTestArgs(
  addr: string,
  ops: number,
  persistent: boolean,
  dataMax: number = 3990,
): string[] {
  return [
    C!.test,
    "-connect",
    addr,
    "-sessions",
    "20",
    "-datamin",
    "50",
    "-datamax",
    String(dataMax),
    "-ops",
    String(ops),
    "-progress",
    String(ops),
    ...(persistent ? ["-persistent"] : []),
  ];
}

/**
 * Asserts that a dc_test run of `ops` operations passed: exit code 0, the
 * operation count planned and reached, and no failure reported.
 */
export function assertDcTestPassed(
  res: { code: number | null; output: string },
  ops: number,
): void {
  assert.equal(res.code, 0, `dc_test exit code: ${res.output}`);
  assert.match(res.output, new RegExp(`will run ${ops} random tests`));
  assert.match(res.output, new RegExp(`total operations = +${ops}\\n`));
  assert.match(res.output, /Info, all tests complete/);
  assert.doesNotMatch(res.output, /Error/);
}

const LISTENING = /listening on ([^\s,]+)/;

/**
 * The temporary directory and processes of one describe block: made before
 * its tests, every process stopped and the directory removed after them,
 * even when a test fails.
 */
export class Fixture {
  dir = "";
  readonly #stops: (() => Promise<unknown>)[] = [];

  constructor() {
    before(() => {
      this.dir = makeTempDir("distcache-interop-");
    });
    after(async () => {
      for (const stop of this.#stops.reverse()) await stop();
      removeDir(this.dir);
    });
  }

  /** A path for a UNIX socket in the directory. */
  sock(name: string): string {
    return path.join(this.dir, name);
  }

  /** Starts `distcache <args>` under this runtime; resolves once it listens. */
  async ours(args: string[]): Promise<{ proc: CliProcess; addr: string }> {
    const proc = new CliProcess(args);
    this.#stops.push(() => proc.stop("SIGKILL"));
    await proc.waitFor(LISTENING);
    return { proc, addr: LISTENING.exec(proc.stdout)![1] };
  }

  /** Starts the C `dc_server` (see {@linkcode startCServer}). */
  async cServer(
    transport: "UNIX" | "TCP",
    name: string,
  ): Promise<{ proc: CProcess; addr: string }> {
    const started = startCServer(transport, this.dir, name);
    const s = await started;
    this.#stops.push(() => s.proc.stop());
    return s;
  }

  /**
   * Starts the C `dc_server` on a UNIX socket and our proxy (`distcache
   * client`, given `args`) in front of it; resolves with the proxy's
   * address.
   */
  async proxyToC(name: string, args: string[] = []): Promise<string> {
    const server = await this.cServer("UNIX", `c-${name}.sock`);
    const proxy = await this.ours([
      "client",
      "-listen",
      `UNIX:${this.sock(`proxy-${name}.sock`)}`,
      "-server",
      server.addr,
      ...args,
    ]);
    return proxy.addr;
  }

  /** Starts a C process, stopped after the block. */
  c(argv: string[]): CProcess {
    const p = new CProcess(argv);
    this.#stops.push(() => p.stop());
    return p;
  }
}
