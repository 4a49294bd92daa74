/**
 * DcServerLink: a proxy's persistent connection to a distcache server, the
 * upstream of `distcache client`. Requests of every local client are
 * multiplexed over it with request_uids of its own; the server answers in
 * order.
 *
 * @module
 */

import {
  commandSize,
  DC_PLUG_FLAG_TO_SERVER,
  type DcCmd,
  DcPlug,
} from "../dc_enc/mod.ts";
import {
  NalAddress,
  NalConnection,
  type NalLoop,
  type NalLoopEntry,
  type NalLoopTimer,
  NalSocketError,
  type NalTlsConnectOptions,
  type RuntimeAdapter,
} from "../nal/mod.ts";
import { DcArgumentError } from "./errors.ts";
import { checkTls } from "./_tls.ts";
import {
  type DcProxyUpstream,
  DcUpstreamBackEvent,
  type DcUpstreamEventMap,
  DcUpstreamLostEvent,
  DcUpstreamRetryEvent,
  type DcUpstreamSink,
  type DcUpstreamStats,
  type DcUpstreamTicket,
} from "./upstream.ts";
import { Backoff } from "./_backoff.ts";

/** Default longest delay between reconnect attempts (`-retry`), in ms. */
export const DC_LINK_DEFAULT_RETRY_MS = 5000;
/**
 * Default time a request may wait for its answer at the server (`-timeout`),
 * in ms: past it the link counts as broken and is made again. Below a
 * client's own default (5 s), so that the client is told `2` first.
 */
export const DC_LINK_DEFAULT_TIMEOUT_MS = 3000;
/**
 * Default bound on requests in flight toward the server (`-pipeline`): the
 * C `dc_server` drops a connection that leaves about 250 unanswered. The
 * link carries every local client's requests, so it allows more than one
 * client context's `maxInFlight` (16): with 64 local clients at once, 16
 * would leave most of them waiting a round trip for room.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_LINK_DEFAULT_PIPELINE } from "@distcache/distcache/dc_client";
 *
 * assert.equal(DC_LINK_DEFAULT_PIPELINE, 64);
 * ```
 */
export const DC_LINK_DEFAULT_PIPELINE = 64;
/**
 * Most bytes of requests in flight toward the server at once, unless one
 * request alone is larger (it then goes alone): the C `dc_server` reads
 * into a 4096-byte buffer, and when pipelined requests overflow it a read
 * can end inside a frame header, which its decoder misreads (it drops the
 * connection, or misdecodes the request).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_LINK_PIPELINE_BYTES } from "@distcache/distcache/dc_client";
 *
 * assert.equal(DC_LINK_PIPELINE_BYTES, 4096);
 * ```
 */
export const DC_LINK_PIPELINE_BYTES = 4096;

// The first retry comes this soon (or at -retry, if that is sooner).
const FIRST_RETRY_MS = 100;

/** Options of {@linkcode DcServerLink}. */
export interface DcServerLinkOptions {
  /**
   * Longest delay between reconnect attempts, in ms (`-retry`): the first
   * retry comes after 100 ms, each next one after twice as long, up to
   * this. @default {5000}
   */
  retryMs?: number;
  /**
   * How long a request may wait for its answer, and a connect for its
   * completion, in ms (`-timeout`). Past it the link counts as broken: it
   * is closed, every request in flight is answered `2`, and it is made
   * again. @default {3000}
   */
  timeoutMs?: number;
  /**
   * Most requests in flight at once (`-pipeline`; the rest wait at the
   * proxy). Whatever the count, requests in flight add up to at most 4096
   * bytes unless one alone is larger (see
   * {@linkcode DC_LINK_PIPELINE_BYTES}). Against a C `dc_server` holding
   * sessions over 4 KB, use 1: it drops a connection with any request
   * waiting behind a GET answer that large. @default {64}
   */
  pipeline?: number;
  /** Socket adapter. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /**
   * Connect to the server over TLS (`-server-tls-ca`, `-server-tls-cert`,
   * `-server-tls-key`, `-server-tls-name`), verifying its certificate: a
   * handshake that fails (the certificate does not verify, the server
   * refuses ours) is a lost connection like a refused one, retried with
   * the same backoff. See {@linkcode DcCtxOptions.tls}. @default {plain TCP}
   */
  tls?: NalTlsConnectOptions;
}

// Link states: no connection (a retry is due); connecting; established.
const DOWN = 0;
const CONNECTING = 1;
const UP = 2;

interface Sent {
  uid: number;
  ticket: DcUpstreamTicket;
  bytes: number;
  deadline: number;
}

/**
 * A proxy's link to a distcache server: a {@linkcode DcProxyUpstream} over
 * one persistent connection, made again after a loss with a growing delay
 * (100 ms first, then twice as long each time, up to `retryMs`). A request
 * that gets no answer within `timeoutMs` breaks the link: the server
 * answers in order, so every request behind it would wait as long, and
 * a late answer could not be told from a next one once given up; the link
 * is closed, everything in flight is answered `2`, and a new one is made.
 *
 * @example A proxy in front of a server, in one process
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx, DcServerLink, startProxy } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * await using server = await serve({ listen: "IP:127.0.0.1:0" });
 * const link = new DcServerLink(server.addr, { timeoutMs: 1000 });
 * const lost: string[] = [];
 * link.addEventListener("lost", (e) => lost.push(e.reason.message));
 * await using proxy = await startProxy({ listen: "IP:127.0.0.1:0", upstream: link });
 * const ctx = await DcCtx.create(proxy.addr, DC_CTX_FLAG_PERSISTENT);
 * assert.equal(await ctx.addSession("sid", "session data", 60_000), true);
 * assert.equal(new TextDecoder().decode((await ctx.get("sid"))!), "session data");
 * ctx.close();
 * assert.deepEqual(lost, []);
 * ```
 */
export class DcServerLink extends EventTarget implements DcProxyUpstream {
  /** The server's address. */
  readonly address: string;
  readonly #addr: NalAddress;
  readonly #adapter: RuntimeAdapter | undefined;
  readonly #tls: NalTlsConnectOptions | undefined;
  readonly #timeoutMs: number;
  readonly #pipeline: number;
  readonly #backoff: Backoff;
  #loop: NalLoop | null = null;
  #sink: DcUpstreamSink | null = null;
  #state = DOWN;
  #closed = false;
  #conn: NalConnection | null = null;
  #plug: DcPlug | null = null;
  #entry: NalLoopEntry | null = null;
  // Requests in flight, oldest first (from #head): the server answers in
  // this order.
  #sent: Sent[] = [];
  #head = 0;
  #bytes = 0;
  #nextUid = 1;
  #timer: NalLoopTimer | null = null;
  #retry: NalLoopTimer | null = null;
  #connectDeadline = 0;
  // Lost and not back yet (and since when): "lost" is told once per outage.
  #lostSince = -1;
  #retries = 0;
  #counts = { lost: 0, timeouts: 0, reconnects: 0, attempts: 0 };

  /**
   * Makes a link to the server at `address`; it connects once a proxy
   * starts it.
   *
   * @param address The server, e.g. `"IP:cachehost:9001"`.
   * @param options Retry delay, timeout, pipeline bound, socket adapter,
   *   TLS.
   * @throws {NalAddressError} for a bad address.
   * @throws {DcArgumentError} for a listen-only address, an option out of
   *   range, TLS options that are not PEM or are given for a UNIX address.
   */
  constructor(address: string, options: DcServerLinkOptions = {}) {
    super();
    const addr = NalAddress.parse(address);
    if (!addr.canConnect()) {
      throw new DcArgumentError(
        `cannot connect to server "${address}": a listen-only address`,
      );
    }
    checkTls(options.tls, addr, address);
    this.address = address;
    this.#addr = addr;
    this.#adapter = options.adapter;
    this.#tls = options.tls;
    const retryMs = positive(
      "retryMs",
      options.retryMs,
      DC_LINK_DEFAULT_RETRY_MS,
    );
    this.#timeoutMs = positive(
      "timeoutMs",
      options.timeoutMs,
      DC_LINK_DEFAULT_TIMEOUT_MS,
    );
    this.#pipeline = positive(
      "pipeline",
      options.pipeline,
      DC_LINK_DEFAULT_PIPELINE,
    );
    this.#backoff = new Backoff(Math.min(FIRST_RETRY_MS, retryMs), retryMs);
  }

  /** Whether requests are taken: connected, or connecting. */
  get up(): boolean {
    return this.#state !== DOWN;
  }

  /** Whether the connection is established. */
  get established(): boolean {
    return this.#state === UP;
  }

  /**
   * Listens to `lost`, `back` and `retry` (typed), or any event.
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As `EventTarget.addEventListener`'s.
   */
  override addEventListener<K extends keyof DcUpstreamEventMap>(
    type: K,
    listener: (event: DcUpstreamEventMap[K]) => void,
    options?: Parameters<EventTarget["addEventListener"]>[2],
  ): void;
  /**
   * Listens to an event by any name.
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As `EventTarget.addEventListener`'s.
   */
  override addEventListener(
    type: string,
    listener: Parameters<EventTarget["addEventListener"]>[1],
    options?: Parameters<EventTarget["addEventListener"]>[2],
  ): void;
  override addEventListener(
    type: string,
    listener: Parameters<EventTarget["addEventListener"]>[1],
    options?: Parameters<EventTarget["addEventListener"]>[2],
  ): void {
    super.addEventListener(type, listener, options);
  }

  /**
   * Connects, and delivers answers to `sink` in turns of `loop` (a proxy
   * calls it once).
   *
   * @param loop The proxy's loop.
   * @param sink Where answers go.
   */
  start(loop: NalLoop, sink: DcUpstreamSink): void {
    if (this.#loop !== null || this.#closed) return;
    this.#loop = loop;
    this.#sink = sink;
    this.#connect();
  }

  /**
   * Sends a request if the pipeline bounds allow it now.
   *
   * @param ticket Given back with the answer.
   * @param cmd The command.
   * @param payload The payload (copied into the link's buffers).
   * @returns `false` when the link is down or the pipeline is full.
   */
  send(ticket: DcUpstreamTicket, cmd: DcCmd, payload: Uint8Array): boolean {
    const plug = this.#plug;
    if (plug === null) return false;
    const count = this.#sent.length - this.#head;
    const bytes = commandSize(payload.length);
    if (
      count >= this.#pipeline ||
      (count > 0 && this.#bytes + bytes > DC_LINK_PIPELINE_BYTES)
    ) return false;
    const uid = this.#nextUid;
    if (!plug.write(uid, cmd, payload)) return false;
    plug.commit();
    this.#nextUid = (uid + 1) >>> 0;
    this.#sent.push({
      uid,
      ticket,
      bytes,
      deadline: Date.now() + this.#timeoutMs,
    });
    this.#bytes += bytes;
    // An idle link sends at once. Behind requests in flight, the link
    // waits for the events already there (other clients' requests) so that
    // one write carries them all: a write per request costs the proxy and
    // the server a system call each.
    if (count === 0) {
      this.#arm();
      this.#entry!.mark();
    } else {
      this.#loop!.markAfterEvents(this.#entry!);
    }
    return true;
  }

  /** Counters: state, requests in flight, losses, timeouts, reconnects. */
  stats(): DcUpstreamStats {
    return {
      up: this.up,
      established: this.established,
      inFlight: this.#sent.length - this.#head,
      ...this.#counts,
    };
  }

  /** Closes the connection; requests in flight get no answer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#retry?.cancel();
    this.#timer?.cancel();
    this.#retry = this.#timer = null;
    this.#drop();
    this.#sent = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  /** Same as {@linkcode DcServerLink.prototype.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #connect(): void {
    this.#retry = null;
    if (this.#closed) return;
    this.#counts.attempts++;
    const conn = new NalConnection({ adapter: this.#adapter, tls: this.#tls });
    if (!conn.create(this.#addr)) {
      this.#lose(conn.error ?? new NalSocketError("ERR_CONNECT", "refused"));
      return;
    }
    const plug = new DcPlug(conn, DC_PLUG_FLAG_TO_SERVER);
    this.#conn = conn;
    this.#plug = plug;
    this.#state = CONNECTING;
    this.#connectDeadline = Date.now() + this.#timeoutMs;
    this.#entry = this.#loop!.add(plug, () => this.#visit());
    this.#arm();
    // Clients turned away while down may send now.
    this.#sink!.room();
  }

  #visit(): void {
    const plug = this.#plug!;
    let alive = plug.io();
    if (this.#state === CONNECTING && this.#conn!.isEstablished()) {
      this.#state = UP;
      if (this.#lostSince >= 0) {
        this.#counts.reconnects++;
        const downMs = Date.now() - this.#lostSince;
        this.#lostSince = -1;
        this.dispatchEvent(new DcUpstreamBackEvent(downMs));
      }
    }
    let answered = false;
    for (;;) {
      const answer = plug.peek();
      if (answer === null) break;
      const sent = this.#head < this.#sent.length
        ? this.#sent[this.#head]
        : null;
      if (sent === null || sent.uid !== answer.requestUid) {
        this.#lose(
          new NalSocketError(
            "ERR_PROTOCOL",
            `the server answered request_uid ${answer.requestUid}, ${
              sent === null ? "none was asked" : `expected ${sent.uid}`
            }`,
          ),
        );
        return;
      }
      this.#shift();
      this.#bytes -= sent.bytes;
      answered = true;
      this.#sink!.answer(sent.ticket, answer.payload);
      plug.consume();
    }
    if (answered) {
      // An answer proves the server works: the next loss retries soon.
      this.#backoff.reset();
      this.#retries = 0;
      this.#sink!.room();
      if (this.#plug !== plug) return;
    }
    alive = plug.io() && alive;
    if (!alive) {
      const conn = this.#conn!;
      this.#lose(
        plug.error ?? conn.error ??
          new NalSocketError("ERR_IO", "closed by the server"),
      );
    }
  }

  #shift(): void {
    this.#head++;
    if (this.#head === this.#sent.length) {
      this.#sent.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024) {
      this.#sent = this.#sent.slice(this.#head);
      this.#head = 0;
    }
  }

  // Watches the oldest request's deadline (and a connect's) with one
  // timer, re-armed when it fires early.
  #arm(): void {
    if (this.#timer !== null || this.#loop === null) return;
    const due = this.#state === CONNECTING
      ? this.#connectDeadline
      : this.#head < this.#sent.length
      ? this.#sent[this.#head].deadline
      : -1;
    if (due < 0) return;
    this.#timer = this.#loop.after(due - Date.now(), () => {
      this.#timer = null;
      this.#expire();
    });
  }

  #expire(): void {
    if (this.#plug === null) return;
    const now = Date.now();
    if (this.#state === CONNECTING && now >= this.#connectDeadline) {
      this.#counts.timeouts++;
      this.#lose(
        new NalSocketError(
          "ERR_TIMEOUT",
          `no connection within ${this.#timeoutMs} ms`,
        ),
      );
      return;
    }
    const oldest = this.#head < this.#sent.length
      ? this.#sent[this.#head]
      : null;
    if (oldest !== null && now >= oldest.deadline) {
      this.#counts.timeouts++;
      this.#lose(
        new NalSocketError(
          "ERR_TIMEOUT",
          `no answer within ${this.#timeoutMs} ms`,
        ),
      );
      return;
    }
    this.#arm();
  }

  #drop(): void {
    this.#entry?.remove();
    this.#plug?.close();
    this.#entry = null;
    this.#plug = null;
    this.#conn = null;
    this.#state = DOWN;
  }

  // The link is gone: everything in flight is answered 2 (through the
  // sink), and a retry is scheduled.
  #lose(reason: Error): void {
    this.#drop();
    this.#timer?.cancel();
    this.#timer = null;
    const failed = this.#sent.slice(this.#head);
    this.#sent = [];
    this.#head = 0;
    this.#bytes = 0;
    if (this.#lostSince < 0) {
      this.#lostSince = Date.now();
      this.#counts.lost++;
      this.dispatchEvent(new DcUpstreamLostEvent(reason, failed.length));
    }
    const sink = this.#sink!;
    for (const sent of failed) sink.answer(sent.ticket, null);
    if (!this.#closed) {
      const delay = this.#backoff.next();
      this.#retries++;
      this.dispatchEvent(new DcUpstreamRetryEvent(this.#retries, delay));
      this.#retry = this.#loop!.after(delay, () => this.#connect());
    }
    sink.room();
  }
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new DcArgumentError(
      `invalid ${name}: ${String(value)}; must be an integer from 1`,
    );
  }
  return value;
}
