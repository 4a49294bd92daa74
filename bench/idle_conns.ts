/**
 * What a server pays per idle connection: it is started on a UNIX socket,
 * many connections that never send anything are opened to it, and its
 * resident set before and after gives the bytes per connection.
 *
 * @module
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** What {@linkcode measureIdleConnections} found. */
export interface IdleConnectionsResult {
  /** Connections opened (and accepted by the server). */
  connections: number;
  /** The server's RSS before, in bytes. */
  rssBefore: number;
  /** Its RSS with every connection accepted, in bytes. */
  rssAfter: number;
  /** `(rssAfter - rssBefore) / connections`. */
  bytesPerConnection: number;
}

function procNumber(pid: number, file: string, re: RegExp): number {
  const m = re.exec(fs.readFileSync(`/proc/${pid}/${file}`, "utf8"));
  return m === null ? 0 : Number(m[1]);
}

function rssOf(pid: number): number {
  return procNumber(pid, "status", /VmRSS:\s+(\d+) kB/) * 1024;
}

function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

async function poll(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function accepts(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: sock });
    s.on("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

// The RSS once two readings 200 ms apart differ by under 1%.
async function settledRss(pid: number): Promise<number> {
  let last = rssOf(pid);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = rssOf(pid);
    if (Math.abs(now - last) < last / 100) return now;
    last = now;
  }
  return last;
}

/**
 * Starts the server `argv(listen)` (Linux: it reads /proc), waits until
 * it accepts connections on that UNIX socket, opens `connections` idle
 * connections to it, and measures its RSS growth.
 *
 * @param argv The server's command line, given the socket path to listen
 *   on.
 * @param connections How many idle connections.
 * @returns The figures.
 */
export async function measureIdleConnections(
  argv: (listen: string) => string[],
  connections: number,
): Promise<IdleConnectionsResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dc-idle-"));
  const sock = path.join(dir, "idle.sock");
  const cmd = argv(sock);
  const child = spawn(cmd[0], cmd.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => output += d);
  child.stderr!.on("data", (d) => output += d);
  const sockets: net.Socket[] = [];
  try {
    await poll(
      async () => child.exitCode !== null || await accepts(sock),
      "the server to listen",
      20_000,
    );
    if (child.exitCode !== null) throw new Error(`server failed: ${output}`);
    const pid = child.pid!;
    // (Settling also lets the server close the probe's connection.)
    const rssBefore = await settledRss(pid);
    const fdsBefore = openFds(pid);
    for (let i = 0; i < connections; i++) {
      const s = net.createConnection({ path: sock });
      s.on("error", (err) => {
        throw new Error(`idle connection ${i}: ${err.message}`);
      });
      sockets.push(s);
      // A bounded backlog: let the server accept as we go.
      if (i % 200 === 199) {
        await poll(
          () => openFds(pid) >= fdsBefore + i + 1 - 200,
          "the server to accept",
          20_000,
        );
      }
    }
    await poll(
      () => openFds(pid) >= fdsBefore + connections,
      `${connections} connections accepted`,
      30_000,
    );
    const rssAfter = await settledRss(pid);
    return {
      connections,
      rssBefore,
      rssAfter,
      bytesPerConnection: (rssAfter - rssBefore) / connections,
    };
  } finally {
    for (const s of sockets) s.destroy();
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 5000);
    if (child.exitCode === null) {
      await new Promise((resolve) => child.once("exit", resolve));
    }
    clearTimeout(t);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
