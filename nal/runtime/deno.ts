/**
 * The Deno adapter: `Deno.connect` / `Deno.listen`, TCP and UNIX.
 *
 * Deno's sockets are pull-based (`read()` / `write()` promises): a read loop
 * feeds the sink and parks while paused, and one write is in flight at a
 * time so that partial writes never interleave (bytes queued meanwhile leave
 * together in the next write).
 *
 * @module
 */

import { clearTimeout, setTimeout } from "node:timers";
import { concatBytes } from "../_util.ts";
import { formatPeer } from "./peer.ts";
import {
  type ListenHooks,
  type RuntimeAdapter,
  type RuntimeListener,
  type RuntimeSocket,
  SOCKET_LINGER_MS,
  type SocketSink,
  type SocketTarget,
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
}

// An idle connection waits in read() with a small array of its own; only
// a read that fills it (more is waiting) borrows a large chunk, given back
// after the first read that does not fill that. So an idle connection
// holds 4 KiB, not 64, and a busy one still reads 64 KiB at a time.
const SMALL_READ = 4096;
const READ_CHUNK = 65536;
// Large chunks not lent out, reused: a fresh 64 KiB array per burst made
// short-lived connections spend their time zeroing memory and collecting
// it. Bytes leave a chunk by copy.
const spareChunks: Uint8Array[] = [];
const MAX_SPARE_CHUNKS = 64;
// Bytes queued or in flight past which write() reports backpressure.
const WRITE_HIGH_WATER = 65536;
// Waits between failed accepts (EMFILE...): doubled up to the most.
const ACCEPT_BACKOFF_MIN_MS = 10;
const ACCEPT_BACKOFF_MAX_MS = 1000;

class DenoSocket implements RuntimeSocket {
  readonly #sink: SocketSink;
  #conn: Deno.Conn | null = null;
  #closed = false;
  #paused = false;
  #wakeReader: (() => void) | null = null;
  #queue: Uint8Array[] = [];
  #pending = 0;
  #writing = false;
  #wantDrain = false;
  // close() or end() asked while bytes were queued: done once they are out.
  #closeAfterFlush = false;
  #ending = false;
  #released = false;

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
    if (tcp) (conn as Deno.TcpConn).setNoDelay(true);
    this.#sink.onOpen();
    if (this.#queue.length > 0) this.#flush();
    this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const conn = this.#conn!;
    let small: Uint8Array | null = null;
    let large: Uint8Array | null = null;
    let error: Error | undefined;
    let ended = false;
    try {
      while (!this.#closed) {
        if (this.#paused) {
          await new Promise<void>((resolve) => this.#wakeReader = resolve);
          continue;
        }
        const buf = large ?? (small ??= new Uint8Array(SMALL_READ));
        const n = await conn.read(buf);
        if (n === null) {
          ended = true;
          break;
        }
        this.#sink.onData(buf.slice(0, n));
        if (n === buf.length) {
          large ??= spareChunks.pop() ?? new Uint8Array(READ_CHUNK);
        } else if (large !== null) {
          giveBack(large);
          large = null;
        }
      }
    } catch (err) {
      error = err as Error;
    }
    if (large !== null) giveBack(large);
    // The peer's end of stream ends reading only: what we still send
    // (answers to what it asked before) goes out until close().
    if (ended && !this.#closed) this.#sink.onEnd();
    else if (!this.#closed || error !== undefined) this.#finish(error);
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false;
    this.#queue.push(data.slice());
    this.#pending += data.length;
    if (this.#conn !== null && !this.#writing) this.#flush();
    if (this.#pending < WRITE_HIGH_WATER) return true;
    this.#wantDrain = true;
    return false;
  }

  async #flush(): Promise<void> {
    const conn = this.#conn!;
    this.#writing = true;
    try {
      while (
        this.#queue.length > 0 && (!this.#closed || this.#closeAfterFlush)
      ) {
        const data = this.#queue.length === 1
          ? this.#queue[0]
          : concatBytes(this.#queue);
        this.#queue = [];
        let off = 0;
        while (off < data.length) off += await conn.write(data.subarray(off));
        this.#pending -= data.length;
      }
    } catch (err) {
      this.#writing = false;
      this.#finish(err as Error);
      return;
    }
    this.#writing = false;
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
    if (!this.#writing && this.#queue.length === 0) this.#shutdown();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeReader?.();
    if (this.#conn !== null && (this.#writing || this.#queue.length > 0)) {
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
    this.#queue = [];
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

function giveBack(chunk: Uint8Array): void {
  if (spareChunks.length < MAX_SPARE_CHUNKS) spareChunks.push(chunk);
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
  connect(target: SocketTarget, sink: SocketSink): void {
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
  ): Promise<RuntimeListener> {
    const listener: Deno.Listener = target.kind === "unix"
      ? Deno.listen({ transport: "unix", path: target.path })
      : Deno.listen({
        transport: "tcp",
        hostname: target.host,
        port: target.port,
      });
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
