// The Redis client library (ioredis), imported on first use, and how the
// store sets it up: what a session cache wants of a client differs from
// the library's defaults, which queue and resend commands while Redis is
// away.

import { Buffer } from "node:buffer";
import type {
  Cluster,
  ClusterOptions,
  Command,
  Redis,
  RedisOptions,
} from "ioredis";
import type { RedisTarget } from "./url.ts";

/** A client of one server (standalone, found by Sentinel) or of a Cluster. */
export type Client = Redis | Cluster;

/** What the store's options and URL say of the client. */
export interface ClientSettings {
  username: string | undefined;
  password: string | undefined;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** TLS (with these files), or none. */
  tls:
    | {
      ca?: string | Uint8Array;
      cert?: string | Uint8Array;
      key?: string | Uint8Array;
      servername?: string;
    }
    | undefined;
}

// Reconnect delays: 50 ms, doubling, at most 1 s.
const RETRY_MAX_MS = 1000;

function backoff(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 10), RETRY_MAX_MS);
}

/** A client, and the library's command class. */
export interface Made {
  client: Client;
  Command: typeof Command;
}

/** Imports the library and makes a client of `target`, connecting. */
export async function makeClient(
  target: RedisTarget,
  s: ClientSettings,
): Promise<Made> {
  const lib = await import("ioredis");
  const pem = (x: string | Uint8Array | undefined) =>
    x === undefined ? undefined : typeof x === "string" ? x : Buffer.from(x);
  const tls = s.tls === undefined ? undefined : {
    ca: pem(s.tls.ca),
    cert: pem(s.tls.cert),
    key: pem(s.tls.key),
    servername: s.tls.servername,
  };
  const common: RedisOptions = {
    username: s.username,
    password: s.password,
    connectTimeout: s.connectTimeoutMs,
    commandTimeout: s.commandTimeoutMs,
    // Fail at once while disconnected, and fail what was in flight when
    // the link dropped: a session cache answers "no" rather than wait.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // The store batches commands itself, without the library's hop to the
    // next turn of the event loop.
    enableAutoPipelining: false,
    retryStrategy: backoff,
    connectionName: "distcache",
    tls,
  };
  if (target.kind === "cluster") {
    const options: ClusterOptions = {
      redisOptions: common,
      enableOfflineQueue: false,
      // Here the library groups each turn's commands by node.
      enableAutoPipelining: true,
      clusterRetryStrategy: backoff,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      retryDelayOnTryAgain: 100,
      slotsRefreshTimeout: s.connectTimeoutMs,
    };
    return {
      client: new lib.Cluster(target.nodes, options),
      Command: lib.Command,
    };
  }
  if (target.kind === "sentinel") {
    const client = new lib.Redis({
      ...common,
      sentinels: target.nodes,
      name: target.masterName,
      db: target.db,
      sentinelUsername: s.username,
      sentinelPassword: s.password,
      enableTLSForSentinelMode: tls !== undefined,
      sentinelTLS: tls,
      sentinelRetryStrategy: backoff,
    });
    return { client, Command: lib.Command };
  }
  const client = new lib.Redis({
    ...common,
    ...target.nodes[0],
    db: target.db,
  });
  return { client, Command: lib.Command };
}

/** Keys that start with `prefix`, counted with SCAN on every master. */
export async function countKeys(c: Client, prefix: Buffer): Promise<number> {
  const pattern = Buffer.concat([globEscape(prefix), Buffer.from("*")]);
  const nodes = "nodes" in c ? c.nodes("master") : [c];
  let total = 0;
  for (const node of nodes) {
    let cursor = "0";
    do {
      // callBuffer: scanBuffer() would take the pattern as a string, and a
      // binary prefix does not survive that.
      const [next, keys] = await node.callBuffer(
        "SCAN",
        cursor,
        "MATCH",
        pattern,
        "COUNT",
        1000,
      ) as [Buffer, Buffer[]];
      cursor = String(next);
      total += keys.length;
    } while (cursor !== "0");
  }
  return total;
}

// MATCH patterns are globs: the prefix's own *?[]\ must match themselves.
function globEscape(prefix: Buffer): Buffer {
  const out: number[] = [];
  for (const b of prefix) {
    if (b === 0x2a || b === 0x3f || b === 0x5b || b === 0x5d || b === 0x5c) {
      out.push(0x5c);
    }
    out.push(b);
  }
  return Buffer.from(out);
}
