/**
 * The distcache command-line tools, as one program:
 *
 * - `server`: the cache server (the C `dc_server`);
 * - `client`: the local proxy applications talk to (the C `dc_client`);
 * - `snoop`: a transparent proxy that prints the traffic (the C `dc_snoop`);
 * - `test`: a correctness and load tester (the C `dc_test`);
 * - `stats`: the figures of a running server or proxy (`-stats ADDR`).
 *
 * ```sh
 * deno run -A jsr:@distcache/cli server -listen IP:9001 -sessions 100000
 * deno run -A jsr:@distcache/cli client -listen UNIX:/tmp/scache -server IP:cachehost:9001
 * deno run -A jsr:@distcache/cli test -connect UNIX:/tmp/scache -ops 20000
 * ```
 *
 * Flags are accepted in the C tools' form (`-listen X`) and as
 * `--listen X` / `--listen=X`; every command has `-h`/`--help`.
 *
 * @module
 */

import process from "node:process";
import { DistcacheError } from "@distcache/distcache/nal";
import { runClient } from "./client.ts";
import { UsageError } from "./flags.ts";
import { closeInspectorSignal } from "./no_inspector.ts";
import { VERSION } from "./version.ts";
import { runServer } from "./server.ts";
import { runSnoop } from "./snoop.ts";
import { runStats } from "./stats.ts";
import { runTest } from "./test.ts";

const COMMANDS: Record<string, (args: readonly string[]) => Promise<number>> = {
  server: runServer,
  client: runClient,
  snoop: runSnoop,
  test: runTest,
  stats: runStats,
};

// The tools that run for long and serve others: never with a debugger
// that SIGUSR1 could open.
const SERVICES = new Set(["server", "client", "snoop"]);

const HELP = `usage: distcache <command> [flags]

commands:
  server   run a cache server
  client   run the local proxy that applications connect to
  snoop    relay traffic between clients and a server, printing each command
  test     check a server or proxy with random operations, and measure it
  stats    print the figures of a server or proxy started with -stats ADDR

Run "distcache <command> -h" for the flags of a command;
"distcache --version" prints the version.`;

/**
 * Runs the tool named by `argv[0]` with the rest as its flags; resolves with
 * the exit code (0 ok, 1 bad usage or failure). Errors are printed as one
 * line on stderr.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "@distcache/cli";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * assert.equal(await main(["test", "-connect", server.addr, "-ops", "1000"]), 0);
 * assert.equal(await main(["test", "-ops", "1000"]), 1); // no -connect: a usage error
 * await server.close();
 * ```
 */
export async function main(argv: readonly string[]): Promise<number> {
  const guard = closeInspectorSignal();
  const [command, ...args] = argv;
  if (
    command === undefined || command === "-h" || command === "--help" ||
    command === "help"
  ) {
    console.log(HELP);
    return command === undefined ? 1 : 0;
  }
  const isVersion = (a: string) => a === "--version" || a === "-version";
  if (isVersion(command) || command === "version") {
    console.log(`distcache ${VERSION}`);
    return 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    console.error(
      `distcache: unknown command "${command}" (server, client, snoop, test or stats)`,
    );
    return 1;
  }
  if (args.some(isVersion)) {
    console.log(`distcache ${command} ${VERSION}`);
    return 0;
  }
  if (!guard.closed && SERVICES.has(command)) {
    console.error(
      `distcache ${command}: refusing to start: SIGUSR1 would open the ` +
        `runtime's inspector on 127.0.0.1:9229 (any local user could then ` +
        `run code in this process) and it cannot be set to ignored: ` +
        guard.reason,
    );
    return 1;
  }
  try {
    return await run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`distcache ${command}: ${err.message}`);
      return 1;
    }
    if (err instanceof DistcacheError) {
      console.error(`distcache ${command}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
