/**
 * `distcache client`: the local proxy (the C `dc_client`).
 *
 * @module
 */

import { type FlagSpec, parseFlags, usage, UsageError } from "./flags.ts";
import {
  daemonize,
  isDaemonChild,
  prepareService,
  superviseService,
} from "./ops.ts";
import { DEFAULT_PROXY_ADDRESS, startProxy } from "./proxy.ts";
import { DAEMON_FLAGS } from "./server.ts";

/** Flags of `distcache client`. */
export const CLIENT_FLAGS: FlagSpec[] = [
  {
    name: "listen",
    kind: "string",
    arg: "<addr>",
    help: `local address to listen on (default ${DEFAULT_PROXY_ADDRESS})`,
  },
  {
    name: "server",
    kind: "string",
    arg: "<addr>",
    aliases: ["connect"],
    help: "address of the cache server (required)",
  },
  {
    name: "retry",
    kind: "int",
    arg: "<msecs>",
    min: 1,
    help: "reconnect period after losing the server (default 5000)",
  },
  {
    name: "idle",
    kind: "int",
    arg: "<msecs>",
    min: 0,
    help: "drop local clients idle this long (default 0 = never)",
  },
  ...DAEMON_FLAGS,
];

const SUMMARY =
  "Runs the local proxy: applications connect here, and their requests go\n" +
  "to the cache server over one persistent connection.";

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
  if (flags.server === undefined) {
    throw new UsageError("flag -server (or -connect) is required");
  }
  if (flags.daemon && !isDaemonChild()) {
    return await daemonize(["client", ...args]);
  }
  const quiet = flags.daemon === true;
  const plan = prepareService(flags);
  const proxy = await startProxy({
    listen: (flags.listen as string | undefined) ?? DEFAULT_PROXY_ADDRESS,
    server: flags.server as string,
    retryMs: (flags.retry as number | undefined) ?? 5000,
    idleMs: (flags.idle as number | undefined) ?? 0,
    log: quiet ? undefined : (msg) => console.error(msg),
  });
  return await superviseService(proxy, {
    flags,
    plan,
    name: "distcache client",
    banner:
      `distcache client listening on ${proxy.addr}, server ${flags.server}`,
  });
}
