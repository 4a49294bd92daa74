// The runtime-neutral end of a socket: it receives an adapter's callbacks,
// holds arrived bytes until NalConnection.io() moves them into the read
// buffer, and applies flow control so memory stays bounded whatever the peer
// sends. Internal to nal/.

import type { NalBuffer } from "./buffer.ts";
import type { RuntimeSocket, SocketSink } from "./runtime/types.ts";

/** Something to poke when a transport has news (a selector). */
export interface Waker {
  wake(): void;
}

export class Transport implements SocketSink {
  socket: RuntimeSocket | null = null;
  /** Established and not closed. */
  open = false;
  /** Was established at some point (tells a refused connect from a drop). */
  established = false;
  closed = false;
  error: Error | null = null;
  /** The runtime holds no unsent data: more may be written now. */
  writable = true;
  /** Opened since a selector last looked (a connect completing is an event). */
  justOpened = false;
  waker: Waker | null = null;
  /** Called once on close, e.g. to release a listener's bookkeeping. */
  onClosed: (() => void) | null = null;

  #chunks: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #bytes = 0;
  #paused = false;
  readonly #highWater: number;

  /** What the connection is called in its errors (its address). */
  readonly name: string;

  constructor(highWater: number, name = "") {
    this.#highWater = Math.max(highWater, 4096);
    this.name = name;
  }

  /** Bytes arrived and not yet moved into a read buffer. */
  get pending(): number {
    return this.#bytes;
  }

  attach(socket: RuntimeSocket): void {
    this.socket = socket;
    if (this.closed) socket.close();
    else if (this.#paused) socket.pause();
  }

  onOpen(): void {
    if (this.closed) return;
    this.open = true;
    this.established = true;
    this.justOpened = true;
    this.waker?.wake();
  }

  onData(chunk: Uint8Array): void {
    if (this.closed || chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes >= this.#highWater && !this.#paused) {
      this.#paused = true;
      this.socket?.pause();
    }
    this.waker?.wake();
  }

  onDrain(): void {
    this.writable = true;
    this.waker?.wake();
  }

  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.error = error ?? null;
    this.waker?.wake();
    this.onClosed?.();
  }

  /** Moves up to `max` arrived bytes into `buf`; returns how many. */
  readInto(buf: NalBuffer, max: number): number {
    let want = Math.min(max, buf.unused(), this.#bytes);
    let moved = 0;
    while (want > 0) {
      const chunk = this.#chunks[this.#head];
      const avail = chunk.length - this.#offset;
      const n = avail <= want ? avail : want;
      buf.write(
        this.#offset === 0 && n === chunk.length
          ? chunk
          : chunk.subarray(this.#offset, this.#offset + n),
      );
      moved += n;
      want -= n;
      if (n === avail) {
        this.#chunks[this.#head++] = EMPTY;
        this.#offset = 0;
      } else {
        this.#offset += n;
      }
    }
    this.#bytes -= moved;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    }
    if (this.#paused && this.#bytes < this.#highWater && !this.closed) {
      this.#paused = false;
      this.socket?.resume();
    }
    return moved;
  }

  /** Hands bytes to the runtime (the view is copied if it must be kept). */
  write(data: Uint8Array): void {
    if (this.closed || this.socket === null) return;
    this.writable = this.socket.write(data);
  }

  /** Closes from our side; no event is reported for it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.socket?.close();
    this.#chunks.length = 0;
    this.#head = 0;
    this.#offset = 0;
    this.#bytes = 0;
    this.onClosed?.();
  }
}

const EMPTY = new Uint8Array(0);
