// Test helpers that start Debian's redis-server on free loopback ports, as
// child processes of the test (never a system service), in a fresh
// temporary directory: a standalone server, or a Cluster of 3 masters and
// 3 replicas. Everything they start is stopped by stop(), even after a
// failed test.

import {
  type ChildProcess,
  execFile,
  spawn,
  spawnSync,
} from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import process from "node:process";
import { makeTempDir, removeDir } from "./_servers.ts";

const REDIS = "redis-server";
const CLI = "redis-cli";

/**
 * Why the tests that need Redis skip (false when redis-server and
 * redis-cli are installed; CI installs them).
 */
export const REDIS_MISSING: string | false = (() => {
  for (const cmd of [REDIS, CLI]) {
    const r = spawnSync(cmd, ["--version"], { encoding: "utf8" });
    if (r.error || r.status !== 0) {
      return `${cmd} not found: apt-get install -y redis-server`;
    }
  }
  return false;
})();
if (REDIS_MISSING) console.warn(`Redis tests skipped: ${REDIS_MISSING}`);

/**
 * Runs redis-cli with these arguments (and `input` on its stdin, for -x:
 * a binary last argument); resolves with its output.
 */
export function redisCli(
  args: string[],
  timeoutMs = 10_000,
  input?: Uint8Array,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      CLI,
      args,
      { timeout: timeoutMs, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`redis-cli ${args.join(" ")}: ${stderr || err.message}`),
          );
        } else resolve(stdout.trim());
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

// Ports handed out by this process: the kernel may give the port of a
// listener just closed to the next bind(0), and a Cluster asks for six
// before any node listens.
const handedOut = new Set<number>();

/** A free TCP port on 127.0.0.1 (and its cluster bus port, +10000, too). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    const bus = port + 10000;
    if (
      bus <= 65535 && !handedOut.has(port) && !handedOut.has(bus) &&
      (await listenOnce(bus)) !== -1
    ) {
      handedOut.add(port);
      handedOut.add(bus);
      return port;
    }
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.on("error", () => resolve(-1));
    s.listen(port, "127.0.0.1", () => {
      const got = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(got));
    });
  });
}

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One redis-server process. */
export class RedisProcess {
  readonly port: number;
  readonly dir: string;
  readonly #args: string[];
  readonly #tls: boolean;
  // redis-cli's arguments to reach it (TLS, credentials).
  readonly #cliArgs: string[];
  readonly #sentinelConf: string | undefined;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #log = "";

  /**
   * @param port Its port (its TLS port when `tls`).
   * @param dir Its working directory.
   * @param args More redis-server arguments.
   * @param options `tls`: `port` speaks TLS only (`args` give the files);
   *   `cliArgs`: what redis-cli needs to reach it (TLS, credentials);
   *   `sentinelConf`: a sentinel with this configuration file.
   */
  constructor(
    port: number,
    dir: string,
    args: string[],
    options: { tls?: boolean; cliArgs?: string[]; sentinelConf?: string } = {},
  ) {
    this.port = port;
    this.dir = dir;
    this.#args = args;
    this.#tls = options.tls ?? false;
    this.#cliArgs = options.cliArgs ?? [];
    this.#sentinelConf = options.sentinelConf;
  }

  /** `redis://127.0.0.1:<port>` (`rediss://` for TLS). */
  get url(): string {
    return `redis${this.#tls ? "s" : ""}://127.0.0.1:${this.port}`;
  }

  /** The process id (while running). */
  get pid(): number {
    return this.#child?.pid ?? -1;
  }

  /** Whether the process runs. */
  get running(): boolean {
    return this.#child !== null;
  }

  /** Starts (or restarts) it and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.#child !== null) return;
    const where = [
      ...(this.#tls
        ? ["--port", "0", "--tls-port", String(this.port)]
        : ["--port", String(this.port)]),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
    ];
    const argv = this.#sentinelConf !== undefined
      ? [this.#sentinelConf, "--sentinel", ...where, ...this.#args]
      : [...where, "--save", "", "--appendonly", "no", ...this.#args];
    const child = spawn(REDIS, argv, { stdio: ["ignore", "pipe", "pipe"] });
    this.#child = child;
    child.stdout!.on("data", (d) => this.#log = (this.#log + d).slice(-4000));
    child.stderr!.on("data", (d) => this.#log = (this.#log + d).slice(-4000));
    this.#exited = new Promise((resolve) =>
      child.on("exit", () => {
        if (this.#child === child) this.#child = null;
        resolve();
      })
    );
    const failed = new Promise<never>((_, reject) =>
      child.on("error", (e) =>
        reject(
          new Error(
            `cannot start ${REDIS} (${e.message}): install it with apt-get install -y redis-server`,
          ),
        ))
    );
    await Promise.race([
      failed,
      waitFor(
        async () => {
          if (this.#child !== child) {
            throw new Error(`${REDIS} exited: ${this.#log.trim()}`);
          }
          return (await this.cli("PING")) === "PONG";
        },
        10_000,
        `redis-server on port ${this.port} (${this.#log.trim()})`,
      ),
    ]);
  }

  /** Runs a command on it through redis-cli. */
  cli(...args: string[]): Promise<string> {
    return redisCli(["-p", String(this.port), ...this.#cliArgs, ...args]);
  }

  /** Runs a command whose last argument is binary (redis-cli -x). */
  cliBinary(last: Uint8Array, ...args: string[]): Promise<string> {
    return redisCli(
      ["-p", String(this.port), ...this.#cliArgs, "-x", ...args],
      10_000,
      last,
    );
  }

  /** Sends a signal (SIGKILL: dies at once; SIGSTOP: hangs; SIGCONT). */
  signal(sig: "SIGKILL" | "SIGSTOP" | "SIGCONT" | "SIGTERM"): void {
    // process.kill, not child.kill: Deno's ChildProcess sends one signal only.
    if (this.#child !== null) process.kill(this.#child.pid!, sig);
  }

  /** Stops it (SIGKILL) and waits for the exit. */
  async kill(): Promise<void> {
    if (this.#child === null) return;
    this.signal("SIGKILL");
    await this.#exited;
  }

  /** Stops it cleanly (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    if (this.#child === null) return;
    this.signal("SIGCONT");
    this.signal("SIGTERM");
    const t = setTimeout(() => this.signal("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(t);
  }
}

/** A standalone Redis in its own directory. */
export class StandaloneRedis {
  readonly server: RedisProcess;
  readonly #dir: string;

  private constructor(server: RedisProcess, dir: string) {
    this.server = server;
    this.#dir = dir;
  }

  /**
   * Starts one on a free port (or `port`), with extra redis-server
   * arguments; `tls` makes the port TLS-only (`args` then name the
   * certificate files) and `cliArgs` is what redis-cli needs to reach it.
   */
  static async start(
    args: string[] = [],
    port?: number,
    options: { tls?: boolean; cliArgs?: string[] } = {},
  ): Promise<StandaloneRedis> {
    const dir = makeTempDir("dc-redis-");
    const server = new RedisProcess(
      port ?? await freePort(),
      dir,
      args,
      options,
    );
    try {
      await server.start();
    } catch (err) {
      removeDir(dir);
      throw err;
    }
    return new StandaloneRedis(server, dir);
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return this.server.url;
  }

  /** Stops it and removes its directory. */
  async stop(): Promise<void> {
    await this.server.stop();
    removeDir(this.#dir);
  }
}

/** A Cluster of 3 masters (and 3 replicas, unless asked for none) on loopback. */
export class RedisCluster {
  readonly nodes: RedisProcess[];
  readonly #dir: string;

  private constructor(nodes: RedisProcess[], dir: string) {
    this.nodes = nodes;
    this.#dir = dir;
  }

  /**
   * Starts 6 nodes (3 without replicas), joins them with `redis-cli
   * --cluster create --cluster-replicas 1` (0), and waits until every node
   * sees the cluster ok and every replica is in sync.
   */
  static async start(
    nodeTimeoutMs = 1000,
    replicas: 0 | 1 = 1,
  ): Promise<RedisCluster> {
    const dir = makeTempDir("dc-redis-cluster-");
    const nodes: RedisProcess[] = [];
    const cluster = new RedisCluster(nodes, dir);
    try {
      for (let i = 0; i < 3 * (1 + replicas); i++) {
        const port = await freePort();
        const nodeDir = path.join(dir, String(port));
        fs.mkdirSync(nodeDir);
        nodes.push(
          new RedisProcess(port, nodeDir, [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            String(nodeTimeoutMs),
            // A replica may take over however long it lost its master.
            "--cluster-replica-validity-factor",
            "0",
          ]),
        );
      }
      await Promise.all(nodes.map((n) => n.start()));
      await redisCli([
        "--cluster",
        "create",
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ], 30_000);
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `redis+cluster://` with every node as a seed. */
  get url(): string {
    return `redis+cluster://${
      this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",")
    }`;
  }

  /** The running nodes that are masters now. */
  async masters(): Promise<RedisProcess[]> {
    const out: RedisProcess[] = [];
    for (const n of this.nodes) {
      if (!n.running) continue;
      const role = await n.cli("ROLE").catch(() => "");
      if (role.startsWith("master")) out.push(n);
    }
    return out;
  }

  /** Each master's port and the slot ranges it serves. */
  async slotMap(): Promise<{ port: number; slots: [number, number][] }[]> {
    const out = [];
    for (const n of await this.masters()) {
      const nodes = await n.cli("CLUSTER", "NODES");
      const mine = nodes.split("\n").find((l) => l.includes("myself"))!;
      const slots = mine.split(" ").slice(8).filter((r) => !r.startsWith("["))
        .map((r): [number, number] => {
          const [a, b] = r.split("-").map(Number);
          return [a, b ?? a];
        });
      out.push({ port: n.port, slots });
    }
    return out;
  }

  /** The master serving `key` now (CLUSTER KEYSLOT, then the slot map). */
  async masterOf(key: string): Promise<RedisProcess> {
    const any = this.nodes.find((n) => n.running)!;
    const slot = Number(await any.cli("CLUSTER", "KEYSLOT", key));
    const map = await this.slotMap();
    const port = map.find((m) =>
      m.slots.some(([a, b]) => slot >= a && slot <= b)
    )
      ?.port;
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no master serves slot ${slot}`);
    return node;
  }

  /** Waits until every running node sees the cluster ok and replicas are in sync. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        let masters = 0;
        for (const n of this.nodes) {
          if (!n.running) continue;
          const info = await n.cli("CLUSTER", "INFO");
          if (!info.includes("cluster_state:ok")) return false;
          const repl = await n.cli("INFO", "replication");
          if (repl.includes("role:master")) masters++;
          else if (!repl.includes("master_link_status:up")) return false;
        }
        return masters === 3;
      },
      timeoutMs,
      "a healthy cluster",
    );
  }

  /**
   * Waits until every replica has every write its master has taken so
   * far (replication offsets).
   */
  async waitReplicated(timeoutMs = 10_000): Promise<void> {
    const masters = await this.masters();
    const wanted = await Promise.all(masters.map(async (m) => {
      const info = await m.cli("INFO", "replication");
      return Number(/master_repl_offset:(\d+)/.exec(info)![1]);
    }));
    await waitFor(
      async () => {
        for (const [i, m] of masters.entries()) {
          const info = await m.cli("INFO", "replication");
          const replica = /slave0:.*offset=(\d+)/.exec(info);
          if (replica === null || Number(replica[1]) < wanted[i]) return false;
        }
        return true;
      },
      timeoutMs,
      "the replicas to catch up",
    );
  }

  /** Stops every node and removes the directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    removeDir(this.#dir);
  }
}
