/**
 * `distcache server`: the cache server (the C `dc_server`).
 *
 * @module
 */

import {
  DEFAULT_SERVER_ADDRESS,
  DEFAULT_SESSIONS,
  serve,
} from "@distcache/distcache/dc_server";
import { type FlagSpec, parseFlags, usage } from "./flags.ts";
import { daemonize, isDaemonChild, superviseService } from "./ops.ts";
import { StatsLine } from "./stats_line.ts";

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
    help: "mode of the UNIX socket file, e.g. 660",
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
  {
    name: "sessions",
    kind: "int",
    arg: "<num>",
    min: 64,
    max: 100_000_000,
    help: `most sessions stored (default ${DEFAULT_SESSIONS}; 64..100000000)`,
  },
  {
    name: "progress",
    kind: "int",
    arg: "<num>",
    min: 1,
    help: "print a stats line every <num> operations (at most once a second)",
  },
  ...DAEMON_FLAGS,
  {
    name: "killable",
    kind: "bool",
    help: "exit cleanly on SIGUSR1/SIGUSR2 (ignored otherwise)",
  },
];

const SUMMARY =
  "Runs a distcache cache server. Without -progress it prints a stats line\n" +
  "at most once a second while there is activity.";

/**
 * Runs `distcache server` with its arguments; resolves with the exit code.
 *
 * @example
 * ```ts
 * import { runServer } from "./server.ts";
 *
 * const code = await runServer(["-listen", "IP:127.0.0.1:9001", "-sessions", "100000"]);
 * ```
 */
export async function runServer(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, SERVER_FLAGS);
  if (flags.help) {
    console.log(usage("server", SUMMARY, SERVER_FLAGS));
    return 0;
  }
  if (flags.daemon && !isDaemonChild()) {
    return await daemonize(["server", ...args]);
  }
  const quiet = flags.daemon === true;
  const server = await serve({
    listen: (flags.listen as string | undefined) ?? DEFAULT_SERVER_ADDRESS,
    sessions: (flags.sessions as number | undefined) ?? DEFAULT_SESSIONS,
    onClientError: (err) => {
      if (!quiet) console.error(`dropped a client: ${err.message}`);
    },
  });
  const line = new StatsLine((flags.progress as number | undefined) ?? 0);
  return await superviseService(server, {
    flags,
    name: "distcache server",
    banner: `distcache server listening on ${server.addr} (sessions: ${
      (flags.sessions as number | undefined) ?? DEFAULT_SESSIONS
    })`,
    killable: flags.killable === true,
    tick: () => {
      const s = server.stats();
      const text = line.next(s.operations, s.items);
      if (text !== null) console.log(text);
    },
  });
}
