/**
 * `distcache client`: the local proxy (the C `dc_client`), on the
 * `DcProxy` engine of dc_client.
 *
 * @module
 */

import {
  DC_LINK_DEFAULT_PIPELINE,
  DC_LINK_DEFAULT_RETRY_MS,
  DC_LINK_DEFAULT_TIMEOUT_MS,
  DC_PROXY_DEFAULT_ADDRESS,
  DcServerLink,
  startProxy,
} from "@distcache/distcache/dc_client";
import { type FlagSpec, parseFlags, usage, UsageError } from "./flags.ts";
import {
  MONITOR_FLAGS,
  openServiceLog,
  serviceRegistry,
  superviseWithStats,
} from "./monitor.ts";
import { daemonize, isDaemonChild, prepareService } from "./ops.ts";
import {
  CLIENT_STORE_FLAGS,
  runStoreClient,
  wantsStore,
} from "./client_store.ts";
import { registerProxyMetrics } from "./proxy_metrics.ts";
import {
  DAEMON_FLAGS,
  MAXCONNS_FLAG,
  MIN_TIMEOUT_FLAG,
  protocolErrorLog,
  refusedLog,
} from "./server.ts";
import {
  allowOf,
  connectTlsFlags,
  connectTlsOf,
  deniedLog,
  LISTEN_TLS_FLAGS,
  listenTlsOf,
  tlsNote,
} from "./tls_flags.ts";

/** Flags of `distcache client`. */
export const CLIENT_FLAGS: FlagSpec[] = [
  {
    name: "listen",
    kind: "string",
    arg: "<addr>",
    help: `local address to listen on (default ${DC_PROXY_DEFAULT_ADDRESS})`,
  },
  ...LISTEN_TLS_FLAGS,
  {
    name: "server",
    kind: "string",
    arg: "<addr>",
    aliases: ["connect"],
    help: "address of the cache server (required unless -store)",
  },
  ...connectTlsFlags("server-", "the server"),
  {
    name: "retry",
    kind: "int",
    arg: "<msecs>",
    min: 1,
    help:
      `longest delay between reconnects after losing the server; the first comes after 100 ms, each next one twice as late (default ${DC_LINK_DEFAULT_RETRY_MS})`,
  },
  {
    name: "timeout",
    kind: "int",
    arg: "<msecs>",
    min: 1,
    help:
      `a request unanswered this long breaks the link: it is answered 2 with all in flight, and the link made again (default ${DC_LINK_DEFAULT_TIMEOUT_MS})`,
  },
  {
    name: "pipeline",
    kind: "int",
    arg: "<num>",
    min: 1,
    help:
      `most requests in flight to the server, together at most 4 KB unless one is larger (default ${DC_LINK_DEFAULT_PIPELINE}; 1 for a C dc_server holding sessions over 4 KB)`,
  },
  {
    name: "idle",
    kind: "int",
    arg: "<msecs>",
    min: 0,
    help: "drop local clients idle this long (default 0 = never)",
  },
  MIN_TIMEOUT_FLAG,
  MAXCONNS_FLAG,
  ...MONITOR_FLAGS,
  ...DAEMON_FLAGS,
  ...CLIENT_STORE_FLAGS,
];

const SUMMARY =
  "Runs the local proxy: applications connect here, and their requests go\n" +
  "to the cache server over one persistent connection. With -store, it keeps\n" +
  "the sessions in Redis itself, checked as the server checks them: no cache\n" +
  "server at all.";

/**
 * Runs `distcache client`; resolves with the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runClient } from "./client.ts";
 *
 * // Runs until SIGINT or SIGTERM:
 * //   await runClient(["-listen", "UNIX:/tmp/scache", "-server", "IP:cachehost:9001"]);
 * assert.equal(await runClient(["-h"]), 0); // prints the flags
 * ```
 */
export async function runClient(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, CLIENT_FLAGS);
  if (flags.help) {
    console.log(usage("client", SUMMARY, CLIENT_FLAGS));
    return 0;
  }
  if (wantsStore(flags)) {
    return await runStoreClient(flags, args, DC_PROXY_DEFAULT_ADDRESS);
  }
  if (flags.server === undefined) {
    throw new UsageError("flag -server (or -connect) or -store is required");
  }
  if (flags.daemon && !isDaemonChild()) {
    return await daemonize(["client", ...args], {
      keepStderr: flags.syslog === true,
    });
  }
  const log = openServiceLog(flags);
  try {
    const listen = (flags.listen as string | undefined) ??
      DC_PROXY_DEFAULT_ADDRESS;
    const warn = (text: string) => log.warn(`distcache client: ${text}`);
    const tls = listenTlsOf(flags, warn);
    const allow = allowOf(flags);
    const serverTls = connectTlsOf(flags, "server-", warn);
    const plan = prepareService(flags, listen);
    const server = flags.server as string;
    const link = new DcServerLink(server, {
      retryMs: flags.retry as number | undefined,
      timeoutMs: flags.timeout as number | undefined,
      pipeline: flags.pipeline as number | undefined,
      tls: serverTls,
    });
    // The address as listened on, once known (port 0 asked: the real port).
    let listening = listen;
    link.addEventListener("lost", (e) => {
      log.warn(`lost the server ${server}: ${e.reason.message}`);
    });
    link.addEventListener(
      "back",
      () => log.info(`connected to the server ${server}`),
    );
    const dropped = protocolErrorLog(log);
    const proxy = await startProxy({
      listen,
      upstream: link,
      idleMs: flags.idle as number | undefined,
      minTimeoutMs: flags["min-timeout"] as number | undefined,
      onClientError: (err) => dropped.note({ err, listener: listen, peer: "" }),
      onAcceptError: (err) => log.error(err.message),
      socketMode: plan.socket.mode,
      socketOwner: plan.socket.owner,
      maxConnections: flags.maxconns as number | undefined,
      onRefused: refusedLog(log),
      tls,
      allow,
      onDenied: deniedLog(() => listening, (text) => log.warn(text)),
    });
    listening = proxy.addr;
    const registry = serviceRegistry(
      "proxy",
      (r) => registerProxyMetrics(r, proxy),
    );
    return await superviseWithStats(proxy, flags, registry, {
      plan,
      log,
      name: "distcache client",
      banner: (statsNote) =>
        `distcache client listening on ${proxy.addr}${
          tlsNote(tls !== undefined, flags["tls-ca"] !== undefined, allow)
        }, server ${server}${
          serverTls === undefined ? "" : " over TLS"
        }${statsNote}`,
    });
  } finally {
    log.close();
  }
}
