/**
 * `distcache snoop` (the C `dc_snoop`): a transparent proxy that relays
 * bytes unchanged between each client and the server, and prints one line
 * per command it decodes.
 *
 * @module
 */

import {
  cmdName,
  DcCmd,
  type DcCommand,
  DcCommandDecoder,
  decodeAddPayload,
  errName,
} from "@distcache/distcache/dc_enc";
import {
  NalAddress,
  NalAddressError,
  NalConnection,
  NalListener,
  NalSelector,
  type RuntimeAdapter,
} from "@distcache/distcache/nal";
import { type FlagSpec, parseFlags, usage, UsageError } from "./flags.ts";
import { onSignals } from "./ops.ts";

/** Flags of `distcache snoop`. */
export const SNOOP_FLAGS: FlagSpec[] = [
  {
    name: "listen",
    kind: "string",
    arg: "<addr>",
    help: "address clients connect to (required)",
  },
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
}

/** A running snoop. */
export interface SnoopHandle {
  /** The address listened on. */
  readonly addr: string;
  /** Resolves once stopped. */
  readonly finished: Promise<void>;
  /** Stops: closes every relayed connection and the listener. */
  close(): Promise<void>;
}

/** The line printed for one decoded command. */
export function describeCommand(conn: number, c: DcCommand): string {
  const dir = c.isResponse ? "s->c response" : "c->s request ";
  let detail = `payload ${c.payload.length}`;
  const add = !c.isResponse && c.cmd === DcCmd.ADD
    ? decodeAddPayload(c.payload)
    : null;
  if (add !== null) {
    detail +=
      ` (timeout ${add.timeoutMs} ms, id ${add.idLength}, data ${add.data.length})`;
  } else if (c.isResponse && c.payload.length === 1) {
    const code = c.payload[0];
    detail += `, result ${code} ${errName(code)}`;
  } else if (c.isResponse && c.payload.length === 0) {
    detail += ", empty answer";
  } else if (c.isResponse && c.cmd === DcCmd.GET) {
    detail += ", session data";
  }
  return `#${conn} ${dir} uid ${c.requestUid} ${cmdName(c.cmd)} ${detail}`;
}

class Relay {
  readonly id: number;
  readonly client: NalConnection;
  readonly server: NalConnection;
  readonly up = new DcCommandDecoder("request");
  readonly down = new DcCommandDecoder("response");
  reportedUp = false;
  reportedDown = false;
  clientDead = false;
  serverDead = false;

  constructor(id: number, client: NalConnection, server: NalConnection) {
    this.id = id;
    this.client = client;
    this.server = server;
  }
}

// Moves what fits from one connection's read buffer to the other's send
// buffer, decoding a copy of it on the way.
function relay(
  from: NalConnection,
  to: NalConnection,
  dec: DcCommandDecoder,
  r: Relay,
  upstream: boolean,
  print: (line: string) => void,
): void {
  const rb = from.getRead();
  if (rb.empty()) return;
  const n = to.getSend().write(rb.readPtr());
  if (n === 0) return;
  const moved = rb.readPtr().subarray(0, n);
  if (dec.error === null) {
    for (const c of dec.push(moved)) print(describeCommand(r.id, c));
    const error = dec.error as Error | null;
    if (error !== null) {
      const reported = upstream ? r.reportedUp : r.reportedDown;
      if (!reported) {
        print(
          `#${r.id} ${
            upstream ? "c->s" : "s->c"
          } bytes do not decode (${error.message}); relaying them raw`,
        );
        if (upstream) r.reportedUp = true;
        else r.reportedDown = true;
      }
    }
  }
  rb.takeData(null, n);
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
  const serverAddr = NalAddress.parse(opts.server);
  if (!serverAddr.canConnect()) {
    throw new NalAddressError(
      `cannot connect to server "${opts.server}": a listen-only address`,
    );
  }
  const list = new NalListener({ adapter: opts.adapter });
  if (!(await list.create(listenAddr))) throw list.error!;
  const sel = new NalSelector();
  const relays = new Set<Relay>();
  let closing = false;
  let count = 0;

  const run = async (): Promise<void> => {
    let conn = new NalConnection();
    try {
      while (!closing) {
        sel.addListener(list);
        for (const r of relays) {
          if (!r.clientDead) sel.addConn(r.client);
          if (!r.serverDead) sel.addConn(r.server);
        }
        await sel.select();
        if (closing) break;
        while (list.accept(sel, conn)) {
          const server = new NalConnection({ adapter: opts.adapter });
          const id = ++count;
          if (!server.create(serverAddr)) {
            opts.print(
              `#${id} cannot connect to the server: ${server.error?.message}`,
            );
            conn.close();
          } else {
            relays.add(new Relay(id, conn, server));
            opts.print(`#${id} new connection`);
          }
          conn = new NalConnection();
        }
        for (const r of relays) step(r);
      }
    } finally {
      for (const r of relays) {
        r.client.close();
        r.server.close();
      }
      await list.closeAndWait();
    }
  };

  const step = (r: Relay): void => {
    if (!r.clientDead && !r.client.io(sel)) r.clientDead = true;
    if (!r.serverDead && !r.server.io(sel)) r.serverDead = true;
    relay(r.client, r.server, r.up, r, true, opts.print);
    relay(r.server, r.client, r.down, r, false, opts.print);
    if (!r.clientDead && !r.client.io(sel)) r.clientDead = true;
    if (!r.serverDead && !r.server.io(sel)) r.serverDead = true;
    // Closing either side closes the other, once what it sent is passed on.
    const done =
      (r.clientDead && (r.serverDead || r.server.getSend().empty())) ||
      (r.serverDead && (r.clientDead || r.client.getSend().empty()));
    if (done) {
      opts.print(
        `#${r.id} closed by the ${r.clientDead ? "client" : "server"}`,
      );
      r.client.close();
      r.server.close();
      relays.delete(r);
    }
  };

  const finished = run();
  return {
    addr: list.address(),
    finished,
    close: async () => {
      closing = true;
      sel.interrupt();
      await finished;
    },
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
  const snoop = await startSnoop({
    listen: flags.listen as string,
    server: flags.server as string,
    print: (line) => console.log(line),
  });
  console.log(
    `distcache snoop listening on ${snoop.addr}, relaying to ${flags.server}`,
  );
  const stopSignals = onSignals(["SIGINT", "SIGTERM"], [], () => snoop.close());
  await snoop.finished;
  stopSignals();
  console.log("distcache snoop stopped");
  return 0;
}
