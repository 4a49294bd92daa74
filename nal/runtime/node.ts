/**
 * The `node:net` adapter. It also runs under Deno and Bun (their Node
 * compatibility), which is how the tests exercise it everywhere.
 *
 * @module
 */

import * as net from "node:net";
import type {
  RuntimeAdapter,
  RuntimeListener,
  RuntimeSocket,
  SocketSink,
  SocketTarget,
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

  close(): void {
    this.#socket.destroy();
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

/**
 * Sockets through `node:net`.
 *
 * @example Force the node:net adapter for a listener
 * ```ts
 * import { NalAddress, NalListener, nodeAdapter } from "@distcache/distcache/nal";
 *
 * const list = new NalListener({ adapter: nodeAdapter });
 * await list.create(NalAddress.parse("IP:127.0.0.1:0"));
 * list.close();
 * ```
 */
export const nodeAdapter: RuntimeAdapter = {
  name: "node",
  connect(target: SocketTarget, sink: SocketSink): void {
    const socket = target.kind === "unix"
      ? net.createConnection({ path: target.path })
      : net.createConnection({
        host: target.host,
        port: target.port,
        family: target.family,
        noDelay: true,
      });
    wire(socket, sink, false);
  },
  listen(
    target: SocketTarget,
    onAccept: () => SocketSink,
  ): Promise<RuntimeListener> {
    const server = net.createServer({ noDelay: true });
    server.on("connection", (socket: net.Socket) => {
      if (target.kind === "tcp") socket.setNoDelay(true);
      wire(socket, onAccept(), true);
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const ready = () => {
        server.off("error", reject);
        // A listener must not die of a per-connection error after start.
        server.on("error", () => {});
        resolve({
          target: targetOf(server.address(), target),
          close: () =>
            new Promise<void>((resolve) => server.close(() => resolve())),
        });
      };
      if (target.kind === "unix") server.listen({ path: target.path }, ready);
      else server.listen({ host: target.host, port: target.port }, ready);
    });
  },
};
