/**
 * `distcache snoop` (the C `dc_snoop`): a transparent proxy that relays
 * bytes unchanged between each client and the server, and prints one line
 * per command it decodes.
 *
 * @module
 */

import {
  loopService,
  NalAddress,
  NalAddressError,
  type NalAllowList,
  NalListener,
  type NalTlsListenOptions,
  type RuntimeAdapter,
} from "@distcache/distcache/nal";
import { type FlagSpec, parseFlags, usage, UsageError } from "./flags.ts";
import { onSignals } from "./ops.ts";
import { Snoop } from "./relay.ts";
import {
  allowOf,
  deniedLog,
  LISTEN_TLS_FLAGS,
  listenTlsOf,
  tlsNote,
} from "./tls_flags.ts";

/** Flags of `distcache snoop`. */
export const SNOOP_FLAGS: FlagSpec[] = [
  {
    name: "listen",
    kind: "string",
    arg: "<addr>",
    help: "address clients connect to (required)",
  },
  ...LISTEN_TLS_FLAGS,
  {
    name: "server",
    kind: "string",
    arg: "<addr>",
    aliases: ["connect"],
    help: "address of the real server (required)",
  },
];

const SUMMARY =
  "Relays every connection to the server unchanged, printing one line per\n" +
  "request and response it decodes.";

/** Options for {@linkcode startSnoop}. */
export interface SnoopOptions {
  /** Address clients connect to. */
  listen: string;
  /** The real server. */
  server: string;
  /** Socket adapter. */
  adapter?: RuntimeAdapter;
  /** Where lines go. */
  print: (line: string) => void;
  /** TLS of the listener (TCP). @default {plain} */
  tls?: NalTlsListenOptions;
  /** Peers let in (TCP). @default {every peer} */
  allow?: NalAllowList;
  /** Told, at most once a second, of peers `allow` refused. */
  onDenied?: (count: number, address: string) => void;
}

/** A running snoop. */
export interface SnoopHandle {
  /** The address listened on. */
  readonly addr: string;
  /** The relays. */
  readonly snoop: Snoop;
  /** Resolves once stopped. */
  readonly finished: Promise<void>;
  /** Stops: closes every relayed connection and the listener. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a snoop; resolves once it listens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCtx } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { startSnoop } from "./snoop.ts";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const lines: string[] = [];
 * const snoop = await startSnoop({
 *   listen: "IP:127.0.0.1:0",
 *   server: server.addr,
 *   print: (line) => lines.push(line),
 * });
 * const ctx = await DcCtx.create(snoop.addr);
 * assert.equal(await ctx.hasSession("watched"), false);
 * ctx.close();
 * await snoop.close();
 * await server.close();
 * assert.ok(lines.some((l) => / request /.test(l)), lines.join("\n"));
 * ```
 */
export async function startSnoop(opts: SnoopOptions): Promise<SnoopHandle> {
  const listenAddr = NalAddress.parse(opts.listen);
  if (!NalAddress.parse(opts.server).canConnect()) {
    throw new NalAddressError(
      `cannot connect to server "${opts.server}": a listen-only address`,
    );
  }
  const list = new NalListener({
    adapter: opts.adapter,
    tls: opts.tls,
    allow: opts.allow,
    onDenied: opts.onDenied,
  });
  if (!(await list.create(listenAddr))) throw list.error!;
  const snoop = new Snoop(opts);
  const acceptor = snoop.loop.accept(list, (conn) => snoop.addClient(conn));
  const { finished, close } = loopService(snoop.loop, async () => {
    acceptor.remove();
    try {
      await snoop.close();
    } finally {
      await list.closeAndWait();
    }
  });
  return {
    addr: list.address(),
    snoop,
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Runs `distcache snoop`; resolves with the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { runSnoop } from "./snoop.ts";
 *
 * // Runs until SIGINT or SIGTERM:
 * //   await runSnoop(["-listen", "UNIX:/tmp/snoop", "-server", "UNIX:/tmp/dcserver"]);
 * assert.equal(await runSnoop(["-h"]), 0); // prints the flags
 * ```
 */
export async function runSnoop(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, SNOOP_FLAGS);
  if (flags.help) {
    console.log(usage("snoop", SUMMARY, SNOOP_FLAGS));
    return 0;
  }
  if (flags.listen === undefined) {
    throw new UsageError("flag -listen is required");
  }
  if (flags.server === undefined) {
    throw new UsageError("flag -server (or -connect) is required");
  }
  const tls = listenTlsOf(flags, (text) => console.error(text));
  const allow = allowOf(flags);
  let listening = flags.listen as string;
  const snoop = await startSnoop({
    listen: flags.listen as string,
    server: flags.server as string,
    print: (line) => console.log(line),
    tls,
    allow,
    onDenied: deniedLog(() => listening, (text) => console.error(text)),
  });
  listening = snoop.addr;
  console.log(
    `distcache snoop listening on ${snoop.addr}${
      tlsNote(tls !== undefined, flags["tls-ca"] !== undefined, allow)
    }, relaying to ${flags.server}`,
  );
  const stopSignals = onSignals(["SIGINT", "SIGTERM"], [], () => snoop.close());
  await snoop.finished;
  stopSignals();
  console.log("distcache snoop stopped");
  return 0;
}
