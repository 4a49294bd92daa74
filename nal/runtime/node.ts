/**
 * The `node:net` adapter. It also runs under Deno and Bun (their Node
 * compatibility), which is how the tests exercise it everywhere.
 *
 * @module
 */

import * as net from "node:net";
import { setTimeout } from "node:timers";
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

class NodeSocket implements RuntimeSocket {
  readonly #socket: net.Socket;

  constructor(socket: net.Socket) {
    this.#socket = socket;
  }

  write(data: Uint8Array): boolean {
    if (this.#socket.destroyed) return false;
    // node:net may hold the bytes until the kernel takes them: copy.
    return this.#socket.write(new Uint8Array(data));
  }

  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  end(): void {
    if (!this.#socket.destroyed) this.#socket.end();
  }

  peerAddress(): string {
    return formatPeer(this.#socket.remoteAddress, this.#socket.remotePort);
  }

  close(): void {
    const socket = this.#socket;
    if (socket.destroyed) return;
    // destroy() drops what node:net still holds: let that go out first.
    if (socket.writableLength === 0 || socket.connecting) {
      socket.destroy();
      return;
    }
    socket.end();
    socket.once("finish", () => socket.destroy());
    setTimeout(() => socket.destroy(), SOCKET_LINGER_MS).unref();
  }
}

function wire(socket: net.Socket, sink: SocketSink, connected: boolean): void {
  sink.attach(new NodeSocket(socket));
  let error: Error | undefined;
  if (connected) {
    queueMicrotask(() => sink.onOpen());
  } else {
    socket.once("connect", () => sink.onOpen());
  }
  socket.on("data", (chunk: Uint8Array) => sink.onData(chunk));
  socket.on("drain", () => sink.onDrain());
  socket.on("end", () => sink.onEnd());
  socket.on("error", (err: Error) => {
    error = err;
  });
  socket.on("close", () => sink.onClose(error));
}

function targetOf(
  addr: string | net.AddressInfo | null,
  asked: SocketTarget,
): SocketTarget {
  if (asked.kind === "unix" || addr === null || typeof addr === "string") {
    return asked;
  }
  return { ...asked, port: addr.port };
}

function listenOn(server: net.Server, target: SocketTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      server.off("error", reject);
      resolve();
    };
    if (target.kind === "unix") server.listen({ path: target.path }, ready);
    else server.listen({ host: target.host, port: target.port }, ready);
  });
}

/**
 * Sockets through `node:net`.
 *
 * @example Force the node:net adapter for a listener
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalListener, nodeAdapter } from "@distcache/distcache/nal";
 *
 * const list = new NalListener({ adapter: nodeAdapter }); // on every runtime
 * assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 * list.close();
 * ```
 */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  connect(target: SocketTarget, sink: SocketSink): void {
    const socket = target.kind === "unix"
      ? net.createConnection({ path: target.path, allowHalfOpen: true })
      : net.createConnection({
        host: target.host,
        port: target.port,
        family: target.family,
        noDelay: true,
        allowHalfOpen: true,
      });
    wire(socket, sink, false);
  },
  async listen(
    target: SocketTarget,
    onAccept: () => SocketSink,
    hooks: ListenHooks = {},
  ): Promise<RuntimeListener> {
    // Half-open: a client's end of stream must not close our side before
    // its requests are answered.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true });
    server.on("connection", (socket: net.Socket) => {
      if (target.kind === "tcp") socket.setNoDelay(true);
      wire(socket, onAccept(), true);
    });
    await listenOn(server, target);
    // After start, an error is a failed accept: the listener goes on.
    server.on("error", (err: Error) => hooks.onAcceptError?.(err));
    return {
      target: targetOf(server.address(), target),
      close: () => {
        return new Promise<void>((resolve) => {
          if (!server.listening) resolve();
          else server.close(() => resolve());
        });
      },
    };
  },
};
