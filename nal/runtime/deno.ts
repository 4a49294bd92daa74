/**
 * The Deno adapter: `Deno.connect` / `Deno.listen`, TCP and UNIX;
 * `Deno.listenTls` for a TLS listener. Two TLS cases go through `node:tls`
 * (Deno's own Node compatibility) instead, because Deno's own API cannot
 * do them: a listener that verifies client certificates (`Deno.listenTls`
 * asks for none), and connecting (`Deno.connectTls` and `Deno.startTls`
 * trust a CA given only in addition to the root store, where a CA given
 * must be the only one trusted).
 *
 * Deno's sockets are pull-based (`read()` / `write()` promises): a read loop
 * feeds the sink and parks while paused, and one write is in flight at a
 * time so that partial writes never interleave (bytes queued meanwhile leave
 * together in the next write).
 *
 * @module
 */

import { clearTimeout, setTimeout } from "node:timers";
import { formatPeer } from "./peer.ts";
import {
  type ListenHooks,
  type RuntimeAdapter,
  type RuntimeListener,
  type RuntimeSocket,
  SOCKET_LINGER_MS,
  type SocketSink,
  type SocketTarget,
  type TlsConnectOptions,
  type TlsListenOptions,
} from "./types.ts";

// The few members of Deno's socket API this adapter uses, declared here
// (types only: the code still reaches the global \`Deno\`) so that the file
// compiles with tsc for npm without Deno's type package.
declare namespace Deno {
  interface Conn {
    readonly remoteAddr:
      | { transport: "tcp"; hostname: string; port: number }
      | { transport: "unix"; path: string };
    read(p: Uint8Array): Promise<number | null>;
    write(p: Uint8Array): Promise<number>;
    closeWrite(): Promise<void>;
    close(): void;
  }
  interface TcpConn extends Conn {
    setNoDelay(noDelay?: boolean): void;
  }
  interface Listener {
    readonly addr:
      | { transport: "tcp"; hostname: string; port: number }
      | { transport: "unix"; path: string };
    accept(): Promise<Conn>;
    close(): void;
  }
  type Endpoint =
    | { transport: "unix"; path: string }
    | { transport: "tcp"; hostname: string; port: number };
  function connect(options: Endpoint): Promise<Conn>;
  function listen(options: Endpoint): Listener;
  function listenTls(
    options: { hostname: string; port: number; cert: string; key: string },
  ): Listener;
}

// An idle connection waits in read() with a small array; only a read that
// fills it (more is waiting) takes a large one, given back after the first
// read that does not fill that. So an idle connection holds 4 KiB, not 64,
// and a busy one still reads 64 KiB at a time.
const SMALL_READ = 4096;
const READ_CHUNK = 65536;
// Arrays reused rather than allocated per read or per write: a fresh
// ArrayBuffer per operation costs Deno an allocation, zeroing and GC
// bookkeeping that weighed more than the I/O itself. A read lends its
// array to the sink until the sink gives it back (release()); a write
// copies into an array of the socket's own, given back once written.
const spareSmall: ArrayBuffer[] = [];
const spareLarge: ArrayBuffer[] = [];
const MAX_SPARE_SMALL = 256;
const MAX_SPARE_LARGE = 64;
// Bytes queued or in flight past which write() reports backpressure.
const WRITE_HIGH_WATER = 65536;
// Waits between failed accepts (EMFILE...): doubled up to the most.
const ACCEPT_BACKOFF_MIN_MS = 10;
const ACCEPT_BACKOFF_MAX_MS = 1000;

function take(size: number): Uint8Array {
  const spare = size === SMALL_READ ? spareSmall : spareLarge;
  const buffer = spare.pop();
  return buffer === undefined ? new Uint8Array(size) : new Uint8Array(buffer);
}

function giveBack(buffer: ArrayBufferLike): void {
  if (buffer.byteLength === SMALL_READ) {
    if (spareSmall.length < MAX_SPARE_SMALL) {
      spareSmall.push(buffer as ArrayBuffer);
    }
  } else if (buffer.byteLength === READ_CHUNK) {
    if (spareLarge.length < MAX_SPARE_LARGE) {
      spareLarge.push(buffer as ArrayBuffer);
    }
  }
}

// An array for `size` bytes to write: a pooled one of the smallest class
// that holds them. Answers are mostly small: a 64 KiB array for each would
// take a connection's worth of the large pool per write in flight, and
// with more writes in flight than it holds (64 connections, each with a
// write in flight and more queued) every write allocated and zeroed one.
function takeFor(size: number): Uint8Array {
  return size <= SMALL_READ
    ? take(SMALL_READ)
    : size <= READ_CHUNK
    ? take(READ_CHUNK)
    : new Uint8Array(size);
}

// Bytes waiting to be written: one array, taken when the first byte comes
// and given back once all are out.
class OutBuffer {
  data: Uint8Array;
  len = 0;
  constructor(size: number) {
    this.data = takeFor(size);
  }
  append(src: Uint8Array): void {
    const need = this.len + src.length;
    if (need > this.data.length) {
      let size = this.data.length * 2;
      while (size < need) size *= 2;
      const next = takeFor(size);
      next.set(this.data.subarray(0, this.len));
      giveBack(this.data.buffer);
      this.data = next;
    }
    this.data.set(src, this.len);
    this.len = need;
  }
}

class DenoSocket implements RuntimeSocket {
  readonly #sink: SocketSink;
  #conn: Deno.Conn | null = null;
  #closed = false;
  #paused = false;
  #wakeReader: (() => void) | null = null;
  // Bytes queued behind the write in flight, and the write in flight.
  #queued: OutBuffer | null = null;
  #inFlight: OutBuffer | null = null;
  #written = 0;
  #wantDrain = false;
  // close() or end() asked while bytes were queued: done once they are out.
  #closeAfterFlush = false;
  #ending = false;
  #released = false;
  readonly #onWritten = (n: number): void => this.#wrote(n);
  readonly #onWriteError = (err: Error): void => {
    this.#inFlight = null;
    this.#finish(err);
  };

  constructor(sink: SocketSink) {
    this.#sink = sink;
  }

  async start(connecting: Promise<Deno.Conn>, tcp: boolean): Promise<void> {
    let conn: Deno.Conn;
    try {
      conn = await connecting;
    } catch (err) {
      this.#closed = true;
      this.#sink.onClose(err as Error);
      return;
    }
    this.#conn = conn;
    if (this.#closed) {
      this.#release();
      return;
    }
    // (A TLS connection has no setNoDelay: Deno sets none on it.)
    if (tcp && "setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    this.#sink.onOpen();
    if (this.#queued !== null) this.#flush();
    this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn!;
    let size = SMALL_READ;
    let error: Error | undefined;
    let ended = false;
    try {
      while (!this.#closed) {
        if (this.#paused) {
          await new Promise<void>((resolve) => this.#wakeReader = resolve);
          continue;
        }
        const buf = take(size);
        const n = await conn.read(buf);
        if (n === null) {
          giveBack(buf.buffer);
          ended = true;
          break;
        }
        // The sink holds the bytes until it has moved them on, then gives
        // the array back (release()).
        if (n === 0 || this.#closed) giveBack(buf.buffer);
        else {
          this.#sink.onData(
            n === buf.length ? buf : new Uint8Array(buf.buffer, 0, n),
          );
        }
        size = n === buf.length ? READ_CHUNK : SMALL_READ;
      }
    } catch (err) {
      error = err as Error;
    }
    // The peer's end of stream ends reading only: what we still send
    // (answers to what it asked before) goes out until close().
    if (ended && !this.#closed) this.#sink.onEnd();
    else if (!this.#closed || error !== undefined) this.#finish(error);
  }

  release(chunk: Uint8Array): void {
    giveBack(chunk.buffer);
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false;
    (this.#queued ??= new OutBuffer(data.length)).append(data);
    if (this.#conn !== null && this.#inFlight === null) this.#flush();
    const pending = (this.#queued?.len ?? 0) +
      (this.#inFlight === null ? 0 : this.#inFlight.len - this.#written);
    if (pending < WRITE_HIGH_WATER) return true;
    this.#wantDrain = true;
    return false;
  }

  // Starts writing what is queued; one write in flight at a time, so that
  // partial writes never interleave.
  #flush(): void {
    const out = this.#queued!;
    this.#queued = null;
    this.#inFlight = out;
    this.#written = 0;
    this.#conn!.write(new Uint8Array(out.data.buffer, 0, out.len)).then(
      this.#onWritten,
      this.#onWriteError,
    );
  }

  #wrote(n: number): void {
    const out = this.#inFlight!;
    this.#written += n;
    if (this.#written < out.len) {
      if (this.#closed && !this.#closeAfterFlush) return;
      this.#conn!.write(
        new Uint8Array(out.data.buffer, this.#written, out.len - this.#written),
      ).then(this.#onWritten, this.#onWriteError);
      return;
    }
    this.#inFlight = null;
    giveBack(out.data.buffer);
    if (this.#queued !== null && (!this.#closed || this.#closeAfterFlush)) {
      this.#flush();
      return;
    }
    if (this.#closeAfterFlush) {
      this.#release();
      return;
    }
    if (this.#ending) this.#shutdown();
    if (this.#wantDrain && !this.#closed) {
      this.#wantDrain = false;
      this.#sink.onDrain();
    }
  }

  pause(): void {
    this.#paused = true;
  }

  peerAddress(): string {
    const addr = this.#conn?.remoteAddr;
    if (addr === undefined) return "";
    return addr.transport === "unix"
      ? formatPeer(null, null, addr.path)
      : formatPeer(addr.hostname, addr.port);
  }

  resume(): void {
    this.#paused = false;
    this.#wakeReader?.();
    this.#wakeReader = null;
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    if (this.#inFlight === null && this.#queued === null) this.#shutdown();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeReader?.();
    if (
      this.#conn !== null && (this.#inFlight !== null || this.#queued !== null)
    ) {
      // Let the bytes already written go out first, as close(2) would.
      this.#closeAfterFlush = true;
      setTimeout(() => this.#release(), SOCKET_LINGER_MS).unref();
      return;
    }
    this.#release();
  }

  #shutdown(): void {
    this.#conn?.closeWrite().catch(() => {
      // The peer is gone already: close() or a read reports it.
    });
  }

  #release(): void {
    if (this.#released || this.#conn === null) return;
    this.#released = true;
    this.#queued = null;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer: nothing left to release.
    }
  }

  #finish(error?: Error): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#closeAfterFlush = false;
    this.#wakeReader?.();
    this.#release();
    // After our own close() the owner already knows; report only the peer's.
    if (!wasClosed) this.#sink.onClose(error);
  }
}

// node:tls, for what Deno's own TLS cannot do; loaded on first use.
function nodeTls(): Promise<RuntimeAdapter> {
  return import("./node.ts").then((m) => m.nodeAdapter);
}

// Whether an accepted peer may stay; one that may not is closed (before
// any TLS handshake).
function admitted(conn: Deno.Conn, admit: (address: string) => boolean) {
  const addr = conn.remoteAddr;
  if (addr.transport !== "tcp" || admit(addr.hostname)) return true;
  try {
    conn.close();
  } catch {
    // Gone already.
  }
  return false;
}

function denoConnect(target: SocketTarget): Promise<Deno.Conn> {
  return target.kind === "unix"
    ? Deno.connect({ transport: "unix", path: target.path })
    : Deno.connect({
      transport: "tcp",
      hostname: target.host,
      port: target.port,
    });
}

/**
 * Sockets through `Deno.connect` / `Deno.listen`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoAdapter, NalAddress, NalListener } from "@distcache/distcache/nal";
 *
 * if ("Deno" in globalThis) { // under Deno only
 *   const list = new NalListener({ adapter: denoAdapter });
 *   assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 *   list.close();
 * }
 * assert.equal(denoAdapter.name, "deno");
 * ```
 */
export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  backsOffAccept: true,
  connect(
    target: SocketTarget,
    sink: SocketSink,
    tls?: TlsConnectOptions,
  ): void {
    if (tls !== undefined && target.kind === "tcp") {
      nodeTls().then(
        (node) => node.connect(target, sink, tls),
        (err: Error) => sink.onClose(err),
      );
      return;
    }
    const socket = new DenoSocket(sink);
    sink.attach(socket);
    // Deno.connect may throw synchronously (e.g. permissions): report it as
    // a failed connect, like any other.
    let connecting: Promise<Deno.Conn>;
    try {
      connecting = denoConnect(target);
    } catch (err) {
      connecting = Promise.reject(err);
    }
    socket.start(connecting, target.kind === "tcp");
  },
  listen(
    target: SocketTarget,
    onAccept: () => SocketSink,
    hooks: ListenHooks = {},
    tls?: TlsListenOptions,
  ): Promise<RuntimeListener> {
    if (tls?.ca !== undefined && target.kind === "tcp") {
      return nodeTls().then((node) =>
        node.listen(target, onAccept, hooks, tls)
      );
    }
    const listener: Deno.Listener = target.kind === "unix"
      ? Deno.listen({ transport: "unix", path: target.path })
      : tls !== undefined
      ? Deno.listenTls({
        hostname: target.host,
        port: target.port,
        cert: tls.cert,
        key: tls.key,
      })
      : Deno.listen({
        transport: "tcp",
        hostname: target.host,
        port: target.port,
      });
    const admit = target.kind === "tcp" ? hooks.admit : undefined;
    let closed = false;
    let wakeBackoff: (() => void) | null = null;
    const loop = (async () => {
      let backoff = 0;
      while (!closed) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
          backoff = 0;
        } catch (err) {
          // accept() fails once the listener is closed. Any other failure
          // (EMFILE: out of descriptors) must neither end a live listener
          // nor be retried at once, which would spin: the connections
          // wait in the kernel's backlog meanwhile.
          if (closed) return;
          hooks.onAcceptError?.(err as Error);
          backoff = Math.min(
            Math.max(backoff * 2, ACCEPT_BACKOFF_MIN_MS),
            ACCEPT_BACKOFF_MAX_MS,
          );
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, backoff);
            wakeBackoff = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wakeBackoff = null;
          continue;
        }
        if (admit !== undefined && !admitted(conn, admit)) continue;
        const sink = onAccept();
        const socket = new DenoSocket(sink);
        sink.attach(socket);
        socket.start(Promise.resolve(conn), target.kind === "tcp");
      }
    })();
    const addr = listener.addr;
    const bound: SocketTarget =
      target.kind === "tcp" && addr.transport === "tcp"
        ? { ...target, port: addr.port }
        : target;
    return Promise.resolve({
      target: bound,
      close: async () => {
        if (!closed) {
          closed = true;
          listener.close();
          (wakeBackoff as (() => void) | null)?.();
        }
        // Deno unlinks a UNIX socket path when the cancelled accept lets the
        // listener go: wait for that, so a server restarted on the same path
        // does not lose its new socket file to it.
        await loop;
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
    });
  },
};
