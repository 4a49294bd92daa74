// The runtime-neutral end of a socket: it receives an adapter's callbacks,
// holds arrived bytes until NalConnection.io() moves them into the read
// buffer, and applies flow control so memory stays bounded whatever the peer
// sends. It also holds the one readiness rule that selectors and watchers
// share. Internal to nal/.

import type { NalBuffer } from "./buffer.ts";
import type { RuntimeSocket, SocketSink } from "./runtime/types.ts";

/** Something to poke when a transport has news (a selector, a watcher). */
export interface Waker {
  wake(): void;
}

/** Select on a connection for arrived data (room in its read buffer). */
export const NAL_SELECT_FLAG_READ = 1;
/** Select on a connection for the chance to send (data in its send buffer). */
export const NAL_SELECT_FLAG_SEND = 2;
/** Both {@linkcode NAL_SELECT_FLAG_READ} and {@linkcode NAL_SELECT_FLAG_SEND}. */
export const NAL_SELECT_FLAG_RW = 3;

// News: events that happened since the owner last called io(). A selector
// also clears NEWS_OPENED once it reported it.
export const NEWS_OPENED = 1;
const NEWS_ENDED = 2;
const NEWS_CLOSED = 4;

export class Transport implements SocketSink {
  socket: RuntimeSocket | null = null;
  /** Established and not closed. */
  open = false;
  /** Was established at some point (tells a refused connect from a drop). */
  established = false;
  closed = false;
  /** The peer ended its stream: nothing arrives after `pending`. */
  ended = false;
  error: Error | null = null;
  /** The runtime holds no unsent data: more may be written now. */
  writable = true;
  /** NEWS_* bits not yet seen by the owner. */
  news = 0;
  waker: Waker | null = null;
  /** Called once on close, e.g. to release a listener's bookkeeping. */
  onClosed: (() => void) | null = null;

  #chunks: Uint8Array[] = [];
  #head = 0;
  #offset = 0;
  #bytes = 0;
  #paused = false;
  #endSent = false;
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

  /**
   * The readiness rule, the one selectors and watchers share: a connection
   * has work when an event happened that its owner has not seen in io()
   * (the connect completed, the peer ended its stream, the socket closed),
   * when arrived bytes can move into a read buffer with room (READ), or
   * when queued bytes can be handed to a socket that takes them (SEND).
   * With `eofLevel`, a closed or ended socket has work on every look, as
   * select(2) reports end of file; without, once, as an event.
   */
  hasWork(
    read: NalBuffer,
    send: NalBuffer,
    flags: number,
    eofLevel: boolean,
  ): boolean {
    if (this.news !== 0) return true;
    if (eofLevel && (this.closed || this.ended)) return true;
    if (
      (flags & NAL_SELECT_FLAG_READ) !== 0 && this.#bytes > 0 &&
      read.notFull()
    ) return true;
    return (flags & NAL_SELECT_FLAG_SEND) !== 0 && this.open &&
      this.writable && send.notEmpty();
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
    this.#news(NEWS_OPENED);
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

  onEnd(): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    this.#news(NEWS_ENDED);
  }

  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.error = error ?? null;
    this.#news(NEWS_CLOSED);
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
        // Copied out: the adapter may read into it again.
        this.socket?.release?.(chunk);
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

  /** Shuts our sending side down after what was written (half-close). */
  end(): void {
    if (this.closed || this.#endSent || this.socket === null) return;
    this.#endSent = true;
    this.socket.end();
  }

  /**
   * Closes from our side (the runtime still sends what it was handed); no
   * event is reported for it.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    this.news = 0;
    this.socket?.close();
    this.#chunks.length = 0;
    this.#head = 0;
    this.#offset = 0;
    this.#bytes = 0;
    this.onClosed?.();
  }

  #news(bit: number): void {
    this.news |= bit;
    this.waker?.wake();
  }
}

const EMPTY = new Uint8Array(0);
