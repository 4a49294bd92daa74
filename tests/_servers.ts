// Test helpers for starting servers on loopback addresses and UNIX sockets
// in a temporary directory, over each socket adapter of the runtime.

import { after, before } from "node:test";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { availableAdapters, type RuntimeAdapter } from "../nal/mod.ts";
import {
  createDefaultCache,
  type DcCache,
  type DcCacheFactory,
  serve,
  type ServeOptions,
  type Server,
} from "../dc_server/mod.ts";

/** The transports every server-level test runs over. */
export const TRANSPORTS = ["UNIX", "TCP"] as const;
/** One of {@linkcode TRANSPORTS}. */
export type Transport = typeof TRANSPORTS[number];

/** Each (adapter, transport) pair the runtime offers. */
export function matrix(): {
  adapter: RuntimeAdapter;
  transport: Transport;
  label: string;
}[] {
  const out = [];
  for (const adapter of availableAdapters()) {
    for (const transport of TRANSPORTS) {
      out.push({ adapter, transport, label: `${adapter.name}/${transport}` });
    }
  }
  return out;
}

/** A fresh temporary directory (removed by {@linkcode removeDir}). */
export function makeTempDir(prefix = "distcache-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Removes a directory tree, ignoring errors. */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A listen address of the transport: a socket in `dir`, or a free loopback port. */
export function listenAddress(
  transport: Transport,
  dir: string,
  name = "sock",
): string {
  return transport === "UNIX"
    ? `UNIX:${path.join(dir, name)}`
    : "IP:127.0.0.1:0";
}

/** Polls `check` until it holds or the deadline passes (no blind sleeps). */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The value of `read` once it has not changed for `quietMs` (10 s at
 * most): what a count comes to once the work that moves it is done.
 */
export async function settled(
  read: () => number,
  quietMs = 250,
): Promise<number> {
  let last = read();
  let since = Date.now();
  const deadline = since + 10_000;
  while (Date.now() - since < quietMs && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const v = read();
    if (v !== last) {
      last = v;
      since = Date.now();
    }
  }
  return last;
}

/**
 * A server for the tests of one describe(): started before them on the
 * transport (in a fresh temporary directory), stopped after them. Read
 * `current()` inside the tests.
 */
export function serverForTests(
  transport: Transport,
  options: ServeOptions,
): { current(): Server } {
  let tmp = "";
  let server: Server | null = null;
  before(async () => {
    tmp = makeTempDir();
    server = await serve({ ...options, listen: listenAddress(transport, tmp) });
  });
  after(async () => {
    await server?.close();
    removeDir(tmp);
  });
  return {
    current: () => {
      if (server === null) throw new Error("the server is not started yet");
      return server;
    },
  };
}

/**
 * The default store, answering every call 2 ms later (as a Redis store
 * would): a server using it has requests in flight.
 */
export const laterStore: DcCacheFactory = (max, bounds) => {
  const inner = createDefaultCache(max, bounds);
  // The default store answers at once: its values are not promises.
  const later = <T>(value: T | Promise<T>): Promise<T> =>
    new Promise((resolve) => setTimeout(() => resolve(value), 2));
  const store: DcCache = {
    add: (now, t, id, data) => later(inner.add(now, t, id, data)),
    get: (now, id) =>
      later((inner.get(now, id) as Uint8Array | null)?.slice() ?? null),
    remove: (now, id) => later(inner.remove(now, id)),
    have: (now, id) => later(inner.have(now, id)),
    numItems: (now) => inner.numItems(now),
  };
  return store;
};

/**
 * Leaves a stale UNIX socket file at `path`: a process binds it and is
 * killed (SIGKILL), as a crashed server leaves it.
 */
export function staleSocket(path: string): void {
  spawnSync("node", [
    "-e",
    `require("net").createServer().listen(${
      JSON.stringify(path)
    }, () => process.kill(process.pid, "SIGKILL"))`,
  ]);
  if (!fs.lstatSync(path).isSocket()) {
    throw new Error(`no stale socket at ${path}`);
  }
}
