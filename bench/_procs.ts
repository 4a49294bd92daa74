/**
 * Processes of the benchmark: the servers it measures (ours under Deno and
 * Bun, memcached, Redis; the C server is in `_c_tools.ts`), our proxy, and
 * the load generator, each optionally pinned to one CPU.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import type { LoaderJob, LoaderResult } from "./loader.ts";

/** The repository's root directory. */
export const ROOT: string = dirname(dirname(fileURLToPath(import.meta.url)));

/** The deno binary: ours when running under Deno, else the npm package's. */
export function denoPath(): string {
  if (process.versions.deno) return process.execPath;
  const scoped = `${ROOT}/node_modules/@deno`;
  if (existsSync(scoped)) {
    for (const d of readdirSync(scoped)) {
      if (existsSync(`${scoped}/${d}/deno`)) return `${scoped}/${d}/deno`;
    }
  }
  return "deno";
}

/** The bun binary from the npm package (or ours when running under Bun). */
export function bunPath(): string {
  const local = `${ROOT}/node_modules/bun/bin/bun.exe`;
  if (existsSync(local)) return local;
  return process.versions.bun ? process.execPath : "bun";
}

/** Where a server listens. */
export type Endpoint = { kind: "unix"; path: string } | {
  kind: "tcp";
  port: number;
};

/** A server (or proxy) kind the benchmark can start. */
export interface ServerKind {
  /** Short name used in results (`ours-bun`, `memcached`, ...). */
  name: string;
  /** The protocol the loader speaks to it. */
  proto: LoaderJob["proto"];
  /** The command line. */
  argv(at: Endpoint, sessions: number): string[];
}

/** The endpoint in libnal syntax (`UNIX:/path`, `IP:127.0.0.1:port`). */
export function dcAddress(at: Endpoint): string {
  return at.kind === "unix" ? `UNIX:${at.path}` : `IP:127.0.0.1:${at.port}`;
}

// Our CLI under a runtime, up to the command name; from another checkout
// (`root`) with that checkout's own deno.json.
function cli(runtime: "deno" | "bun", root: string = ROOT): string[] {
  if (root !== ROOT) {
    return runtime === "deno"
      ? [
        denoPath(),
        "run",
        "-A",
        "--config",
        `${root}/deno.json`,
        `${root}/cli/main.ts`,
      ]
      : [bunPath(), `${root}/cli/main.ts`];
  }
  return runtime === "deno"
    ? [denoPath(), "run", "-A", "cli/main.ts"]
    : [bunPath(), "cli/main.ts"];
}

/**
 * Our server under a runtime: `ours-deno`, `ours-bun`; with `baseline`, the
 * one of another checkout of the repository (`base-deno`, `base-bun`), to
 * measure a change against the code before it in the same rounds.
 */
export function oursKind(
  runtime: "deno" | "bun",
  baseline?: string,
): ServerKind {
  return {
    name: `${baseline === undefined ? "ours" : "base"}-${runtime}`,
    proto: "dc",
    argv: (at, sessions) => [
      ...cli(runtime, baseline),
      "server",
      "-listen",
      dcAddress(at),
      "-sessions",
      String(sessions),
    ],
  };
}

/**
 * Our server (or with `tool` "client", our proxy straight on the store)
 * under a runtime, its sessions in the Redis at `storeUrl`; with
 * `baseline`, the one of that other checkout.
 */
export function oursOnStoreKind(
  runtime: "deno" | "bun",
  name: string,
  storeUrl: string,
  tool: "server" | "client" = "server",
  baseline?: string,
): ServerKind {
  return {
    name,
    proto: "dc",
    argv: (at) => [
      ...cli(runtime, baseline),
      tool,
      "-listen",
      dcAddress(at),
      "-store",
      storeUrl,
    ],
  };
}

/** Our proxy (`client`) under a runtime, in front of `server`. */
export function proxyArgv(
  runtime: "deno" | "bun",
  at: Endpoint,
  server: Endpoint,
): string[] {
  return [
    ...cli(runtime),
    "client",
    "-listen",
    dcAddress(at),
    "-server",
    dcAddress(server),
  ];
}

const IS_ROOT = process.getuid?.() === 0;

/** memcached with its default threads, enough memory for a million sessions. */
export const MEMCACHED: ServerKind = {
  name: "memcached",
  proto: "mc",
  argv: (at) => [
    "memcached",
    ...(IS_ROOT ? ["-u", "root"] : []),
    "-m",
    "4096",
    "-c",
    "4096",
    ...(at.kind === "unix"
      ? ["-s", at.path, "-a", "0700"]
      : ["-l", "127.0.0.1", "-p", String(at.port), "-U", "0"]),
  ],
};

/** Redis without persistence. */
export const REDIS: ServerKind = {
  name: "redis",
  proto: "redis",
  argv: (at) => [
    "redis-server",
    "--save",
    "",
    "--appendonly",
    "no",
    ...(at.kind === "unix"
      ? ["--port", "0", "--unixsocket", at.path, "--unixsocketperm", "700"]
      : ["--port", String(at.port), "--bind", "127.0.0.1"]),
  ],
};

/** A running server or proxy. */
export interface Running {
  /** The process. */
  child: ChildProcess;
  /** Where it listens. */
  at: Endpoint;
  /** Its resident set size now, in bytes. */
  rss(): number;
  /** CPU time it has used so far, every thread, nanoseconds (0: unknown; 10 ms steps). */
  cpuNs(): number;
  /** Stops it (SIGTERM, then SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(at: Endpoint): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = at.kind === "unix"
      ? net.createConnection({ path: at.path })
      : net.createConnection({ host: "127.0.0.1", port: at.port });
    sock.on("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.on("error", () => resolve(false));
  });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** How many file descriptors process `pid` has open (0 when unknown). */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

// The time on CPU of `pid`, every thread's, ended ones' included (utime +
// stime of /proc/<pid>/stat, in clock ticks of 10 ms): the figure a
// neighbour's load moves least, unlike a rate.
function cpuNsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10_000_000;
  } catch {
    return 0;
  }
}

/** Whether `taskset` is there to pin a process to a CPU. */
export function hasTaskset(): boolean {
  return spawnSync("taskset", ["-c", "0", "true"]).status === 0;
}

/** `argv`, run on CPU `cpu` (with `taskset`) when one is given. */
export function pinned(argv: string[], cpu?: number): string[] {
  return cpu === undefined ? argv : ["taskset", "-c", String(cpu), ...argv];
}

/**
 * Starts `argv` (on CPU `cpu` when given) and waits until `at` accepts
 * connections.
 */
export async function start(
  argv: string[],
  at: Endpoint,
  cpu?: number,
): Promise<Running> {
  argv = pinned(argv, cpu);
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => stderr += d);
  let exited = false;
  const done = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    })
  );
  child.on("error", (e) => stderr += String(e));
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(at))) {
    if (exited || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(
        `${argv.join(" ")} did not start: ${stderr.trim() || "timeout"}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    at,
    rss: () => rssOf(child.pid!),
    cpuNs: () => cpuNsOf(child.pid!),
    async stop() {
      if (exited) return;
      // process.kill rather than child.kill: Deno's ChildProcess.kill sends
      // only the first signal of a child's life, so SIGKILL would be lost.
      signal(child.pid!, "SIGTERM");
      const t = setTimeout(() => signal(child.pid!, "SIGKILL"), 5000);
      await done;
      clearTimeout(t);
    },
  };
}

/**
 * Runs `argv` from the repository root and parses the last line it prints
 * as JSON (the loader's and the codec bench's way of reporting).
 */
export function runJson<T>(argv: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => out += d);
    child.stderr!.on("data", (d) => err += d);
    child.on("error", reject);
    // "close", not "exit": a process may be gone while its output is still
    // on the way (or held by a process it started); "close" comes once
    // every byte of it has been read.
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(line) as T);
      } catch (e) {
        reject(
          new Error(
            `${argv.join(" ")} failed (${(e as Error).message}): ${
              err.trim() || out
            }`,
          ),
        );
      }
    });
  });
}

/** Runs the loader under Bun (on CPU `cpu` when given) and returns its result. */
export function load(
  job: LoaderJob,
  at: Endpoint,
  cpu?: number,
): Promise<LoaderResult> {
  const full: LoaderJob = at.kind === "unix"
    ? { ...job, path: at.path }
    : { ...job, host: "127.0.0.1", port: at.port };
  return runJson(
    pinned([bunPath(), "bench/loader.ts", JSON.stringify(full)], cpu),
  );
}

/** The first line a command prints of its version, or null when missing. */
export function versionOf(cmd: string, arg = "--version"): string | null {
  const r = spawnSync(cmd, [arg], { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return (r.stdout || r.stderr).trim().split("\n")[0];
}

function installed(cmd: string): boolean {
  return versionOf(cmd) !== null || versionOf(cmd, "-V") !== null;
}

/**
 * Makes memcached and Redis available: installs them with apt-get when they
 * are missing and this machine can. Returns the peers there are, and a
 * message for each one that could not be provided.
 */
export function ensurePeers(): { peers: ServerKind[]; skipped: string[] } {
  const peers: [ServerKind, string][] = [
    [MEMCACHED, "memcached"],
    [REDIS, "redis-server"],
  ];
  const hasApt = versionOf("apt-get") !== null;
  if (hasApt && peers.some(([, cmd]) => !installed(cmd))) {
    const apt = (...args: string[]) => {
      const cmd = [...(IS_ROOT ? [] : ["sudo", "-n"]), "apt-get", ...args];
      console.log(`$ ${cmd.join(" ")}`);
      return spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit" }).status;
    };
    const install = ["install", "-y", ...peers.map(([, cmd]) => cmd)];
    // A fresh machine may have no package lists yet.
    if (apt(...install) !== 0 && apt("update") === 0) apt(...install);
  }
  const missing = peers.filter(([, cmd]) => !installed(cmd));
  return {
    peers: peers.filter((p) => !missing.includes(p)).map(([kind]) => kind),
    skipped: missing.map(([, cmd]) =>
      `${cmd} is not installed and could not be installed (apt-get ${
        hasApt ? "failed" : "is not available"
      }): its rows are skipped`
    ),
  };
}
