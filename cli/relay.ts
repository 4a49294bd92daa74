/**
 * The engine of `distcache snoop`: each accepted connection is relayed,
 * byte for byte, to a connection of its own to the server, on a `NalLoop`
 * (a relay is visited only when one of its two sides has news), and every
 * command that goes through is decoded for a line of output.
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
  NalConnection,
  NalLoop,
  type NalLoopEntry,
  type NalWatchable,
  type RuntimeAdapter,
} from "@distcache/distcache/nal";

/**
 * The line printed for one decoded command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd } from "@distcache/distcache/dc_enc";
 * import { describeCommand } from "./relay.ts";
 *
 * const line = describeCommand(3, { isResponse: true, requestUid: 9, cmd: DcCmd.HAVE, payload: new Uint8Array([1]), wireSize: 15 });
 * assert.equal(line, "#3 s->c response uid 9 HAVE payload 1, result 1 NOTOK");
 * ```
 */
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

/** Options of {@linkcode Snoop}. */
export interface SnoopRelayOptions {
  /** The real server. */
  server: string;
  /** Where lines go. */
  print: (line: string) => void;
  /** Socket adapter. */
  adapter?: RuntimeAdapter;
  /** The loop to run on (not closed with the snoop). @default {its own} */
  loop?: NalLoop;
}

// One direction of a relay: its decoder, and whether its undecodable
// bytes were reported.
class Direction {
  readonly decoder: DcCommandDecoder;
  readonly name: string;
  reported = false;

  constructor(kind: "request" | "response", name: string) {
    this.decoder = new DcCommandDecoder(kind);
    this.name = name;
  }
}

// A client connection and its connection to the server.
class Relay implements NalWatchable {
  readonly id: number;
  readonly client: NalConnection;
  readonly server: NalConnection;
  readonly up = new Direction("request", "c->s");
  readonly down = new Direction("response", "s->c");
  entry: NalLoopEntry | null = null;
  // A side whose socket is gone (closed, reset, never connected): nothing
  // can be sent to it any more.
  clientGone = false;
  serverGone = false;
  // The other side was told of a side's end of stream (a half-close).
  endedToServer = false;
  endedToClient = false;
  // Which side ended first, for the closing line.
  firstEnd: "client" | "server" | null = null;

  constructor(id: number, client: NalConnection, server: NalConnection) {
    this.id = id;
    this.client = client;
    this.server = server;
  }

  watch(onNews: (() => void) | null): boolean {
    const a = this.client.watch(onNews);
    const b = this.server.watch(onNews);
    return a || b;
  }

  // Work of either connection, or bytes one side read that the other has
  // room to take now (no socket event announces that).
  hasWork(): boolean {
    return this.client.hasWork() || this.server.hasWork() ||
      (!this.serverGone && movable(this.client, this.server)) ||
      (!this.clientGone && movable(this.server, this.client));
  }
}

function movable(from: NalConnection, to: NalConnection): boolean {
  return from.getRead().notEmpty() && to.getSend().notFull();
}

/**
 * A transparent relay that prints what goes through: for each client
 * connection handed to {@linkcode Snoop.prototype.addClient} it opens one
 * to the server and relays bytes both ways unchanged, printing one line
 * per command decoded (connection number, direction, uid, operation,
 * sizes, result code). Bytes that do not decode are still relayed, and
 * reported once per direction. One side's end of stream is passed on to
 * the other (a half-close: a client that shut down its sending side still
 * gets the server's answers); once both have ended, or either side is
 * gone, the relay closes both.
 *
 * @example Relay one request to a server in this process
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { DC_PLUG_FLAG_TO_SERVER, DcCmd, DcPlug } from "@distcache/distcache/dc_enc";
 * import { NalConnection } from "@distcache/distcache/nal";
 * import { Snoop } from "./relay.ts";
 *
 * await using server = await serve({ listen: "IP:127.0.0.1:0" });
 * const lines: string[] = [];
 * await using snoop = new Snoop({ server: server.addr, print: (l) => lines.push(l) });
 * const [app, relayed] = [new NalConnection(), new NalConnection()];
 * NalConnection.createPair(app, relayed, 4096);
 * snoop.addClient(relayed);
 * const plug = new DcPlug(app, DC_PLUG_FLAG_TO_SERVER);
 * plug.write(4, DcCmd.HAVE, new TextEncoder().encode("sid"));
 * plug.commit();
 * while (plug.peek() === null) {
 *   plug.io();
 *   await new Promise((r) => setTimeout(r, 1));
 * }
 * assert.equal(lines.at(-1), "#1 s->c response uid 4 HAVE payload 1, result 1 NOTOK");
 * plug.close();
 * ```
 */
export class Snoop implements AsyncDisposable {
  /** The loop the relays run on. */
  readonly loop: NalLoop;
  readonly #ownLoop: boolean;
  readonly #server: NalAddress;
  readonly #adapter: RuntimeAdapter | undefined;
  readonly #print: (line: string) => void;
  readonly #relays = new Set<Relay>();
  #count = 0;
  #closed: Promise<void> | null = null;

  /**
   * Makes a snoop relaying to `options.server`.
   *
   * @param options The server, where lines go, the adapter and loop.
   * @throws {NalAddressError} for a bad address.
   */
  constructor(options: SnoopRelayOptions) {
    this.#server = NalAddress.parse(options.server);
    this.#adapter = options.adapter;
    this.#print = options.print;
    this.#ownLoop = options.loop === undefined;
    this.loop = options.loop ?? new NalLoop();
  }

  /** Connections being relayed now. */
  get relays(): number {
    return this.#relays.size;
  }

  /**
   * Relays `client` to a new connection to the server.
   *
   * @param client An accepted connection (or one end of a pair).
   */
  addClient(client: NalConnection): void {
    const id = ++this.#count;
    const server = new NalConnection({ adapter: this.#adapter });
    if (this.#closed !== null || !server.create(this.#server)) {
      this.#print(
        `#${id} cannot connect to the server: ${
          server.error?.message ?? "the snoop is closing"
        }`,
      );
      client.close();
      return;
    }
    const r = new Relay(id, client, server);
    this.#relays.add(r);
    this.#print(`#${id} new connection`);
    r.entry = this.loop.add(r, () => this.#step(r));
  }

  /** Closes every relayed connection (and the loop, if it is its own). */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      for (const r of [...this.#relays]) this.#finish(r, null);
      if (this.#ownLoop) await this.loop.close();
    })();
  }

  /** Same as {@linkcode Snoop.prototype.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #step(r: Relay): void {
    this.#io(r);
    if (!r.serverGone) this.#pass(r, r.client, r.server, r.up);
    if (!r.clientGone) this.#pass(r, r.server, r.client, r.down);
    this.#io(r);
    const clientEnded = r.clientGone || r.client.peerEnded();
    const serverEnded = r.serverGone || r.server.peerEnded();
    if (clientEnded && r.firstEnd === null) r.firstEnd = "client";
    if (serverEnded && r.firstEnd === null) r.firstEnd = "server";
    // An end of stream is passed on once what came before it is.
    if (clientEnded && r.client.getRead().empty() && !r.endedToServer) {
      r.endedToServer = true;
      r.server.end();
      this.#io(r);
    }
    if (serverEnded && r.server.getRead().empty() && !r.endedToClient) {
      r.endedToClient = true;
      r.client.end();
      this.#io(r);
    }
    const clientOut = r.clientGone ||
      (r.endedToClient && r.client.getSend().empty());
    const serverOut = r.serverGone ||
      (r.endedToServer && r.server.getSend().empty());
    if (clientOut && serverOut) this.#finish(r, r.firstEnd);
  }

  #io(r: Relay): void {
    if (!r.clientGone && !r.client.io() && !r.client.peerEnded()) {
      r.clientGone = true;
    }
    if (!r.serverGone && !r.server.io() && !r.server.peerEnded()) {
      r.serverGone = true;
    }
  }

  // Moves what fits from one side's read buffer to the other's send
  // buffer, decoding a copy of it on the way.
  #pass(
    r: Relay,
    from: NalConnection,
    to: NalConnection,
    dir: Direction,
  ): void {
    const rb = from.getRead();
    if (rb.empty()) return;
    const n = to.getSend().write(rb.readPtr());
    if (n === 0) return;
    const dec = dir.decoder;
    if (dec.error === null) {
      const moved = rb.readPtr().subarray(0, n);
      for (const c of dec.push(moved)) this.#print(describeCommand(r.id, c));
      const error = dec.error as Error | null;
      if (error !== null && !dir.reported) {
        dir.reported = true;
        this.#print(
          `#${r.id} ${dir.name} bytes do not decode (${error.message}); relaying them raw`,
        );
      }
    }
    rb.takeData(null, n);
  }

  #finish(r: Relay, by: "client" | "server" | null): void {
    if (!this.#relays.delete(r)) return;
    r.entry?.remove();
    r.client.close();
    r.server.close();
    if (by !== null) this.#print(`#${r.id} closed by the ${by}`);
  }
}
