// Test helpers that speak the wire protocol by hand, over plain node:net
// sockets, so that tests check our server and proxy against bytes built
// independently of dc_enc.

import assert from "node:assert/strict";
import * as net from "node:net";

/** Operation bytes on the wire. */
export const OP = { ADD: 0, GET: 1, REMOVE: 2, HAVE: 3 } as const;

/** One frame's bytes (proto level 0x00110000 unless given). */
export function frame(
  opts: {
    uid: number;
    op: number;
    data?: Uint8Array;
    response?: boolean;
    complete?: boolean;
    protoLevel?: number;
  },
): Uint8Array {
  const data = opts.data ?? new Uint8Array(0);
  const out = new Uint8Array(14 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.protoLevel ?? 0x00110000);
  out[4] = opts.response ? 1 : 0;
  v.setUint32(5, opts.uid >>> 0);
  out[9] = 0;
  out[10] = opts.op;
  out[11] = opts.complete === false ? 0 : 1;
  v.setUint16(12, data.length);
  out.set(data, 14);
  return out;
}

/** All frames of one command (2048-byte pieces, the last marked complete). */
export function command(
  uid: number,
  op: number,
  payload: Uint8Array,
  response = false,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  do {
    const n = Math.min(2048, payload.length - off);
    const last = off + n >= payload.length;
    parts.push(
      frame({
        uid,
        op,
        data: payload.subarray(off, off + n),
        response,
        complete: last,
      }),
    );
    off += n;
  } while (off < payload.length);
  return concat(parts);
}

/** An ADD payload: timeout, id length, id, data. */
export function addPayload(
  id: Uint8Array | string,
  data: Uint8Array | string,
  timeoutMs: number,
): Uint8Array {
  const idb = bytes(id);
  const db = bytes(data);
  const out = new Uint8Array(8 + idb.length + db.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, timeoutMs);
  v.setUint32(4, idb.length);
  out.set(idb, 8);
  out.set(db, 8 + idb.length);
  return out;
}

/** UTF-8 bytes of a string, or the bytes themselves. */
export function bytes(x: Uint8Array | string): Uint8Array {
  return typeof x === "string" ? new TextEncoder().encode(x) : x;
}

/** Bytes back to back. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Hex of bytes. */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A decoded answer frame sequence: uid, op and the reassembled payload. */
export interface Answer {
  uid: number;
  op: number;
  payload: Uint8Array;
}

/** A raw client socket with exact reads and a deadline on each. */
export class RawClient {
  readonly socket: net.Socket;
  #buf: Uint8Array = new Uint8Array(0);
  #closed = false;
  #waiter: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#buf = concat([this.#buf, chunk]);
      this.#waiter?.();
    });
    socket.on("close", () => {
      this.#closed = true;
      this.#waiter?.();
    });
    socket.on("error", () => {});
  }

  /** Connects to a libnal `UNIX:` or `IP:host:port` address. */
  static connect(addr: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = addr.startsWith("UNIX:")
        ? net.createConnection({ path: addr.slice(5) })
        : net.createConnection({
          host: addr.slice(addr.indexOf(":") + 1, addr.lastIndexOf(":"))
            .replace(/^\[|\]$/g, ""),
          port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
        });
      socket.once("connect", () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Whether the peer closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.#buf.length;
  }

  /** Sends bytes (in one write). */
  send(data: Uint8Array): boolean {
    return this.socket.write(data);
  }

  /** Reads exactly `n` bytes, or throws when the peer closes or time runs out. */
  async read(n: number, timeoutMs = 5000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buf.length < n) {
      if (this.#closed) {
        throw new Error(`peer closed after ${this.#buf.length} of ${n} bytes`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out with ${this.#buf.length} of ${n} bytes`);
      }
      await this.#wait(left);
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Reads one whole answer (all its frames). */
  async answer(timeoutMs = 5000): Promise<Answer> {
    const parts: Uint8Array[] = [];
    let uid = 0;
    let op = 0;
    for (;;) {
      const head = await this.read(14, timeoutMs);
      const v = new DataView(head.buffer, head.byteOffset);
      uid = v.getUint32(5);
      op = head[10];
      parts.push(await this.read(v.getUint16(12), timeoutMs));
      if (head[11] === 1) break;
    }
    return { uid, op, payload: concat(parts) };
  }

  /** Resolves true once the peer closed, false if still open at the deadline. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this.#wait(left);
    }
    return true;
  }

  /** Closes our side. */
  close(): void {
    this.socket.destroy();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve();
      }, ms);
      this.#waiter = () => {
        clearTimeout(timer);
        this.#waiter = null;
        resolve();
      };
    });
  }
}

/**
 * Sends `n` ADDs, each followed by a GET of its id, in one write, and
 * checks that every answer comes back right and in request order.
 */
export async function addsAndGetsInOrder(
  c: RawClient,
  n: number,
  prefix: string,
): Promise<void> {
  const reqs: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    reqs.push(
      command(i, OP.ADD, addPayload(`${prefix}${i}`, `value-${i}`, 60_000)),
    );
    reqs.push(command(100_000 + i, OP.GET, bytes(`${prefix}${i}`)));
  }
  c.send(concat(reqs));
  const td = new TextDecoder();
  for (let i = 0; i < n; i++) {
    const add = await c.answer();
    assert.equal(add.uid, i);
    assert.deepEqual(add.payload, Uint8Array.of(0));
    const get = await c.answer();
    assert.equal(get.uid, 100_000 + i);
    assert.equal(td.decode(get.payload), `value-${i}`);
  }
}

/** Sends one command and returns its answer's payload (uid and op checked). */
export async function ask(
  c: RawClient,
  uid: number,
  op: number,
  payload: Uint8Array,
): Promise<Uint8Array> {
  c.send(command(uid, op, payload));
  const ans = await c.answer();
  assert.equal(ans.uid, uid, "request_uid echoed");
  assert.equal(ans.op, op, "operation echoed");
  return ans.payload;
}

/** Whether a HAVE sent on `c` gets its answer (false on close or timeout). */
export async function haveAnswered(
  c: RawClient,
  uid: number,
): Promise<boolean> {
  c.send(command(uid, OP.HAVE, bytes("x")));
  try {
    return (await c.answer(3000)).uid === uid;
  } catch {
    return false;
  }
}

/**
 * Stores a session through `c`, then GETs it `requests` times, one at a
 * time; resolves with the visits and turns `loop` made for those GETs (the
 * work an event-driven owner did for them, which idle connections must not
 * add to).
 */
export async function visitsForGets(
  loop: { idle(): Promise<void>; stats(): { visits: number; turns: number } },
  c: RawClient,
  requests: number,
): Promise<{ visits: number; turns: number }> {
  c.send(command(1, OP.ADD, addPayload("s", "session data", 60_000)));
  assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
  await loop.idle();
  const before = loop.stats();
  for (let i = 0; i < requests; i++) {
    c.send(command(10 + i, OP.GET, bytes("s")));
    const ans = await c.answer();
    assert.equal(ans.uid, 10 + i);
    assert.equal(new TextDecoder().decode(ans.payload), "session data");
  }
  await loop.idle();
  const after = loop.stats();
  return {
    visits: after.visits - before.visits,
    turns: after.turns - before.turns,
  };
}
