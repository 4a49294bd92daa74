/**
 * The `node:net` adapter (`node:tls` for TLS). It also runs under Deno and
 * Bun (their Node compatibility), which is how the tests exercise it
 * everywhere.
 *
 * @module
 */

import * as net from "node:net";
import { setTimeout } from "node:timers";
import * as tls from "node:tls";
import { raiseBacklog } from "./bun_backlog.ts";
import { formatPeer } from "./peer.ts";
import {
  LISTEN_BACKLOG,
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

// The oldest TLS spoken, on both sides (Node's default too, said here so
// that the runtimes' node:tls agree).
const MIN_TLS_VERSION = "TLSv1.2";

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

// `opened`: the event that makes a connecting socket open ("connect", or
// "secureConnect" once a TLS handshake is done); null for one accepted
// open.
function wire(
  socket: net.Socket,
  sink: SocketSink,
  opened: "connect" | "secureConnect" | null,
): void {
  sink.attach(new NodeSocket(socket));
  let error: Error | undefined;
  if (opened === null) {
    queueMicrotask(() => sink.onOpen());
  } else {
    socket.once(opened, () => sink.onOpen());
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

// A connect that failed before there was a socket (TLS material the
// runtime refuses): reported as a refused connect, asynchronously.
function failConnect(sink: SocketSink, err: Error): void {
  const dead = new net.Socket();
  dead.destroy();
  sink.attach(new NodeSocket(dead));
  queueMicrotask(() => sink.onClose(err));
}

function tlsConnect(
  target: SocketTarget & { kind: "tcp" },
  options: TlsConnectOptions,
): tls.TLSSocket {
  const name = options.serverName ?? target.host;
  const skip = options.insecureSkipVerify === true;
  // (`family` and `allowHalfOpen` reach the socket underneath; the types
  // of node:tls omit them.)
  const connectOptions: tls.ConnectionOptions & {
    family: 4 | 6;
    allowHalfOpen: boolean;
  } = {
    host: target.host,
    port: target.port,
    family: target.family,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
    // SNI carries a DNS name only (RFC 6066).
    servername: net.isIP(name) === 0 ? name : undefined,
    rejectUnauthorized: !skip,
    // The name checked is the one asked for, also when it is an IP address
    // (node:tls would check the host connected to).
    checkServerIdentity: (_host, cert) =>
      skip ? undefined : tls.checkServerIdentity(name, cert),
    minVersion: MIN_TLS_VERSION,
    allowHalfOpen: true,
  };
  return tls.connect(connectOptions);
}

function tlsServer(options: TlsListenOptions): tls.Server {
  const mutual = options.ca !== undefined;
  return tls.createServer({
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    requestCert: mutual,
    rejectUnauthorized: mutual,
    minVersion: MIN_TLS_VERSION,
    allowHalfOpen: true,
  });
}

function listenOn(server: net.Server, target: SocketTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const ready = () => {
      server.off("error", reject);
      // Bun's node:net drops the backlog asked for (its listener is
      // Bun.listen's, which listens with 512): raised as for Bun.listen.
      if ("Bun" in globalThis) {
        raiseBacklog(
          (server as unknown as { _handle?: { fd?: number } })
            ._handle?.fd,
        );
      }
      resolve();
    };
    const backlog = LISTEN_BACKLOG;
    const at = target.kind === "unix"
      ? { path: target.path, backlog }
      : { host: target.host, port: target.port, backlog };
    server.listen(at, ready);
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
  connect(
    target: SocketTarget,
    sink: SocketSink,
    tlsOptions?: TlsConnectOptions,
  ): void {
    if (tlsOptions !== undefined && target.kind === "tcp") {
      let socket: tls.TLSSocket;
      try {
        socket = tlsConnect(target, tlsOptions);
      } catch (err) {
        failConnect(sink, err as Error);
        return;
      }
      socket.setNoDelay(true);
      wire(socket, sink, "secureConnect");
      return;
    }
    const socket = target.kind === "unix"
      ? net.createConnection({ path: target.path, allowHalfOpen: true })
      : net.createConnection({
        host: target.host,
        port: target.port,
        family: target.family,
        noDelay: true,
        allowHalfOpen: true,
      });
    wire(socket, sink, "connect");
  },
  async listen(
    target: SocketTarget,
    onAccept: () => SocketSink,
    hooks: ListenHooks = {},
    tlsOptions?: TlsListenOptions,
  ): Promise<RuntimeListener> {
    const admit = target.kind === "tcp" ? hooks.admit : undefined;
    let server: net.Server;
    if (tlsOptions !== undefined && target.kind === "tcp") {
      server = tlsServer(tlsOptions);
      // The plain socket comes first: a peer not admitted is dropped
      // before any handshake.
      if (admit !== undefined) {
        server.on("connection", (socket: net.Socket) => {
          if (!admit(socket.remoteAddress ?? "")) socket.destroy();
        });
      }
      server.on("secureConnection", (socket: tls.TLSSocket) => {
        socket.setNoDelay(true);
        wire(socket, onAccept(), null);
      });
      // A failed handshake (plaintext, a bad client certificate) drops
      // that client only.
      server.on("tlsClientError", () => {});
    } else {
      // Half-open: a client's end of stream must not close our side
      // before its requests are answered.
      server = net.createServer({ noDelay: true, allowHalfOpen: true });
      server.on("connection", (socket: net.Socket) => {
        if (admit !== undefined && !admit(socket.remoteAddress ?? "")) {
          socket.destroy();
          return;
        }
        if (target.kind === "tcp") socket.setNoDelay(true);
        wire(socket, onAccept(), null);
      });
    }
    await listenOn(server, target);
    // After start, an error is a failed accept: the listener goes on.
    server.on("error", (err: Error) => hooks.onAcceptError?.(err));
    return {
      target: targetOf(server.address(), target),
      close: () => {
        return new Promise<void>((resolve) => {
          if (!server.listening) return resolve();
          server.close(() => resolve());
          // node:tls counts a client that gave up during the handshake (it
          // did not trust our certificate) as connected for good, so the
          // close callback never comes; the port itself is let go at once.
          if (tlsOptions !== undefined) resolve();
        });
      },
    };
  },
};
