/**
 * `distcache client -store <url>`: the local proxy straight on Redis. There
 * is no server link: the proxy's local listener is served by the server
 * engine (`serve()`) on a Redis store, so a fleet of web hosts needs no
 * central distcache server, while its applications still speak distcache
 * over the local socket, unchanged. Every request is checked as the server
 * checks it (ids, data, lifetimes, the same error codes).
 *
 * @module
 */

import { registerServerMetrics, serve } from "@distcache/distcache/dc_server";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import { daemonize, isDaemonChild, prepareService } from "./ops.ts";
import {
  openServiceLog,
  serviceRegistry,
  superviseWithStats,
} from "./monitor.ts";
import { protocolErrorLog, refusedLog } from "./server.ts";
import { openStore, STORE_FLAGS } from "./store.ts";
import { allowOf, deniedLog, listenTlsOf, tlsNote } from "./tls_flags.ts";

/** Flags of `distcache client` in store mode (also listed by its `--help`). */
export const CLIENT_STORE_FLAGS: FlagSpec[] = STORE_FLAGS;

/**
 * Whether the proxy runs in store mode (`-store` given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { wantsStore } from "./client_store.ts";
 *
 * assert.equal(wantsStore({ store: "redis://10.0.0.9:6379" }), true);
 * assert.equal(wantsStore({ server: "IP:10.0.0.5:9001" }), false);
 * assert.throws(() => wantsStore({ "store-prefix": "a:" }), /needs -store/);
 * ```
 *
 * @throws {UsageError} for a store flag without `-store`.
 */
export function wantsStore(flags: FlagValues): boolean {
  if (flags.store !== undefined) return true;
  const stray = STORE_FLAGS.find((f) => flags[f.name] !== undefined);
  if (stray !== undefined) {
    throw new UsageError(`flag -${stray.name} needs -store <url>`);
  }
  return false;
}

// Flags of the link to a cache server, meaningless without one: refused,
// so that an operator does not believe they act on Redis.
const LINK_ONLY: Record<string, string> = {
  server: "names the cache server the proxy links to",
  retry: "paces reconnecting to a -server",
  timeout: "bounds a request at the -server",
  pipeline: "bounds the requests in flight to a -server",
  "server-tls-ca": "is for TLS to a -server",
  "server-tls-cert": "is for TLS to a -server",
  "server-tls-key": "is for TLS to a -server",
  "server-tls-name": "is for TLS to a -server",
};

/**
 * Runs `distcache client -store <url>` (the flags already parsed); resolves
 * with the exit code.
 *
 * @param flags The parsed flags of `distcache client`, with `-store`.
 * @param args The command line, for `-daemon` to start again.
 * @param defaultListen Where to listen without `-listen`.
 * @throws {UsageError} for `-server`, `-retry`, `-timeout` or `-pipeline`
 *   with `-store`, or a bad store flag.
 */
export async function runStoreClient(
  flags: FlagValues,
  args: readonly string[],
  defaultListen: string,
): Promise<number> {
  for (const [name, what] of Object.entries(LINK_ONLY)) {
    if (flags[name] !== undefined) {
      throw new UsageError(
        name === "server"
          ? "flags -server and -store exclude each other: the proxy links to a cache server, or keeps its sessions in Redis itself"
          : name.startsWith("server-tls-")
          ? `flag -${name} ${what}; with -store, Redis's TLS is in the -store URL (rediss://)`
          : `flag -${name} ${what}; with -store, -store-timeout bounds each Redis command`,
      );
    }
  }
  if (flags.daemon && !isDaemonChild()) {
    return await daemonize(["client", ...args], {
      keepStderr: flags.syslog === true,
    });
  }
  const log = openServiceLog(flags);
  try {
    const listen = (flags.listen as string | undefined) ?? defaultListen;
    const say = (text: string) => log.warn(text);
    const tls = listenTlsOf(flags, (text) => say(`distcache client: ${text}`));
    const allow = allowOf(flags);
    // The address as listened on, once known (port 0 asked: the real port).
    let listening = listen;
    const plan = prepareService(flags, listen);
    // A failed serve() closes the store it was given.
    const store = (await openStore(
      flags,
      (text) => log.warn(`distcache client: ${text}`),
    ))!;
    const dropped = protocolErrorLog(log);
    const minTimeoutMs = flags["min-timeout"] as number | undefined;
    const proxy = await serve({
      cache: store.cache,
      listen,
      minTimeoutMs,
      idleTimeoutMs: flags.idle as number | undefined,
      socketMode: plan.socket.mode,
      socketOwner: plan.socket.owner,
      maxConnections: flags.maxconns as number | undefined,
      onRefused: refusedLog(log),
      tls,
      allow,
      onDenied: deniedLog(() => listening, say),
      onClientError: (err, where) => dropped.note({ err, ...where }),
      onAcceptError: (err) => log.error(err.message),
    });
    listening = proxy.addr;
    // The figures of the server engine it runs: operations by result,
    // connections, store errors.
    const registry = serviceRegistry(
      "proxy",
      (r) => registerServerMetrics(r, proxy),
    );
    return await superviseWithStats(proxy, flags, registry, {
      plan,
      log,
      name: "distcache client",
      banner: (statsNote) =>
        `distcache client listening on ${proxy.addr}${
          tlsNote(tls !== undefined, flags["tls-ca"] !== undefined, allow)
        } (store: ${store.address}${
          minTimeoutMs ? `, min-timeout: ${minTimeoutMs} ms` : ""
        }${statsNote})`,
    });
  } finally {
    log.close();
  }
}
