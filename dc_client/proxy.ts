/**
 * DcProxy: the engine of the local proxy (`distcache client`, the C
 * `dc_client`). Local clients' requests are checked as the server would
 * check them and forwarded over one upstream (a {@linkcode DcServerLink}),
 * with each client's answers given back in the order of its requests.
 *
 * @module
 */

import {
  addPayloadError,
  clampTimeout,
  commandSize,
  DC_MAX_ID_LEN,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
  type DcAddPayload,
  DcCmd,
  DcErr,
  DcPlug,
  type DcPlugCommand,
  DcProtocolError,
  decodeAddPayload,
  setAddTimeout,
} from "../dc_enc/mod.ts";
import {
  type DistcacheError,
  type NalConnection,
  NalLoop,
  type NalLoopEntry,
  type NalLoopTimer,
  type NalTlsConnectOptions,
  type RuntimeAdapter,
} from "../nal/mod.ts";
import { DcArgumentError } from "./errors.ts";
import { DcServerLink } from "./server_link.ts";
import type {
  DcProxyUpstream,
  DcUpstreamSink,
  DcUpstreamStats,
  DcUpstreamTicket,
} from "./upstream.ts";

/**
 * Default bound on what the proxy holds for one local client, in bytes:
 * answers it has not read yet (in the proxy's buffers) plus the largest
 * answers its requests at the server may bring. Past it the proxy reads no
 * more of that client's requests until it reads its answers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_PROXY_CLIENT_BYTES } from "@distcache/distcache/dc_client";
 *
 * assert.equal(DC_PROXY_CLIENT_BYTES, 256 * 1024);
 * ```
 */
export const DC_PROXY_CLIENT_BYTES: number = 256 * 1024;

// The largest answer a request may bring: a GET's, a whole session; the
// others answer one byte.
const MAX_GET_ANSWER = commandSize(DC_MAX_TOTAL_DATA);
const SMALL_ANSWER = commandSize(1);
// Most requests of one client whose answers are awaited (or wait behind
// an awaited one) at once.
const MAX_LINE = 64;

const CODE: Uint8Array[] = [];
function codeBytes(code: number): Uint8Array {
  return CODE[code] ??= new Uint8Array([code]);
}
const DISCONNECTED = codeBytes(DcErr.DISCONNECTED);
const EMPTY = new Uint8Array(0);
const DROP = Symbol("drop");

/** Options of {@linkcode DcProxy}. */
export interface DcProxyOptions {
  /**
   * The server's address: the proxy makes a {@linkcode DcServerLink} to it
   * with `retryMs`, `timeoutMs`, `pipeline` and `adapter`. Give this or
   * `upstream`.
   */
  server?: string;
  /** What to forward to, instead of a link made from `server`. */
  upstream?: DcProxyUpstream;
  /** For the link made from `server`: see {@linkcode DcServerLinkOptions}. @default {5000} */
  retryMs?: number;
  /** For the link made from `server`: see {@linkcode DcServerLinkOptions}. @default {3000} */
  timeoutMs?: number;
  /** For the link made from `server`: see {@linkcode DcServerLinkOptions}. @default {64} */
  pipeline?: number;
  /** Socket adapter of the link made from `server`. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /**
   * TLS of the link made from `server`: see
   * {@linkcode DcServerLinkOptions.tls}. @default {plain TCP}
   */
  serverTls?: NalTlsConnectOptions;
  /**
   * Drop a local client that makes no request for this many milliseconds
   * (`-idle`; never one with a request at the server). 0: never.
   * @default {0}
   */
  idleMs?: number;
  /**
   * Raise every ADD's lifetime to at least this many milliseconds before
   * forwarding it (`-min-timeout`, for Apache httpd 2.4's mod_socache_dc);
   * 0..604800000. @default {0}
   */
  minTimeoutMs?: number;
  /**
   * What the proxy holds for one local client at most, in bytes (see
   * {@linkcode DC_PROXY_CLIENT_BYTES}); from 65536. @default {262144}
   */
  clientBytes?: number;
  /**
   * The loop to run on (it is not closed with the proxy).
   * @default {a loop of its own}
   */
  loop?: NalLoop;
  /**
   * Called when a local client is dropped for breaking the protocol (a
   * corrupt stream, an ADD payload too short for its header): only that
   * client is dropped, the link to the server is never touched.
   */
  onClientError?: (error: DistcacheError) => void;
}

/** Counters of a {@linkcode DcProxy}. */
export interface DcProxyStats {
  /** Local clients connected now. */
  clients: number;
  /** Local clients accepted since the start. */
  clientsTotal: number;
  /** Requests read from local clients. */
  requests: number;
  /** Of those, handed to the upstream. */
  forwarded: number;
  /** Requests answered `2`: upstream down, or lost with them in flight. */
  disconnected: number;
  /**
   * Requests answered by the proxy itself, as the server would: ADDs it
   * refuses (100, 102, 103, 104) and ids out of range (1).
   */
  refused: number;
  /** Local clients dropped for breaking the protocol. */
  protocolErrors: number;
  /** Local clients dropped for being idle (`idleMs`). */
  idleDrops: number;
  /** Local clients waiting for room toward the upstream (its queue). */
  waiting: number;
  /** Bytes of answers held for local clients that have not read them. */
  heldBytes: number;
  /** The upstream's counters. */
  upstream: DcUpstreamStats;
}

/**
 * A local client of a {@linkcode DcProxy}, as
 * {@linkcode DcProxy.prototype.addClient} returns it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DcProxyClient, DcProxy } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { NalConnection } from "@distcache/distcache/nal";
 *
 * await using server = await serve({ listen: "IP:127.0.0.1:0" });
 * await using proxy = new DcProxy({ server: server.addr });
 * const [app, local] = [new NalConnection(), new NalConnection()];
 * NalConnection.createPair(app, local, 4096);
 * const client: DcProxyClient = proxy.addClient(local);
 * assert.equal(client.dead, false);
 * app.close();
 * await proxy.close();
 * assert.equal(client.dead, true); // dropped with the proxy
 * ```
 */
export interface DcProxyClient {
  /** The client's connection. */
  readonly conn: NalConnection;
  /** Whether it was dropped (or found closed). */
  readonly dead: boolean;
  /** Why it was dropped, when it broke the protocol. */
  readonly error: DistcacheError | null;
}

// A request of a local client, from its arrival to its answer.
class Ticket implements DcUpstreamTicket {
  readonly client: Local;
  readonly uid: number;
  readonly cmd: DcCmd;
  /** The answer once known (a copy, or a shared one-byte answer). */
  answer: Uint8Array | null;
  /** Bytes of answer reserved while at the upstream. */
  reserve: number;

  constructor(
    client: Local,
    uid: number,
    cmd: DcCmd,
    answer: Uint8Array | null,
    reserve: number,
  ) {
    this.client = client;
    this.uid = uid;
    this.cmd = cmd;
    this.answer = answer;
    this.reserve = reserve;
  }
}

class Local implements DcProxyClient {
  readonly conn: NalConnection;
  readonly plug: DcPlug;
  dead = false;
  error: DistcacheError | null = null;
  entry: NalLoopEntry | null = null;
  // Requests whose answers are awaited or wait behind one, in order.
  line: Ticket[] = [];
  head = 0;
  // Bytes reserved by requests at the upstream; bytes of answers copied
  // into the line.
  reserved = 0;
  held = 0;
  // The head's answer is known but the plug has no room for it.
  stalled = false;
  waiting = false;
  // Has answers written since the proxy last sent the clients theirs.
  touched = false;
  // Stopped reading for its bounds (bytes, requests awaited): an answer
  // brings it back.
  paused = false;
  lastActive: number;

  constructor(conn: NalConnection, now: number) {
    this.conn = conn;
    this.plug = new DcPlug(conn, 0);
    this.lastActive = now;
  }

  get lineLength(): number {
    return this.line.length - this.head;
  }

  watch(onNews: (() => void) | null): boolean {
    return this.plug.watch(onNews);
  }

  hasWork(): boolean {
    return !this.dead && this.plug.hasWork();
  }

  shift(): void {
    this.head++;
    if (this.head === this.line.length) {
      this.line.length = 0;
      this.head = 0;
    }
  }
}

/**
 * The local proxy's engine (the C `dc_client`): local clients' requests
 * go to one upstream, by default a persistent {@linkcode DcServerLink} to
 * a distcache server, and their answers come back in the order asked.
 *
 * Every request is checked first as the server would (the ADD payload's
 * layout and ranges, ids of 1..64 bytes): a malformed one is answered by
 * the proxy with the server's code, and an ADD too short for its header
 * drops only the client that sent it (where the server would drop the
 * connection), so nothing a local client sends can close the shared link.
 * While the upstream is down every request is answered `2`, as are those
 * in flight when it is lost; the answer to a client gone meanwhile is
 * dropped. A client that does not read costs at most `clientBytes`: past
 * it, its requests wait unread.
 *
 * It runs on a {@linkcode NalLoop}: each local client is an entry visited
 * only when it has news, so idle clients cost nothing per request.
 *
 * @example Drive a proxy over connection pairs, step by step
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcProxy } from "@distcache/distcache/dc_client";
 * import { DC_PLUG_FLAG_TO_SERVER, DcCmd, DcPlug } from "@distcache/distcache/dc_enc";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { NalConnection, NalLoop } from "@distcache/distcache/nal";
 *
 * await using server = await serve({ listen: "IP:127.0.0.1:0" });
 * await using loop = new NalLoop();
 * await using proxy = new DcProxy({ server: server.addr, loop });
 * const [app, local] = [new NalConnection(), new NalConnection()];
 * NalConnection.createPair(app, local, 4096);
 * proxy.addClient(local);
 * const plug = new DcPlug(app, DC_PLUG_FLAG_TO_SERVER);
 * plug.write(7, DcCmd.HAVE, new TextEncoder().encode("sid"));
 * plug.commit();
 * while (plug.peek() === null) {
 *   plug.io();
 *   await loop.idle();
 *   await new Promise((r) => setTimeout(r, 1));
 * }
 * assert.equal(plug.peek()?.requestUid, 7);
 * assert.deepEqual(plug.peek()?.payload, new Uint8Array([1])); // no such session
 * plug.close();
 * ```
 */
export class DcProxy implements AsyncDisposable {
  /** What requests are forwarded to. */
  readonly upstream: DcProxyUpstream;
  /** The loop the proxy runs on. */
  readonly loop: NalLoop;
  readonly #ownLoop: boolean;
  readonly #clients = new Set<Local>();
  // Clients with a request that found no room toward the upstream, in the
  // order they came.
  readonly #waiting = new Set<Local>();
  // Clients given answers since the last batch was sent.
  readonly #touched: Local[] = [];
  readonly #idleMs: number;
  readonly #minTimeoutMs: number;
  readonly #clientBytes: number;
  readonly #onClientError: ((error: DistcacheError) => void) | undefined;
  readonly #add: DcAddPayload = {
    timeoutMs: 0,
    idLength: 0,
    id: new Uint8Array(0),
    data: new Uint8Array(0),
  };
  #idleTimer: NalLoopTimer | null = null;
  #closed: Promise<void> | null = null;
  #counts = {
    clientsTotal: 0,
    requests: 0,
    forwarded: 0,
    disconnected: 0,
    refused: 0,
    protocolErrors: 0,
    idleDrops: 0,
  };

  /**
   * Makes a proxy and starts its upstream (a link connects at once).
   *
   * @param options The server (or upstream), and the proxy's bounds.
   * @throws {DcArgumentError} for a missing server, or an option out of
   *   range.
   * @throws {NalAddressError} for a bad server address.
   */
  constructor(options: DcProxyOptions) {
    this.#idleMs = bounded("idleMs", options.idleMs, 0, 0, Infinity);
    this.#minTimeoutMs = bounded(
      "minTimeoutMs",
      options.minTimeoutMs,
      0,
      0,
      DC_MAX_TIMEOUT_MS,
    );
    this.#clientBytes = bounded(
      "clientBytes",
      options.clientBytes,
      DC_PROXY_CLIENT_BYTES,
      65536,
      Infinity,
    );
    this.#onClientError = options.onClientError;
    if (options.upstream !== undefined) {
      this.upstream = options.upstream;
    } else if (options.server !== undefined) {
      this.upstream = new DcServerLink(options.server, {
        retryMs: options.retryMs,
        timeoutMs: options.timeoutMs,
        pipeline: options.pipeline,
        adapter: options.adapter,
        tls: options.serverTls,
      });
    } else {
      throw new DcArgumentError(
        "a proxy needs a server address (server) or an upstream",
      );
    }
    this.#ownLoop = options.loop === undefined;
    this.loop = options.loop ?? new NalLoop();
    this.upstream.start(this.loop, this.#sink);
  }

  /**
   * Serves `conn` as a local client: it is watched by the proxy's loop
   * from now on, and closed when dropped.
   *
   * @param conn An established connection (accepted, or one end of a pair).
   * @returns The client.
   */
  addClient(conn: NalConnection): DcProxyClient {
    const now = Date.now();
    const client = new Local(conn, now);
    this.#clients.add(client);
    this.#counts.clientsTotal++;
    if (this.#closed !== null) {
      this.#drop(client);
      return client;
    }
    client.entry = this.loop.add(client, () => this.clientIo(client));
    if (this.#idleMs > 0 && this.#idleTimer === null) this.#sweepLater();
    return client;
  }

  /**
   * One visit of a local client (the loop makes them): moves its bytes,
   * gives it the answers that are ready, reads and forwards its requests
   * as the bounds allow, and drops it when it is gone or broke the
   * protocol.
   *
   * @param client A client of this proxy.
   * @param now Clock in milliseconds. @default {Date.now()}
   * @returns `false` when the client was dropped.
   */
  clientIo(client: DcProxyClient, now: number = Date.now()): boolean {
    const c = client as Local;
    if (c.dead) return false;
    if (!this.#stays(c, c.plug.io())) return this.#drop(c);
    this.#flush(c);
    this.#take(c, now);
    if (c.dead) return false;
    // Answers written in this visit go out now; with none, the next
    // event (or answer) brings the client back.
    if (c.plug.unsent > 0 && !this.#stays(c, c.plug.io())) {
      return this.#drop(c);
    }
    return true;
  }

  /** Counters: clients, requests by outcome, queue, bytes held, upstream. */
  stats(): DcProxyStats {
    let heldBytes = 0;
    for (const c of this.#clients) heldBytes += c.held + c.plug.unsent;
    return {
      clients: this.#clients.size,
      ...this.#counts,
      waiting: this.#waiting.size,
      heldBytes,
      upstream: this.upstream.stats(),
    };
  }

  /**
   * Stops: drops every local client, closes the upstream and, when the
   * proxy made its own loop, the loop.
   */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      this.#idleTimer?.cancel();
      for (const c of [...this.#clients]) this.#drop(c);
      this.upstream.close();
      if (this.#ownLoop) await this.loop.close();
    })();
  }

  /** Same as {@linkcode DcProxy.prototype.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Whether a client stays after its plug's io(): alive, or its peer
  // ended its stream (a half-close) while answers it asked for are still
  // to come.
  #stays(c: Local, alive: boolean): boolean {
    return alive ||
      (c.lineLength > 0 && c.plug.error === null && c.conn.peerEnded());
  }

  #drop(c: Local): false {
    if (c.dead) return false;
    c.dead = true;
    const err = c.plug.error ?? c.error;
    if (err !== null) {
      c.error = err;
      this.#counts.protocolErrors++;
      this.#onClientError?.(err);
    }
    c.entry?.remove();
    c.entry = null;
    this.#clients.delete(c);
    this.#waiting.delete(c);
    // Answers still to come for it are dropped as they arrive.
    c.line = [];
    c.head = 0;
    c.held = 0;
    c.plug.close();
    return false;
  }

  // Writes the answers at the head of the client's line that are known.
  #flush(c: Local): void {
    const plug = c.plug;
    c.stalled = false;
    while (c.head < c.line.length) {
      const t = c.line[c.head];
      if (t.answer === null) return;
      if (!plug.write(t.uid, t.cmd, t.answer)) {
        c.stalled = true;
        return;
      }
      plug.commit();
      if (t.answer.length > 1) c.held -= t.answer.length;
      c.shift();
    }
  }

  // Reads the client's requests and answers or forwards them, while its
  // answers can be given and the bounds allow.
  #take(c: Local, now: number): void {
    const plug = c.plug;
    const upstream = this.upstream;
    c.paused = c.lineLength >= MAX_LINE;
    while (!c.stalled && c.lineLength < MAX_LINE) {
      const req = plug.peek();
      if (req === null) break;
      let answer = this.#check(req);
      if (answer === DROP) {
        c.error = new DcProtocolError(
          "ERR_PROTOCOL",
          "data_len",
          req.payload.length,
          `ADD payload of ${req.payload.length} bytes from a local client: shorter than its 8-byte header (lifetime, id length)`,
        );
        this.#drop(c);
        return;
      }
      if (answer === null && !upstream.up) {
        answer = DISCONNECTED;
        this.#counts.disconnected++;
      }
      if (answer !== null) {
        this.#answer(c, req.requestUid, req.cmd, answer);
      } else {
        const reserve = req.cmd === DcCmd.GET ? MAX_GET_ANSWER : SMALL_ANSWER;
        // Its answers' arrival or its socket draining brings it back.
        const unsent = plug.unsent;
        if (
          (c.lineLength > 0 || unsent > 0) &&
          c.reserved + c.held + unsent + reserve > this.#clientBytes
        ) {
          c.paused = true;
          break;
        }
        const t = new Ticket(c, req.requestUid, req.cmd, null, reserve);
        if (!upstream.send(t, req.cmd, req.payload)) {
          if (!c.waiting) {
            c.waiting = true;
            this.#waiting.add(c);
          }
          break;
        }
        c.line.push(t);
        c.reserved += reserve;
        this.#counts.forwarded++;
      }
      if (c.waiting) {
        c.waiting = false;
        this.#waiting.delete(c);
      }
      this.#counts.requests++;
      c.lastActive = now;
      plug.consume();
      if (c.lineLength >= MAX_LINE) c.paused = true;
    }
  }

  // The proxy's own answer to a request the server would refuse, DROP for
  // one after which the server would drop the connection, or null to
  // forward it (an ADD's lifetime raised to the floor on the way).
  #check(req: DcPlugCommand): Uint8Array | null | typeof DROP {
    if (req.cmd !== DcCmd.ADD) {
      const n = req.payload.length;
      if (n > 0 && n <= DC_MAX_ID_LEN) return null;
      this.#counts.refused++;
      return codeBytes(DcErr.NOTOK);
    }
    const add = decodeAddPayload(req.payload, this.#add);
    if (add === null) return DROP;
    const code = addPayloadError(add);
    if (code !== null) {
      this.#counts.refused++;
      return codeBytes(code);
    }
    if (this.#minTimeoutMs > 0) {
      const lifetime = clampTimeout(add.timeoutMs, this.#minTimeoutMs);
      if (lifetime !== add.timeoutMs) setAddTimeout(req.payload, lifetime);
    }
    return null;
  }

  // Gives an answer the proxy knows now, in its place in the client's line.
  #answer(c: Local, uid: number, cmd: DcCmd, answer: Uint8Array): void {
    if (c.lineLength === 0 && c.plug.write(uid, cmd, answer)) {
      c.plug.commit();
      return;
    }
    c.line.push(new Ticket(c, uid, cmd, answer, 0));
    if (c.lineLength === 1) c.stalled = true;
  }

  // An upstream's answer (null: none will come, answer 2).
  #answered(ticket: DcUpstreamTicket, payload: Uint8Array | null): void {
    const t = ticket as Ticket;
    const c = t.client;
    c.reserved -= t.reserve;
    t.reserve = 0;
    if (c.dead) return;
    if (payload === null) {
      payload = DISCONNECTED;
      this.#counts.disconnected++;
    }
    if (
      c.line[c.head] === t && !c.stalled &&
      c.plug.write(t.uid, t.cmd, payload)
    ) {
      c.plug.commit();
      c.shift();
      this.#flush(c);
    } else {
      if (payload.length > 1) {
        t.answer = payload.slice();
        c.held += payload.length;
      } else {
        t.answer = payload.length === 1 ? codeBytes(payload[0]) : EMPTY;
      }
      if (c.line[c.head] === t) c.stalled = true;
    }
    if (!c.touched) {
      c.touched = true;
      this.#touched.push(c);
    }
  }

  // Sends the answers written since the last batch, a write per client;
  // a client with more to do (or found gone) gets a visit.
  #send(): void {
    const touched = this.#touched;
    for (let i = 0; i < touched.length; i++) {
      const c = touched[i];
      c.touched = false;
      if (c.dead) continue;
      if (c.paused || !this.#stays(c, c.plug.io()) || c.plug.hasWork()) {
        c.entry?.mark();
      }
    }
    touched.length = 0;
  }

  // After answers, or room toward the upstream: answers go out, and the
  // clients waiting for room go on, in turn.
  #room(): void {
    this.#send();
    let n = this.#waiting.size;
    if (n === 0) return;
    const now = Date.now();
    for (const c of this.#waiting) {
      if (n-- === 0) break;
      this.#waiting.delete(c);
      c.waiting = false;
      this.#take(c, now);
      c.entry?.mark();
      if (c.waiting) break;
    }
  }

  readonly #sink: DcUpstreamSink = {
    answer: (ticket, payload) => this.#answered(ticket, payload),
    room: () => this.#room(),
  };

  #sweepLater(): void {
    this.#idleTimer = this.loop.after(this.#idleMs, () => {
      this.#idleTimer = null;
      const now = Date.now();
      for (const c of [...this.#clients]) {
        if (c.lineLength === 0 && now - c.lastActive >= this.#idleMs) {
          this.#counts.idleDrops++;
          this.#drop(c);
        }
      }
      if (this.#clients.size > 0) this.#sweepLater();
    });
  }
}

function bounded(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new DcArgumentError(
      `invalid ${name}: ${String(value)}; must be an integer ${
        max === Infinity ? `from ${min}` : `${min}..${max}`
      }`,
    );
  }
  return value;
}
