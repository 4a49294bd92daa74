/**
 * The contract between libnal and a runtime's socket API. An adapter turns
 * `Deno.connect`, `Bun.connect` or `node:net` into these few calls; nothing
 * above `nal/runtime/` touches a runtime global.
 *
 * @module
 */

/** Where to connect or listen: a UNIX socket path or a TCP host and port. */
export type SocketTarget =
  | { readonly kind: "unix"; readonly path: string }
  | {
    readonly kind: "tcp";
    /** Host name or literal address (without brackets for IPv6). */
    readonly host: string;
    readonly port: number;
    readonly family: 4 | 6;
  };

/**
 * A connected socket as an adapter exposes it. Calls never throw; a failure
 * shows up as {@linkcode SocketSink.onClose} with an error.
 */
export interface RuntimeSocket {
  /**
   * Hands bytes to the runtime. The view is only valid during the call: an
   * adapter that keeps bytes for later copies them.
   *
   * @returns `true` when the runtime can take more now; `false` when it holds
   * unsent data (wait for {@linkcode SocketSink.onDrain}).
   */
  write(data: Uint8Array): boolean;
  /** Stops delivering data (flow control). */
  pause(): void;
  /** Delivers data again after {@linkcode RuntimeSocket.pause}. */
  resume(): void;
  /**
   * The peer's address in libnal syntax (`IP:1.2.3.4:5678`,
   * `IPv6:[::1]:5678`, `UNIX:/path` for a named one), or `""` when there
   * is none to tell (an unnamed UNIX peer, a connect in progress).
   */
  peerAddress(): string;
  /**
   * Shuts down the sending side once the bytes already written are handed
   * to the system (the peer sees end of stream); reading goes on.
   */
  end(): void;
  /**
   * Closes the socket once the bytes already written are handed to the
   * system, as close(2) leaves them to the kernel; a peer that takes none
   * of them for {@linkcode SOCKET_LINGER_MS} loses them. No further
   * callbacks matter after this.
   */
  close(): void;
  /**
   * Takes back a chunk that {@linkcode SocketSink.onData} handed over, once
   * the sink has moved every byte of it on, so that the adapter can read
   * into that memory again instead of allocating. Optional: adapters that
   * do not reuse chunks leave it out, and a sink that keeps a chunk never
   * calls it.
   */
  release?(chunk: Uint8Array): void;
}

/**
 * How long a closing socket waits for the peer to take the bytes already
 * written before it gives up on them.
 */
export const SOCKET_LINGER_MS = 10_000;

/**
 * Connections the kernel queues for a listener before it refuses more
 * (listen(2)'s backlog; memcached's default, and Deno's, which cannot be
 * changed): a burst of local clients (a web server's workers starting at
 * once) arriving while the loop is busy waits here. Over UNIX sockets the
 * connections beyond it are refused at once (EAGAIN), not retried.
 */
export const LISTEN_BACKLOG = 1024;

/**
 * Where a socket's events go. Adapters call these asynchronously (never from
 * inside `connect`), in order: `attach` first, then `onOpen`, data and drain
 * events, at most one `onEnd`, and `onClose` once.
 */
export interface SocketSink {
  /** Gives the sink the socket it will be fed from. */
  attach(socket: RuntimeSocket): void;
  /** The connection is established. */
  onOpen(): void;
  /**
   * Bytes arrived; the sink owns `chunk` from now on (and may give it back
   * with {@linkcode RuntimeSocket.release} once done with it).
   */
  onData(chunk: Uint8Array): void;
  /** The runtime wrote out everything it was holding. */
  onDrain(): void;
  /**
   * The peer ended its stream (a FIN: shutdown or close on its side): no
   * more data will arrive, but the socket stays open for sending until
   * `close()`.
   */
  onEnd(): void;
  /** The socket closed (peer closed, error, refused connect). */
  onClose(error?: Error): void;
}

/**
 * What a listening adapter tells its owner besides new connections.
 */
export interface ListenHooks {
  /**
   * Accepting failed (e.g. EMFILE or ENFILE: out of file descriptors). The
   * adapter backs off by itself and keeps its accepted sockets; this may be
   * called often, so the owner rate-limits what it reports.
   */
  onAcceptError?(error: Error): void;
  /**
   * Asked, when given, about each accepted TCP peer before anything else
   * (before any TLS handshake, before `onAccept`), with its IP address as
   * the runtime reports it (`"10.1.2.3"`, `"::1"`, `"::ffff:10.1.2.3"`):
   * `false` closes the socket at once, and the owner hears no more of it.
   */
  admit?(address: string): boolean;
}

/**
 * TLS of a listening socket, as an adapter takes it (PEM text, checked by
 * nal): TLS 1.2 or 1.3 with this certificate.
 */
export interface TlsListenOptions {
  /** Certificate chain, the server's own first. */
  readonly cert: string;
  /** Its private key. */
  readonly key: string;
  /**
   * CA certificates client certificates must chain to: when set, the
   * handshake fails for a client without such a certificate.
   */
  readonly ca?: string;
}

/**
 * TLS of a connecting socket, as an adapter takes it: the server's
 * certificate is verified (chain and name) unless `insecureSkipVerify`.
 */
export interface TlsConnectOptions {
  /** The only CA certificates trusted; unset: the runtime's roots. */
  readonly ca?: string;
  /** Client certificate chain (with `key`). */
  readonly cert?: string;
  /** Client certificate's private key (with `cert`). */
  readonly key?: string;
  /** Name the certificate must be for (and SNI); unset: the target host. */
  readonly serverName?: string;
  /** Accept any certificate (for tests only). */
  readonly insecureSkipVerify?: boolean;
}

/** A listening socket as an adapter exposes it. */
export interface RuntimeListener {
  /** The bound address (the real port when port 0 was asked for). */
  readonly target: SocketTarget;
  /**
   * Stops listening. Resolves once the runtime has let go of the address
   * (Deno removes a UNIX socket file itself, a little after close).
   */
  close(): Promise<void>;
}

/**
 * One runtime's sockets.
 *
 * @example Pick the adapter for this runtime
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultAdapter } from "@distcache/distcache/nal";
 *
 * assert.ok(["deno", "bun", "node"].includes(defaultAdapter().name));
 * ```
 */
export interface RuntimeAdapter {
  /** `"deno"`, `"bun"` or `"node"`. */
  readonly name: string;
  /**
   * Whether its accept loop waits by itself when accept(2) fails (EMFILE):
   * otherwise a listener stops listening while it is out of descriptors.
   */
  readonly backsOffAccept?: boolean;
  /**
   * Starts connecting; reports through `sink` (attach before anything
   * else). With `tls` (TCP only), `onOpen` comes once the handshake is done
   * and the server's certificate verified; a failed verification closes
   * the socket with the runtime's reason as the error.
   */
  connect(
    target: SocketTarget,
    sink: SocketSink,
    tls?: TlsConnectOptions,
  ): void;
  /**
   * Listens; for each accepted socket calls `onAccept` for a sink, then
   * attaches the socket to it and reports `onOpen`. With `tls` (TCP only)
   * every accepted socket speaks TLS; a client that fails the handshake
   * (plaintext, no or a bad client certificate when `tls.ca` is set) is
   * dropped, either before `onAccept` or as an error of its socket.
   */
  listen(
    target: SocketTarget,
    onAccept: () => SocketSink,
    hooks?: ListenHooks,
    tls?: TlsListenOptions,
  ): Promise<RuntimeListener>;
}
