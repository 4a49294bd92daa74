/**
 * NAL_CONNECTION: a non-blocking connection with a read buffer and a send
 * buffer. Bytes move between the socket and the buffers only in
 * {@linkcode NalConnection.prototype.io}.
 *
 * @module
 */

import type { NalAddress } from "./address.ts";
import { NalBuffer, recycleBuffer } from "./buffer.ts";
import { NalSocketError } from "./errors.ts";
import { connectMemoryPair } from "./memory_pair.ts";
import { defaultAdapter } from "./runtime/mod.ts";
import type { RuntimeAdapter, TlsConnectOptions } from "./runtime/types.ts";
import type { NalSelector } from "./selector.ts";
import { type NalTlsConnectOptions, tlsConnectConfig } from "./tls_options.ts";
import { NAL_SELECT_FLAG_RW, Transport } from "./transport.ts";

/** Options for {@linkcode NalConnection}. */
export interface NalConnectionOptions {
  /** Socket adapter to connect with. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /**
   * Connect to a TCP address over TLS (1.2 or 1.3, the runtime's own),
   * verifying the server's certificate: the connection is established
   * only once the handshake is done, and a certificate that does not
   * verify fails it (`io()` turns false, `error` says why). Refused for a
   * UNIX address. @default {plain TCP}
   */
  tls?: NalTlsConnectOptions;
}

// A connection's transport is a private field, reached by the selector
// and the listener through these two functions (nal's own business, not
// part of the public class). A field, not a WeakMap: io() and hasWork()
// look it up on every request.
let getTransport: (conn: NalConnection) => Transport | undefined;
let setTransport: (conn: NalConnection, t: Transport | undefined) => void;

/** The transport behind a connection (nal-internal). */
export function transportOf(conn: NalConnection): Transport | undefined {
  return getTransport(conn);
}

/** Gives an idle connection a transport and buffers (nal-internal). */
export function attachTransport(
  conn: NalConnection,
  transport: Transport,
  bufferSize: number,
): void {
  conn.setSize(bufferSize);
  setTransport(conn, transport);
}

/**
 * A connection (the C API's `NAL_CONNECTION`).
 *
 * @example Connect, queue a request, move bytes when the selector says so
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalConnection, NalListener, NalSelector } from "@distcache/distcache/nal";
 *
 * const list = new NalListener();
 * assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 * const conn = new NalConnection();
 * assert.ok(conn.create(NalAddress.parse(list.address())));
 * conn.getSend().write(new TextEncoder().encode("hello"));
 * const sel = new NalSelector();
 * sel.addConn(conn);
 * await sel.select(100_000);
 * assert.ok(conn.io(sel), conn.error?.message); // false once the connection failed
 * conn.close();
 * list.close();
 * ```
 */
export class NalConnection {
  readonly #adapter: RuntimeAdapter;
  readonly #tls: TlsConnectOptions | undefined;
  #read: NalBuffer = new NalBuffer();
  #send: NalBuffer = new NalBuffer();
  #dummy = false;
  #error: NalSocketError | null = null;
  // The transport that ended the connection: its error is built only when
  // asked for, since a peer closing is routine (one connection per
  // operation) and an Error's stack trace is not free.
  #endedBy: Transport | null = null;
  // end() was asked: shut the sending side once the send buffer is out.
  #ending = false;
  #transport: Transport | undefined = undefined;

  static {
    getTransport = (conn) => conn.#transport;
    setTransport = (conn, t) => conn.#transport = t;
  }

  /** Why the connection failed or closed, once it has. */
  get error(): NalSocketError | null {
    if (this.#error === null && this.#endedBy !== null) {
      this.#error = closeError(this.#endedBy);
      this.#endedBy = null;
    }
    return this.#error;
  }

  set error(error: NalSocketError | null) {
    this.#error = error;
    this.#endedBy = null;
  }

  /**
   * Makes an idle connection: give it life with `create`, `createDummy`,
   * `createPair` or a listener's `accept`.
   *
   * @param options Which socket adapter to use, TLS.
   * @throws {NalOptionError} for bad TLS options (naming the option).
   */
  constructor(options: NalConnectionOptions = {}) {
    this.#adapter = options.adapter ?? defaultAdapter();
    this.#tls = options.tls === undefined
      ? undefined
      : tlsConnectConfig(options.tls);
  }

  /**
   * Starts connecting to `addr` and returns at once (non-blocking): whether
   * the connect succeeded is learnt from `isEstablished()` or from `io()`
   * turning false.
   *
   * @param addr An address that can connect.
   * @returns `false` when the connection is already in use or the address
   *   cannot connect ({@linkcode NalConnection.prototype.error} says why).
   */
  create(addr: NalAddress): boolean {
    if (this.#active()) {
      this.error = new NalSocketError(
        "ERR_CONNECT",
        "connection already in use",
      );
      return false;
    }
    if (!addr.canConnect()) {
      this.error = new NalSocketError(
        "ERR_CONNECT",
        `cannot connect to "${addr}": a listen-only address`,
      );
      return false;
    }
    const target = addr.target();
    if (this.#tls !== undefined && target.kind !== "tcp") {
      this.error = new NalSocketError(
        "ERR_CONNECT",
        `cannot connect to "${addr}" over TLS: TLS is for TCP addresses (IP:, IPv4:, IPv6:)`,
      );
      return false;
    }
    const transport = new Transport(addr.bufferSize(), String(addr));
    this.error = null;
    attachTransport(this, transport, addr.bufferSize());
    this.#adapter.connect(target, transport, this.#tls);
    return true;
  }

  /**
   * Whether the connection is established (connect completed, or accepted).
   * A connect in progress reports `false` until it completes.
   */
  isEstablished(): boolean {
    if (this.#dummy) return true;
    return this.#transport?.established ?? false;
  }

  /** The read buffer: data that arrived, for the application to consume. */
  getRead(): NalBuffer {
    return this.#read;
  }

  /** The send buffer: data the application queued, sent by `io()`. */
  getSend(): NalBuffer {
    return this.#send;
  }

  /**
   * Moves data: arrived bytes into the read buffer (as room allows), and the
   * send buffer out to the socket (when the socket can take it). It is also
   * where the owner takes note of events: a watcher is told of each event
   * once, until the next io().
   *
   * When the peer ends its stream (shuts down its sending side, or closes),
   * the connection stays alive for what is left to do: io() returns
   * `false` only once every byte it sent has been taken out of the read
   * buffer and everything queued here has been handed to the socket. An
   * owner that still queues an answer after that may call io() again to
   * send it.
   *
   * @param sel The selector of the last select (the data movement does not
   *   depend on it: bytes already arrived are taken whatever it says).
   * @returns `false` when the connection is dead (refused, reset, closed),
   *   or its peer ended and nothing is left to read or to send.
   */
  io(sel?: NalSelector | null): boolean {
    return this.ioCap(sel, Infinity, Infinity);
  }

  /**
   * As {@linkcode NalConnection.prototype.io}, moving at most `maxRead`
   * bytes in and `maxSend` bytes out.
   *
   * @param _sel The selector of the last select.
   * @param maxRead Most bytes to move into the read buffer.
   * @param maxSend Most bytes to send.
   * @returns `false` when the connection is dead.
   */
  ioCap(
    _sel: NalSelector | null | undefined,
    maxRead: number,
    maxSend: number,
  ): boolean {
    if (this.#dummy) return true;
    const t = this.#transport;
    if (t === undefined) return false;
    t.news = 0;
    if (t.pending > 0 && maxRead > 0) t.readInto(this.#read, maxRead);
    const send = this.#send;
    if (t.open && t.writable && send.notEmpty() && maxSend > 0) {
      const data = send.readPtr();
      const n = Math.min(data.length, maxSend);
      t.write(n === data.length ? data : data.subarray(0, n));
      send.takeData(null, n);
    }
    if (this.#ending && send.empty()) t.end();
    if (
      t.closed ? t.pending === 0 || t.error !== null : t.ended &&
        t.pending === 0 && this.#read.empty() && send.empty()
    ) {
      if (this.#error === null && this.#endedBy === null) this.#endedBy = t;
      return false;
    }
    return true;
  }

  /**
   * Whether the connection has work for its owner: an event it has not
   * seen in {@linkcode NalConnection.prototype.io} yet (the connect
   * completed, the peer ended its stream, the socket closed), arrived
   * bytes that can move into the read buffer (with READ in `flags`), or
   * queued bytes the socket can take now (with SEND). This is the rule a
   * selector applies, except that a selector reports a closed or ended
   * connection on every select, as select(2) reports end of file.
   *
   * @example After an owner's io(), a quiet connection has no work
   * ```ts
   * import assert from "node:assert/strict";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const [a, b] = [new NalConnection(), new NalConnection()];
   * NalConnection.createPair(a, b, 4096);
   * await new Promise((r) => setTimeout(r, 0)); // both ends open
   * assert.equal(a.hasWork(), true); // the open is news
   * a.io();
   * assert.equal(a.hasWork(), false);
   * a.getSend().write(new Uint8Array([1]));
   * assert.equal(a.hasWork(), true); // bytes the socket can take
   * a.close();
   * b.close();
   * ```
   *
   * @param flags `NAL_SELECT_FLAG_READ`, `NAL_SELECT_FLAG_SEND` or both.
   *   @default {NAL_SELECT_FLAG_RW}
   */
  hasWork(flags: number = NAL_SELECT_FLAG_RW): boolean {
    const t = this.#transport;
    return t !== undefined && t.hasWork(this.#read, this.#send, flags, false);
  }

  /**
   * Calls `onNews` whenever something happens on the connection (bytes
   * arrived, the socket drained, the peer ended or closed, the connect
   * completed), so that an event-driven owner needs no selector. The call
   * comes from the runtime's event, not from inside io(); it should only
   * schedule a visit, in which the owner calls io() and then asks
   * {@linkcode NalConnection.prototype.hasWork} whether to come back. One
   * watcher at a time: a later watch(), or a select() on the connection,
   * takes its place.
   *
   * @example Be told when bytes arrive
   * ```ts
   * import assert from "node:assert/strict";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const [a, b] = [new NalConnection(), new NalConnection()];
   * NalConnection.createPair(a, b, 4096);
   * const told = new Promise<void>((resolve) => b.watch(resolve));
   * await new Promise((r) => setTimeout(r, 0)); // both ends open
   * a.getSend().write(new Uint8Array([7]));
   * a.io();
   * await told;
   * b.io();
   * assert.deepEqual(b.getRead().readPtr(), new Uint8Array([7]));
   * a.close();
   * b.close();
   * ```
   *
   * @param onNews Called on each event; `null` stops watching.
   * @returns `false` for a connection that has no socket.
   */
  watch(onNews: (() => void) | null): boolean {
    const t = this.#transport;
    if (t === undefined) return false;
    t.waker = onNews === null ? null : { wake: onNews };
    return true;
  }

  /**
   * Whether the peer ended its stream (shut down its sending side, or
   * closed) while the socket is still open: nothing arrives beyond the
   * bytes already received, but sending still works (unless the peer is
   * gone altogether, which the next send finds out), which is how a
   * request sent before a half-close still gets its answer.
   */
  peerEnded(): boolean {
    const t = this.#transport;
    return t !== undefined && t.ended && !t.closed;
  }

  /**
   * The peer's address in libnal syntax (`IP:1.2.3.4:5678`, `IPv6:[::1]:5678`,
   * `UNIX:/path` for a named UNIX peer), or `""` when there is none to
   * tell: what a server names in its logs.
   */
  peerAddress(): string {
    return this.#transport?.socket?.peerAddress() ?? "";
  }

  /**
   * Shuts down our sending side once the send buffer is out (the peer sees
   * end of stream, a half-close); reading goes on. Further bytes queued
   * are not sent.
   */
  end(): void {
    const t = this.#transport;
    if (t === undefined || this.#dummy) return;
    this.#ending = true;
    if (this.#send.empty()) t.end();
  }

  /**
   * Makes two connections that are each other's peer (no address needed):
   * what one sends, the other reads. JavaScript has no socketpair(); the
   * pair lives in this process.
   *
   * @param c1 First idle connection.
   * @param c2 Second idle connection.
   * @param size Buffer size of both.
   * @returns `false` when either connection is in use or the size is bad.
   */
  static createPair(
    c1: NalConnection,
    c2: NalConnection,
    size: number,
  ): boolean {
    if (c1 === c2 || c1.#active() || c2.#active()) return false;
    if (!Number.isInteger(size) || size < 1) return false;
    const t1 = new Transport(size, "pair");
    const t2 = new Transport(size, "pair");
    attachTransport(c1, t1, size);
    attachTransport(c2, t2, size);
    connectMemoryPair(t1, t2);
    return true;
  }

  /**
   * Makes this an echo connection whose read and send buffers are one and
   * the same: what is written can be read back.
   *
   * @param size Buffer size.
   * @returns `false` when the connection is in use or the size is bad.
   */
  createDummy(size: number): boolean {
    if (this.#active() || !Number.isInteger(size) || size < 1) return false;
    this.#read = new NalBuffer(size);
    this.#send = this.#read;
    this.#dummy = true;
    return true;
  }

  /**
   * Resizes both buffers (data beyond a smaller size is cropped).
   *
   * @param size New size of the read and send buffers.
   * @returns `false` for a bad size.
   */
  setSize(size: number): boolean {
    if (!Number.isInteger(size) || size < 1) return false;
    if (!this.#read.setSize(size)) return false;
    return this.#send === this.#read || this.#send.setSize(size);
  }

  /**
   * Closes the socket; the connection becomes idle and reusable. Bytes
   * already handed to the socket by io() are still delivered (as close(2)
   * leaves them to the kernel); the send buffer's are dropped.
   */
  close(): void {
    this.#transport?.close();
    this.#transport = undefined;
    this.#dummy = false;
    this.#ending = false;
    // Their arrays go to the next connections (a caller still holding
    // these buffers finds them empty).
    recycleBuffer(this.#read);
    if (this.#send !== this.#read) recycleBuffer(this.#send);
    this.#read = new NalBuffer();
    this.#send = new NalBuffer();
  }

  /** Same as {@linkcode NalConnection.prototype.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #active(): boolean {
    return this.#dummy || this.#transport !== undefined;
  }
}

function closeError(t: Transport): NalSocketError {
  if (t.error !== null) {
    const code = t.established ? "ERR_IO" : "ERR_CONNECT";
    const what = t.established ? "connection to" : "cannot connect to";
    return new NalSocketError(code, `${what} "${t.name}": ${t.error.message}`, {
      cause: t.error,
    });
  }
  return new NalSocketError(
    "ERR_IO",
    `connection "${t.name}" closed by the peer`,
  );
}
