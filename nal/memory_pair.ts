// Two in-memory sockets wired to each other, for NAL_CONNECTION_create_pair.
// JavaScript runtimes offer no socketpair(); an in-process pair keeps the
// same contract (asynchronous delivery, flow control, close seen by the
// peer). Internal to nal/.

import type { RuntimeSocket, SocketSink } from "./runtime/types.ts";

class MemorySocket implements RuntimeSocket {
  readonly sink: SocketSink;
  peer: MemorySocket | null = null;
  paused = false;
  closed = false;
  /** Bytes written to us while we were paused. */
  held: Uint8Array[] = [];
  /** The peer stopped taking our bytes: tell our sink when it resumes. */
  blocked = false;
  /** We shut our sending side down (end()). */
  ended = false;
  /** The peer ended its stream: tell our sink after the held bytes. */
  endHeld = false;

  constructor(sink: SocketSink) {
    this.sink = sink;
  }

  write(data: Uint8Array): boolean {
    const peer = this.peer;
    if (this.closed || this.ended || peer === null || peer.closed) {
      return false;
    }
    const copy = data.slice();
    if (peer.paused) {
      peer.held.push(copy);
      this.blocked = true;
      return false;
    }
    queueMicrotask(() => {
      if (!peer.closed) peer.sink.onData(copy);
    });
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    queueMicrotask(() => {
      for (const chunk of held) if (!this.closed) this.sink.onData(chunk);
      if (this.endHeld && !this.closed) {
        this.endHeld = false;
        this.sink.onEnd();
      }
      const writer = this.peer;
      if (writer !== null && writer.blocked && !writer.closed) {
        writer.blocked = false;
        writer.sink.onDrain();
      }
    });
  }

  peerAddress(): string {
    return "";
  }

  end(): void {
    const peer = this.peer;
    if (this.closed || this.ended || peer === null) return;
    this.ended = true;
    // The peer sees end of stream after the bytes already sent to it.
    if (peer.paused || peer.held.length > 0) peer.endHeld = true;
    else queueMicrotask(() => !peer.closed && peer.sink.onEnd());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const peer = this.peer;
    if (peer !== null && !peer.closed) {
      // The peer sees EOF after the bytes already sent to it.
      queueMicrotask(() => {
        const held = peer.held;
        peer.held = [];
        for (const chunk of held) peer.sink.onData(chunk);
        peer.closed = true;
        peer.sink.onClose();
      });
    }
  }
}

/** Wires two sinks together and reports both open. */
export function connectMemoryPair(a: SocketSink, b: SocketSink): void {
  const sa = new MemorySocket(a);
  const sb = new MemorySocket(b);
  sa.peer = sb;
  sb.peer = sa;
  a.attach(sa);
  b.attach(sb);
  queueMicrotask(() => {
    a.onOpen();
    b.onOpen();
  });
}
