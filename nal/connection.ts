/**
 * NAL_CONNECTION: a non-blocking connection with a read buffer and a send
 * buffer. Bytes move between the socket and the buffers only in
 * {@linkcode NalConnection.prototype.io}.
 *
 * @module
 */

import type { NalAddress } from "./address.ts";
import { NalBuffer } from "./buffer.ts";
import { NalSocketError } from "./errors.ts";
import { connectMemoryPair } from "./memory_pair.ts";
import { defaultAdapter } from "./runtime/mod.ts";
import type { RuntimeAdapter } from "./runtime/types.ts";
import type { NalSelector } from "./selector.ts";
import { Transport } from "./transport.ts";

/** Options for {@linkcode NalConnection}. */
export interface NalConnectionOptions {
  /** Socket adapter to connect with. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
}

// Transports by connection, for the selector and the listener: they are
// nal's own business, not part of the public class.
const transports = new WeakMap<NalConnection, Transport>();

/** The transport behind a connection (nal-internal). */
export function transportOf(conn: NalConnection): Transport | undefined {
  return transports.get(conn);
}

/** Gives an idle connection a transport and buffers (nal-internal). */
export function attachTransport(
  conn: NalConnection,
  transport: Transport,
  bufferSize: number,
): void {
  conn.setSize(bufferSize);
  transports.set(conn, transport);
}

/**
 * A connection (the seed's `NAL_CONNECTION`).
 *
 * @example Connect, queue a request, move bytes when the selector says so
 * ```ts
 * import { NalAddress, NalConnection, NalSelector } from "@distcache/distcache/nal";
 *
 * const conn = new NalConnection();
 * if (conn.create(NalAddress.parse("UNIX:/tmp/dcserver"))) {
 *   conn.getSend().write(new TextEncoder().encode("hello"));
 *   const sel = new NalSelector();
 *   sel.addConn(conn);
 *   await sel.select(100_000);
 *   if (!conn.io(sel)) console.error("connection failed:", conn.error?.message);
 *   conn.close();
 * }
 * ```
 */
export class NalConnection {
  readonly #adapter: RuntimeAdapter;
  #read: NalBuffer = new NalBuffer();
  #send: NalBuffer = new NalBuffer();
  #dummy = false;
  #error: NalSocketError | null = null;
  // The transport that ended the connection: its error is built only when
  // asked for, since a peer closing is routine (one connection per
  // operation) and an Error's stack trace is not free.
  #endedBy: Transport | null = null;

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
   * @param options Which socket adapter to use.
   */
  constructor(options: NalConnectionOptions = {}) {
    this.#adapter = options.adapter ?? defaultAdapter();
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
    const transport = new Transport(addr.bufferSize(), String(addr));
    this.error = null;
    attachTransport(this, transport, addr.bufferSize());
    this.#adapter.connect(addr.target(), transport);
    return true;
  }

  /**
   * Whether the connection is established (connect completed, or accepted).
   * A connect in progress reports `false` until it completes.
   */
  isEstablished(): boolean {
    if (this.#dummy) return true;
    return transports.get(this)?.established ?? false;
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
   * send buffer out to the socket (when the socket can take it).
   *
   * @param sel The selector of the last select (the data movement does not
   *   depend on it: bytes already arrived are taken whatever it says).
   * @returns `false` when the connection is dead (refused, reset, closed by
   *   the peer once all it sent has been read).
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
    const t = transports.get(this);
    if (t === undefined) return false;
    if (t.pending > 0 && maxRead > 0) t.readInto(this.#read, maxRead);
    if (t.open && t.writable && this.#send.notEmpty() && maxSend > 0) {
      const data = this.#send.readPtr();
      const n = Math.min(data.length, maxSend);
      t.write(n === data.length ? data : data.subarray(0, n));
      this.#send.takeData(null, n);
    }
    if (t.closed && (t.pending === 0 || t.error !== null)) {
      if (this.#error === null && this.#endedBy === null) this.#endedBy = t;
      return false;
    }
    return true;
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

  /** Closes the socket; the connection becomes idle and reusable. */
  close(): void {
    transports.get(this)?.close();
    transports.delete(this);
    this.#dummy = false;
    this.#read = new NalBuffer();
    this.#send = new NalBuffer();
  }

  /** Same as {@linkcode NalConnection.prototype.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #active(): boolean {
    return this.#dummy || transports.has(this);
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
