/**
 * `distcache server`: the cache server (the C `dc_server`).
 *
 * @module
 */

import {
  DEFAULT_SERVER_ADDRESS,
  DEFAULT_SESSIONS,
  MIN_MAX_BYTES,
  registerServerMetrics,
  serve,
} from "@distcache/distcache/dc_server";
import {
  defaultMaxConnections,
  type DistcacheError,
  NalThrottle,
} from "@distcache/distcache/nal";
import {
  type FlagSpec,
  type FlagValues,
  parseFlags,
  usage,
  UsageError,
} from "./flags.ts";
import type { Log } from "./log.ts";
import { SNAPSHOT_FLAGS, snapshotOptions } from "./snapshot.ts";
import {
  MONITOR_FLAGS,
  openServiceLog,
  serviceRegistry,
  superviseWithStats,
} from "./monitor.ts";
import { daemonize, isDaemonChild, prepareService } from "./ops.ts";
import { StatsLine } from "./stats_line.ts";
import {
  allowOf,
  deniedLog,
  LISTEN_TLS_FLAGS,
  listenTlsOf,
  tlsNote,
} from "./tls_flags.ts";
import { openStore, STORE_FLAGS } from "./store.ts";

/** Flags shared by the long-running tools (`server`, `client`). */
export const DAEMON_FLAGS: FlagSpec[] = [
  {
    name: "daemon",
    kind: "bool",
    help: "detach into the background once listening",
  },
  {
    name: "pidfile",
    kind: "string",
    arg: "<path>",
    help: "write the process id to this file",
  },
  {
    name: "user",
    kind: "string",
    arg: "<user>",
    help: "switch to this user after listening",
  },
  {
    name: "sockowner",
    kind: "string",
    arg: "<user>",
    help: "owner of the UNIX socket file",
  },
  {
    name: "sockgroup",
    kind: "string",
    arg: "<group>",
    help: "group of the UNIX socket file",
  },
  {
    name: "sockperms",
    kind: "octal",
    arg: "<octal>",
    max: 0o777,
    help:
      "mode of the UNIX socket file, e.g. 660 (set before it accepts anyone)",
  },
];

/** `-min-timeout`, of the server and of the proxy. */
export const MIN_TIMEOUT_FLAG: FlagSpec = {
  name: "min-timeout",
  kind: "int",
  arg: "<msecs>",
  min: 0,
  max: 604_800_000,
  help:
    "raise every ADD's lifetime to at least this (default 0; 300000 for Apache)",
};

// The store's limits: -maxbytes (memcached's -m) and -min-timeout (the
// lifetime floor Apache's mod_socache_dc needs).
const LIMIT_FLAGS: FlagSpec[] = [
  {
    name: "maxbytes",
    kind: "string",
    arg: "<bytes>",
    help:
      `most bytes of ids and data stored, e.g. 64m (k/m/g; at least ${MIN_MAX_BYTES}; default: no bound)`,
  },
  MIN_TIMEOUT_FLAG,
];

/**
 * The byte count of a `-maxbytes` value: digits, optionally followed by
 * k, m or g (powers of 1024).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseByteCount } from "./server.ts";
 *
 * assert.equal(parseByteCount("64m"), 64 * 1024 * 1024);
 * ```
 *
 * @throws {UsageError} for anything else, or less than one session's room.
 */
export function parseByteCount(value: string): number {
  const m = /^([0-9]+)([kKmMgG]?)$/.exec(value);
  if (m === null) {
    throw new UsageError(
      `flag -maxbytes: "${value}" is not a byte count (e.g. 1048576, 512k, 64m, 2g)`,
    );
  }
  const unit = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[
    m[2].toLowerCase() as "" | "k" | "m" | "g"
  ];
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes < MIN_MAX_BYTES) {
    throw new UsageError(
      `flag -maxbytes: ${value} is below the minimum ${MIN_MAX_BYTES} (room for one session of a 64-byte id and 32768 bytes of data)`,
    );
  }
  return bytes;
}

/** `-maxconns`, of the server and of the proxy. */
export const MAXCONNS_FLAG: FlagSpec = {
  name: "maxconns",
  kind: "int",
  arg: "<num>",
  min: 1,
  help:
    `most clients connected at once; over it a new connection is closed at once (default: the open-files limit less a margin, ${
      Number.isFinite(defaultMaxConnections())
        ? defaultMaxConnections()
        : "no bound"
    } here)`,
};

/**
 * The line a tool prints, at most once a second, for connections refused
 * over `-maxconns` (nothing under `-daemon`).
 */
export function refusedLog(
  log: Log,
): (count: number, max: number) => void {
  return (count, max) => {
    log.warn(
      `refused ${count} connection${
        count === 1 ? "" : "s"
      } over -maxconns ${max}`,
    );
  };
}

// The connection limits an operator expects (memcached's -c and
// idle_timeout, Redis's maxclients and timeout).
const CONNECTION_FLAGS: FlagSpec[] = [
  MAXCONNS_FLAG,
  {
    name: "idle-timeout",
    kind: "int",
    arg: "<msecs>",
    min: 0,
    help:
      "drop a client that completes no request for this long: one that sends nothing, or trickles a partial frame (default 0: never)",
  },
];

/** Flags of `distcache server`. */
export const SERVER_FLAGS: FlagSpec[] = [
  {
    name: "listen",
    kind: "string",
    arg: "<addr>",
    help: `address to listen on (default ${DEFAULT_SERVER_ADDRESS})`,
  },
  ...LISTEN_TLS_FLAGS,
  {
    name: "sessions",
    kind: "int",
    arg: "<num>",
    min: 64,
    max: 100_000_000,
    help: `most sessions stored (default ${DEFAULT_SESSIONS}; 64..100000000)`,
  },
  ...LIMIT_FLAGS,
  ...CONNECTION_FLAGS,
  ...STORE_FLAGS,
  ...SNAPSHOT_FLAGS,
  {
    name: "progress",
    kind: "int",
    arg: "<num>",
    min: 1,
    help:
      "print a stats line every <num> operations (at most once an interval)",
  },
  {
    name: "stats-interval",
    kind: "int",
    arg: "<secs>",
    min: 1,
    max: 86400,
    help: "seconds between stats lines (default 1)",
  },
  {
    name: "quiet",
    kind: "bool",
    help: "print no stats line",
  },
  ...MONITOR_FLAGS,
  ...DAEMON_FLAGS,
  {
    name: "killable",
    kind: "bool",
    help:
      "exit cleanly on SIGUSR2 and, except under Deno, SIGUSR1 (ignored otherwise)",
  },
];

/**
 * Where a tool logs clients dropped for breaking the protocol: one line a
 * second at most, however many there are (the server, the proxy, `client
 * -store`; nothing under `-daemon`).
 */
export function protocolErrorLog(
  log: Log,
): NalThrottle<{ err: DistcacheError; listener: string; peer: string }> {
  return new NalThrottle((count, last) => {
    const from = last.peer === "" ? "" : ` from ${last.peer}`;
    log.warn(
      count === 1
        ? `dropped a client of ${last.listener}${from}: ${last.err.message}`
        : `dropped ${count} more clients of ${last.listener} for protocol errors (the last${from}: ${last.err.message})`,
    );
  });
}

const SUMMARY =
  "Runs a distcache cache server. Without -progress it prints a stats line\n" +
  "at most once a second (-stats-interval) while there is activity; -quiet\n" +
  "turns it off. A -daemon prints nothing unless given -log or -syslog.";

/**
 * Runs `distcache server` with its arguments; resolves with the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runServer } from "./server.ts";
 *
 * // Runs until SIGINT or SIGTERM:
 * //   await runServer(["-listen", "IP:127.0.0.1:9001", "-sessions", "100000"]);
 * assert.equal(await runServer(["-h"]), 0); // prints the flags
 * ```
 */
export async function runServer(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, SERVER_FLAGS);
  if (flags.help) {
    console.log(usage("server", SUMMARY, SERVER_FLAGS));
    return 0;
  }
  if (flags.daemon && !isDaemonChild()) {
    return await daemonize(["server", ...args], {
      keepStderr: flags.syslog === true,
    });
  }
  const log = openServiceLog(flags);
  try {
    return await runServing(flags, log);
  } finally {
    log.close();
  }
}

async function runServing(flags: FlagValues, log: Log): Promise<number> {
  const sessions = (flags.sessions as number | undefined) ?? DEFAULT_SESSIONS;
  const maxBytes = flags.maxbytes === undefined
    ? undefined
    : parseByteCount(flags.maxbytes as string);
  if (flags.store !== undefined && flags.snapshot !== undefined) {
    throw new UsageError(
      "flag -snapshot keeps the in-process store's sessions; with -store they live in Redis, which keeps them itself",
    );
  }
  for (const name of ["sessions", "maxbytes"]) {
    if (flags.store !== undefined && flags[name] !== undefined) {
      throw new UsageError(
        `flag -${name} bounds the in-process store; with -store, Redis's maxmemory does`,
      );
    }
  }
  const listen = (flags.listen as string | undefined) ??
    DEFAULT_SERVER_ADDRESS;
  const say = (text: string) => log.warn(text);
  const tls = listenTlsOf(flags, (text) => say(`distcache server: ${text}`));
  const allow = allowOf(flags);
  // The address as listened on, once known (port 0 asked: the real port).
  let listening = listen;
  const plan = prepareService(flags, listen);
  const store = await openStore(
    flags,
    (text) => log.warn(`distcache server: ${text}`),
  );
  const dropped = protocolErrorLog(log);
  const server = await serve({
    cache: store?.cache,
    listen,
    sessions,
    maxBytes,
    minTimeoutMs: flags["min-timeout"] as number | undefined,
    onClientError: (err, where) => dropped.note({ err, ...where }),
    onAcceptError: (err) => log.error(err.message),
    socketMode: plan.socket.mode,
    socketOwner: plan.socket.owner,
    tls,
    allow,
    onDenied: deniedLog(() => listening, say),
    maxConnections: flags.maxconns as number | undefined,
    onRefused: refusedLog(log),
    idleTimeoutMs: flags["idle-timeout"] as number | undefined,
    snapshot: await snapshotOptions(flags, log),
  });
  const registry = serviceRegistry(
    "server",
    (r) =>
      registerServerMetrics(
        r,
        server,
        store === null ? { sessions, maxBytes } : {},
      ),
  );
  listening = server.addr;
  const line = new StatsLine((flags.progress as number | undefined) ?? 0);
  return await superviseWithStats(server, flags, registry, {
    log,
    plan,
    name: "distcache server",
    banner: (statsNote) =>
      `distcache server listening on ${server.addr}${
        tlsNote(tls !== undefined, flags["tls-ca"] !== undefined, allow)
      } (${
        store !== null ? `store: ${store.address}` : `sessions: ${sessions}`
      }${maxBytes === undefined ? "" : `, maxbytes: ${maxBytes}`}${
        flags["min-timeout"] ? `, min-timeout: ${flags["min-timeout"]} ms` : ""
      }${statsNote})`,
    killable: flags.killable === true,
    tickMs: ((flags["stats-interval"] as number | undefined) ?? 1) * 1000,
    tick: flags.quiet ? undefined : () => {
      const s = server.stats();
      const text = line.next(s.operations, s.items);
      if (text !== null) log.info(text);
    },
  });
}
