// Helpers for the libnal tests: a select loop with a deadline, a connected
// (client, accepted) couple over a real listener, and reproducible payloads.

import {
  NalAddress,
  NalConnection,
  NalListener,
  NalSelector,
  type RuntimeAdapter,
} from "../../nal/mod.ts";
import { listenAddress, type Transport } from "../_servers.ts";

/**
 * Runs `io()` on every connection and `step()` until `done()` holds, waiting
 * on a selector in between; throws when `ms` milliseconds pass first.
 */
export async function pump(
  conns: readonly NalConnection[],
  done: () => boolean,
  step: () => void = () => {},
  ms = 5000,
): Promise<void> {
  const sel = new NalSelector();
  const deadline = Date.now() + ms;
  for (;;) {
    for (const c of conns) c.io(sel);
    step();
    if (done()) return;
    if (Date.now() > deadline) {
      throw new Error(`condition not reached within ${ms} ms`);
    }
    for (const c of conns) sel.addConn(c);
    await sel.select(20_000);
  }
}

/**
 * Selects on `conns` with `flags` until a select reports an event; throws
 * when `ms` milliseconds pass first. No io() is done meanwhile.
 */
export async function nextEvent(
  conns: readonly NalConnection[],
  flags: number,
  ms = 5000,
): Promise<number> {
  const sel = new NalSelector();
  const deadline = Date.now() + ms;
  for (;;) {
    for (const c of conns) sel.addConn(c, flags);
    const n = await sel.select(20_000);
    if (n > 0) return n;
    if (Date.now() > deadline) throw new Error(`no event within ${ms} ms`);
  }
}

/** A listener with one client connected to it and the accepted end. */
export interface Couple {
  list: NalListener;
  client: NalConnection;
  server: NalConnection;
  /** Closes both connections and the listener. */
  close(): Promise<void>;
}

/**
 * Listens on the transport (a socket in `dir`, or a free loopback port),
 * connects a client with `adapter` and accepts it; both ends established.
 */
export async function couple(
  adapter: RuntimeAdapter,
  transport: Transport,
  dir: string,
  bufferSize = 0,
): Promise<Couple> {
  const list = new NalListener({ adapter });
  const listenAt = NalAddress.parse(listenAddress(transport, dir), bufferSize);
  if (!(await list.create(listenAt))) throw list.error;
  const client = new NalConnection({ adapter });
  const server = new NalConnection({ adapter });
  const close = async () => {
    client.close();
    server.close();
    await list.closeAndWait();
  };
  try {
    if (!client.create(NalAddress.parse(list.address(), bufferSize))) {
      throw client.error;
    }
    if (!(await list.acceptBlock(server))) throw new Error("accept failed");
    await pump(
      [client, server],
      () => client.isEstablished() && server.isEstablished(),
    );
    // A completed connect is a selector event: consume it here, so that a
    // test's first select reports only what the test caused.
    const sel = new NalSelector();
    sel.addConn(client);
    sel.addConn(server);
    await sel.select(0);
  } catch (err) {
    await close();
    throw err;
  }
  return { list, client, server, close };
}

/** Runs `fn` on a fresh {@linkcode couple}, closed afterwards whatever happens. */
export async function withCouple(
  adapter: RuntimeAdapter,
  transport: Transport,
  dir: string,
  fn: (c: Couple) => void | Promise<void>,
  bufferSize = 0,
): Promise<void> {
  const c = await couple(adapter, transport, dir, bufferSize);
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

/**
 * `n` bytes whose value depends on their position (and on `seed`); the
 * sequence repeats only every 16 MiB, so a lost or repeated chunk shows.
 */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (i * 31 + (i >>> 8) + (i >>> 16) * 7 + seed) & 0xff;
  }
  return out;
}

/** Everything in a buffer, taken out of it. */
export function drain(conn: NalConnection): Uint8Array {
  const buf = conn.getRead();
  const out = buf.readPtr().slice();
  buf.takeData(null, out.length);
  return out;
}

export const utf8 = new TextEncoder();
export const text = new TextDecoder();

/** `promise`'s value, or a rejection once `ms` milliseconds pass first. */
export async function within<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
