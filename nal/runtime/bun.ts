/**
 * The Bun adapter: `Bun.connect` / `Bun.listen`, TCP and UNIX, and TLS
 * through their `tls` option.
 *
 * Bun's `socket.write()` returns how many bytes the kernel took and keeps
 * nothing: the rest is held here and written on `drain`.
 *
 * @module
 */

import { setTimeout } from "node:timers";
import { concatBytes } from "../_util.ts";
import { raiseBacklog } from "./bun_backlog.ts";
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

// The few members of Bun's socket API this adapter uses, so that the file
// type-checks without Bun's own type package.
interface BunSocketApi {
  data: unknown;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  write(data: Uint8Array): number;
  end(): void;
  shutdown(): void;
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
}

interface BunHandlers {
  open?(socket: BunSocketApi): void;
  data?(socket: BunSocketApi, data: Uint8Array): void;
  drain?(socket: BunSocketApi): void;
  close?(socket: BunSocketApi, error?: Error): void;
  error?(socket: BunSocketApi, error: Error): void;
  end?(socket: BunSocketApi): void;
  connectError?(socket: BunSocketApi, error: Error): void;
  /**
   * A TLS handshake ended: `authorizationError` says why the peer's
   * certificate was not verified (whatever `success` says).
   */
  handshake?(
    socket: BunSocketApi,
    success: boolean,
    authorizationError: Error | null,
  ): void;
}

interface BunTlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
  serverName?: string;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

interface BunServerApi {
  readonly port?: number;
  readonly fd?: number;
  stop(closeActive?: boolean): void;
}

type BunConnectOptions =
  & ({ unix: string } | { hostname: string; port: number })
  & { socket: BunHandlers; allowHalfOpen: boolean; tls?: BunTlsOptions };

interface BunGlobal {
  connect(options: BunConnectOptions): Promise<BunSocketApi>;
  listen(options: BunConnectOptions): BunServerApi;
}

function bun(): BunGlobal {
  return (globalThis as unknown as { Bun: BunGlobal }).Bun;
}

class BunSocket implements RuntimeSocket {
  readonly sink: SocketSink;
  socket: BunSocketApi | null = null;
  error: Error | undefined;
  #held: Uint8Array | null = null;
  #closed = false;
  #paused = false;
  // close() or end() asked while bytes were held: done once they are out.
  #closing = false;
  #ending = false;

  constructor(sink: SocketSink) {
    this.sink = sink;
  }

  opened(socket: BunSocketApi, tcp: boolean): void {
    this.socket = socket;
    if (this.#closed && !this.#closing) {
      socket.end();
      return;
    }
    if (tcp) socket.setNoDelay(true);
    if (this.#paused) socket.pause();
    if (!this.#closed) this.sink.onOpen();
    if (this.#held !== null) this.drained();
    else this.#finishShutdown();
  }

  write(data: Uint8Array): boolean {
    if (this.#closed || this.#ending) return false;
    if (this.#held !== null || this.socket === null) {
      this.#held = this.#held === null
        ? data.slice()
        : concatBytes([this.#held, data]);
      return false;
    }
    const n = this.socket.write(data);
    if (n >= data.length) return true;
    this.#held = data.slice(Math.max(0, n));
    return false;
  }

  drained(): void {
    const held = this.#held;
    if (held === null || this.socket === null) return;
    if (this.#closed && !this.#closing) return;
    const n = this.socket.write(held);
    if (n < held.length) {
      this.#held = held.subarray(Math.max(0, n));
      return;
    }
    this.#held = null;
    if (!this.#closed) this.sink.onDrain();
    this.#finishShutdown();
  }

  pause(): void {
    this.#paused = true;
    this.socket?.pause();
  }

  peerAddress(): string {
    return formatPeer(this.socket?.remoteAddress, this.socket?.remotePort);
  }

  resume(): void {
    this.#paused = false;
    this.socket?.resume();
  }

  end(): void {
    if (this.#closed || this.#ending) return;
    this.#ending = true;
    this.#finishShutdown();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Bun's end() closes at once and drops what we hold: send that first.
    if (this.#held !== null) {
      this.#closing = true;
      setTimeout(() => this.socket?.end(), SOCKET_LINGER_MS).unref();
      return;
    }
    this.socket?.end();
  }

  closed(error?: Error): void {
    const wasClosed = this.#closed;
    this.#closed = true;
    this.#closing = false;
    if (!wasClosed) this.sink.onClose(error ?? this.error);
  }

  // A close or half-close waiting for the held bytes to leave.
  #finishShutdown(): void {
    const socket = this.socket;
    if (socket === null || this.#held !== null) return;
    if (this.#closing) {
      this.#closing = false;
      socket.end();
    } else if (this.#ending && !this.#closed) {
      socket.shutdown();
    }
  }
}

function own(socket: BunSocketApi): BunSocket {
  return socket.data as BunSocket;
}

// One handler set shared by every socket (Bun's advice): the BunSocket is
// kept in `socket.data`.
const shared: BunHandlers = {
  data: (s, d) => own(s).sink.onData(d),
  drain: (s) => own(s).drained(),
  close: (s, err) => own(s)?.closed(err),
  error: (s, err) => {
    if (own(s)) own(s).error = err;
  },
  end: (s) => own(s)?.sink.onEnd(),
};

function bunConnectTls(tls: TlsConnectOptions): BunTlsOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    serverName: tls.serverName,
    // Bun verifies the chain and the name and closes on a failure; the
    // handshake handler tells the error to the sink first.
    rejectUnauthorized: tls.insecureSkipVerify !== true,
  };
}

function endpoint(
  target: SocketTarget,
): { unix: string } | { hostname: string; port: number } {
  return target.kind === "unix"
    ? { unix: target.path }
    : { hostname: target.host, port: target.port };
}

/**
 * Sockets through `Bun.connect` / `Bun.listen`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunAdapter, NalAddress, NalListener } from "@distcache/distcache/nal";
 *
 * if ("Bun" in globalThis) { // under Bun only
 *   const list = new NalListener({ adapter: bunAdapter });
 *   assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 *   list.close();
 * }
 * assert.equal(bunAdapter.name, "bun");
 * ```
 */
export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  connect(
    target: SocketTarget,
    sink: SocketSink,
    tls?: TlsConnectOptions,
  ): void {
    const wrapper = new BunSocket(sink);
    sink.attach(wrapper);
    const tcp = target.kind === "tcp";
    const socket: BunHandlers = {
      ...shared,
      open: (s) => {
        s.data = wrapper;
        wrapper.opened(s, tcp);
      },
      connectError: (_s, err) => wrapper.closed(err),
    };
    if (tls !== undefined && tcp) {
      // Open once the handshake is done and the certificate verified.
      socket.open = (s) => {
        s.data = wrapper;
      };
      socket.handshake = (s, _success, authorizationError) => {
        s.data = wrapper;
        if (authorizationError && tls.insecureSkipVerify !== true) {
          wrapper.error = authorizationError;
          s.end();
        } else {
          wrapper.opened(s, tcp);
        }
      };
    }
    bun().connect({
      ...endpoint(target),
      allowHalfOpen: true,
      ...(tls !== undefined && tcp ? { tls: bunConnectTls(tls) } : {}),
      socket,
    }).catch((err: Error) => wrapper.closed(err));
  },
  listen(
    target: SocketTarget,
    onAccept: () => SocketSink,
    hooks: ListenHooks = {},
    tls?: TlsListenOptions,
  ): Promise<RuntimeListener> {
    const tcp = target.kind === "tcp";
    const admit = tcp ? hooks.admit : undefined;
    const mutual = tls?.ca !== undefined;
    const server = bun().listen({
      ...endpoint(target),
      // Half-open: a client's end of stream must not close our side before
      // its requests are answered.
      allowHalfOpen: true,
      ...(tls !== undefined && tcp
        ? {
          tls: {
            cert: tls.cert,
            key: tls.key,
            ca: tls.ca,
            requestCert: mutual,
            rejectUnauthorized: mutual,
          },
        }
        : {}),
      socket: {
        ...shared,
        open: (s) => {
          // Before any handshake: a peer not admitted costs nothing more.
          if (admit !== undefined && !admit(s.remoteAddress ?? "")) {
            s.end();
            return;
          }
          const sink = onAccept();
          const wrapper = new BunSocket(sink);
          s.data = wrapper;
          sink.attach(wrapper);
          wrapper.opened(s, tcp);
        },
        // Bun refuses an unverified client certificate itself
        // (rejectUnauthorized); this holds it to that.
        ...(mutual
          ? {
            handshake: (
              s: BunSocketApi,
              success: boolean,
              err: Error | null,
            ) => {
              if (success && !err) return;
              const wrapper = own(s);
              if (wrapper) {
                wrapper.error = err ?? new Error("TLS handshake failed");
              }
              s.end();
            },
          }
          : {}),
      },
    });
    raiseBacklog(server.fd);
    // (Bun reports no failed accept(2), it retries it at once: the
    // listener guards against running out of descriptors itself.)
    const bound: SocketTarget = tcp && server.port !== undefined
      ? { ...target, port: server.port }
      : target;
    return Promise.resolve({
      target: bound, // stop(false): accepted connections outlive the listener, as in C.
      close: () => {
        server.stop(false);
        return Promise.resolve();
      },
    });
  },
};
