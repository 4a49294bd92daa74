/**
 * NAL_LISTENER: a listening socket whose connections are accepted into
 * {@linkcode NalConnection} objects.
 *
 * @module
 */

import { formatTarget, type NalAddress } from "./address.ts";
import { NalAllowList } from "./allow.ts";
import {
  attachTransport,
  type NalConnection,
  transportOf,
} from "./connection.ts";
import { NalOptionError, NalSocketError } from "./errors.ts";
import { FdGuard } from "./runtime/fd_guard.ts";
import { defaultAdapter } from "./runtime/mod.ts";
import type {
  ListenHooks,
  RuntimeAdapter,
  RuntimeListener,
  SocketTarget,
  TlsListenOptions,
} from "./runtime/types.ts";
import { type NalTlsListenOptions, tlsListenConfig } from "./tls_options.ts";
import {
  lockPathOf,
  lockSocketPath,
  parentExists,
  pathKind,
  privateSocketDir,
  publishSocket,
  removeDir,
  removeFile,
  socketInode,
  type SocketLock,
} from "./runtime/unix_path.ts";
import type { NalSelector } from "./selector.ts";
import { NalThrottle } from "./throttle.ts";
import { Transport, type Waker } from "./transport.ts";

/** Options for {@linkcode NalListener}. */
export interface NalListenerOptions {
  /** Socket adapter to listen with. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /**
   * Told, at most once a second, that accepting fails (code `ERR_ACCEPT`),
   * e.g. when the process is out of file descriptors (EMFILE, ENFILE). The
   * listener backs off and retries by itself, and its connections are not
   * affected; nal prints nothing, so this is where an owner logs it.
   */
  onError?: (error: NalSocketError) => void;
  /**
   * Mode of a UNIX socket file, permission bits only (0 to 0o777, e.g.
   * 0o600). The socket is made in a directory only this process can
   * enter, given the mode there, and only then moved to its path: it is
   * never reachable with looser permissions. @default {what the process
   * umask leaves}
   */
  mode?: number;
  /**
   * Owner and group of a UNIX socket file, as numeric ids (a missing one is
   * left as the process makes it). Like the mode, they are set in the
   * private directory before the socket is moved to its path, so that it
   * is never reachable as another owner's.
   */
  owner?: NalSocketOwner;
  /**
   * TLS for a TCP listener (TLS 1.2 and 1.3, by the runtime's own TLS):
   * every client must speak it, and with `tls.ca` show a certificate from
   * that CA. A client that fails the handshake (plaintext, no or a wrong
   * certificate) is dropped alone. Refused on a UNIX address.
   * @default {plain TCP}
   */
  tls?: NalTlsListenOptions;
  /**
   * Peers a TCP listener lets in (IPv4 and IPv6 networks); any other is
   * closed as soon as it is accepted, before a TLS handshake or a byte
   * read, and counted ({@linkcode NalListener.prototype.denied}). Refused
   * on a UNIX address. @default {every peer}
   */
  allow?: NalAllowList;
  /**
   * Told, at most once a second, of peers refused by `allow`: how many
   * since the last call, and the last one's address (e.g. `"10.9.8.7"`).
   */
  onDenied?: (count: number, address: string) => void;
}

/**
 * Owner and group to give a UNIX socket file (see
 * {@linkcode NalListenerOptions.owner}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalListener, type NalSocketOwner } from "@distcache/distcache/nal";
 *
 * const owner: NalSocketOwner = { gid: 0 };
 * assert.ok(new NalListener({ owner, mode: 0o660 }) instanceof NalListener);
 * ```
 */
export interface NalSocketOwner {
  /** The owner's uid. */
  uid?: number;
  /** The group's gid. */
  gid?: number;
}

// Accepted connections wait here, already reading, until accept() takes
// them. Kept off the public class.
interface ListenerCore {
  runtime: RuntimeListener;
  target: SocketTarget;
  queue: Transport[];
  waker: Waker | null;
  blocked: (() => void)[];
  bufferSize: number;
  unixPath: string | null;
  unixInode: number;
  lock: { release(): void } | null;
  guard: FdGuard | null;
  /** Connections handed out by accept() and not closed yet. */
  handedOut: number;
  /** Reports of peers refused by the allow list. */
  denied: NalThrottle<string> | null;
}

const cores = new WeakMap<NalListener, ListenerCore>();

/** The accept queue of a listener (nal-internal, for the selector). */
export function listenerCoreOf(
  list: NalListener,
): { queue: Transport[]; waker: Waker | null } | undefined {
  return cores.get(list);
}

/**
 * A listener (the C API's `NAL_LISTENER`). A UNIX listener replaces a stale
 * socket file left by a dead server, refuses a path where a live server
 * answers, and removes its socket file on close.
 *
 * @example Accept one connection, blocking
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalConnection, NalListener } from "@distcache/distcache/nal";
 *
 * const list = new NalListener();
 * if (!(await list.create(NalAddress.parse("IP:127.0.0.1:0")))) {
 *   throw list.error;
 * }
 * const client = new NalConnection();
 * client.create(NalAddress.parse(list.address()));
 * const conn = new NalConnection();
 * assert.ok(await list.acceptBlock(conn));
 * assert.ok(conn.isEstablished());
 * conn.close();
 * client.close();
 * list.close();
 * ```
 */
export class NalListener {
  readonly #adapter: RuntimeAdapter;
  readonly #onError: ((error: NalSocketError) => void) | undefined;
  readonly #mode: number | undefined;
  readonly #owner: NalSocketOwner | undefined;
  readonly #tls: TlsListenOptions | undefined;
  readonly #allow: NalAllowList | undefined;
  readonly #onDenied: ((count: number, address: string) => void) | undefined;
  #denied = 0;
  #address = "";
  /** Why the last `create` failed, if it did. */
  error: NalSocketError | null = null;

  /**
   * Makes an idle listener; `create` makes it listen.
   *
   * @param options Which socket adapter to use, where accept failures are
   *   reported, the mode and owner of a UNIX socket file, TLS, the peers
   *   allowed.
   * @throws {NalOptionError} for a mode with bits beyond 0o777, an id that
   *   is not a non-negative integer, TLS options without a PEM certificate
   *   and key, an `allow` that is not a {@linkcode NalAllowList}.
   */
  constructor(options: NalListenerOptions = {}) {
    const mode = options.mode;
    if (
      mode !== undefined &&
      (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
    ) {
      throw new NalOptionError(
        `invalid socket mode ${
          typeof mode === "number" ? `0o${mode.toString(8)}` : String(mode)
        }: only permission bits, 0 to 0o777`,
      );
    }
    for (const key of ["uid", "gid"] as const) {
      const id = options.owner?.[key];
      if (id !== undefined && !(Number.isSafeInteger(id) && id >= 0)) {
        throw new NalOptionError(
          `invalid socket ${key} ${String(id)}: a non-negative integer`,
        );
      }
    }
    if (
      options.allow !== undefined && !(options.allow instanceof NalAllowList)
    ) {
      throw new NalOptionError(
        `invalid allow ${
          String(options.allow)
        }: must be a NalAllowList (NalAllowList.parse("10.0.0.0/8,::1"))`,
      );
    }
    this.#adapter = options.adapter ?? defaultAdapter();
    this.#onError = options.onError;
    this.#mode = mode;
    this.#owner = options.owner?.uid === undefined &&
        options.owner?.gid === undefined
      ? undefined
      : options.owner;
    this.#tls = options.tls === undefined
      ? undefined
      : tlsListenConfig(options.tls);
    this.#allow = options.allow;
    this.#onDenied = options.onDenied;
  }

  /** Peers refused by the `allow` option since the listener was made. */
  denied(): number {
    return this.#denied;
  }

  /**
   * Starts listening on `addr`.
   *
   * @param addr An address that can listen.
   * @returns `false` on failure ({@linkcode NalListener.prototype.error}
   *   says why: listen-only checks, port in use, missing directory, a live
   *   server on the UNIX path...).
   */
  async create(addr: NalAddress): Promise<boolean> {
    if (cores.has(this)) {
      return this.#fail("ERR_LISTEN", "listener already listening");
    }
    if (!addr.canListen()) {
      return this.#fail("ERR_LISTEN", `cannot listen on "${addr}"`);
    }
    const target = addr.target();
    if (
      target.kind === "unix" &&
      (this.#tls !== undefined || this.#allow !== undefined)
    ) {
      return this.#fail(
        "ERR_LISTEN",
        `cannot listen on "${addr}": ${
          this.#tls !== undefined ? "TLS" : "an allow list"
        } is for TCP addresses (IP:, IPv4:, IPv6:), a UNIX socket has file permissions`,
      );
    }
    let lock: { release(): void } | null = null;
    if (target.kind === "unix") {
      if (!parentExists(target.path)) {
        return this.#fail(
          "ERR_LISTEN",
          `cannot listen on "${addr}": directory does not exist`,
        );
      }
      const taken = this.#lockUnixPath(target.path, addr);
      if (!taken.held) return false;
      lock = taken;
      const problem = await prepareUnixPath(
        this.#adapter,
        target.path,
        String(addr),
      );
      if (problem !== null) {
        lock.release();
        this.error = problem;
        return false;
      }
    }
    const core: ListenerCore = {
      runtime: null as unknown as RuntimeListener,
      target,
      queue: [],
      waker: null,
      blocked: [],
      bufferSize: addr.bufferSize(),
      unixPath: target.kind === "unix" ? target.path : null,
      unixInode: -1,
      lock,
      guard: null,
      handedOut: 0,
      denied: null,
    };
    const reports = new NalThrottle<Error>((count, err) => {
      const times = count === 1 ? "" : ` (${count} times)`;
      this.#onError?.(
        new NalSocketError(
          "ERR_ACCEPT",
          `cannot accept on "${this.#address}"${times}: ${
            describeAcceptError(err)
          }; retrying`,
          { cause: err },
        ),
      );
    });
    const denied = new NalThrottle<string>((count, address) =>
      this.#onDenied?.(count, address)
    );
    core.denied = denied;
    if (this.#adapter.backsOffAccept !== true) {
      // The runtime would retry a failing accept(2) at once (or stop
      // accepting, or drop newcomers without a word): out of descriptors,
      // stop listening until some are free.
      core.guard = new FdGuard({
        pause: () => void core.runtime.close(),
        resume: () => this.#listenAgain(core),
      }, (err) => reports.note(err));
    }
    try {
      core.runtime = await this.#bind(core, reports);
    } catch (err) {
      lock?.release();
      core.guard?.close();
      denied.close();
      const code = listenCode(err);
      // Bun says only "Failed to listen at <host>": name the reason the
      // same way on every runtime.
      const why = code === "ERR_ADDRESS_IN_USE"
        ? "address in use"
        : (err as Error).message;
      return this.#fail(code, `cannot listen on "${addr}": ${why}`, err);
    }
    // Listening again after a pause takes the port the system chose.
    core.target = core.runtime.target;
    if (core.unixPath !== null) core.unixInode = socketInode(core.unixPath);
    cores.set(this, core);
    this.#address = formatTarget(core.runtime.target);
    this.error = null;
    return true;
  }

  /**
   * The address actually listened on, as a libnal string: with port 0
   * asked, the port the system chose. Empty when not listening.
   */
  address(): string {
    return cores.has(this) ? this.#address : "";
  }

  /**
   * Accepts a waiting connection into `conn`, without blocking.
   *
   * @param _sel The selector of the last select.
   * @param conn An idle connection.
   * @returns `false` when no connection was waiting (or `conn` is in use).
   */
  accept(_sel: NalSelector | null, conn: NalConnection): boolean {
    const core = cores.get(this);
    if (core === undefined || !idle(conn)) return false;
    while (core.queue.length > 0) {
      const t = core.queue.shift()!;
      // A connection that came and went before being accepted is skipped.
      if (t.closed && t.pending === 0) continue;
      attachTransport(conn, t, core.bufferSize);
      core.handedOut++;
      const onClosed = t.onClosed;
      t.onClosed = () => {
        onClosed?.();
        core.handedOut--;
      };
      return true;
    }
    return false;
  }

  /**
   * Connections this listener's accept() handed out that are still open:
   * what a connection limit counts.
   */
  connections(): number {
    return cores.get(this)?.handedOut ?? 0;
  }

  /**
   * Whether a connection waits to be accepted (the rule a selector applies
   * to a listener).
   */
  hasWork(): boolean {
    const core = cores.get(this);
    return core !== undefined && core.queue.length > 0;
  }

  /**
   * Calls `onNews` whenever a connection arrives, so that an event-driven
   * owner needs no selector: it should schedule a visit that accepts with
   * {@linkcode NalListener.prototype.accept} until that returns false. One
   * watcher at a time: a later watch(), or a select() on the listener,
   * takes its place.
   *
   * @example Be told of a connection
   * ```ts
   * import assert from "node:assert/strict";
   * import { NalAddress, NalConnection, NalListener } from "@distcache/distcache/nal";
   *
   * const list = new NalListener();
   * assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
   * const told = new Promise<void>((resolve) => list.watch(resolve));
   * const client = new NalConnection();
   * client.create(NalAddress.parse(list.address()));
   * await told;
   * const conn = new NalConnection();
   * assert.equal(list.accept(null, conn), true);
   * conn.close();
   * client.close();
   * await list.closeAndWait();
   * ```
   *
   * @param onNews Called on each arrival; `null` stops watching.
   * @returns `false` for a listener that is not listening.
   */
  watch(onNews: (() => void) | null): boolean {
    const core = cores.get(this);
    if (core === undefined) return false;
    core.waker = onNews === null ? null : { wake: onNews };
    return true;
  }

  /**
   * Waits for a connection and accepts it into `conn`.
   *
   * @param conn An idle connection.
   * @returns `false` when the listener is closed before one arrives (or
   *   `conn` is in use).
   */
  async acceptBlock(conn: NalConnection): Promise<boolean> {
    for (;;) {
      const core = cores.get(this);
      if (core === undefined || !idle(conn)) return false;
      if (this.accept(null, conn)) return true;
      await new Promise<void>((resolve) => core.blocked.push(resolve));
    }
  }

  /** Stops listening; a UNIX listener removes the socket file it created. */
  close(): void {
    void this.closeAndWait();
  }

  /**
   * Stops listening and resolves once the runtime has let go of the
   * address: then a new listener may take the same UNIX path safely.
   */
  async closeAndWait(): Promise<void> {
    const core = cores.get(this);
    if (core === undefined) return;
    cores.delete(this);
    core.guard?.close();
    core.denied?.close();
    const released = core.runtime.close();
    for (const t of core.queue) t.close();
    core.queue.length = 0;
    for (const wake of core.blocked) wake();
    // Remove the file only if it is still ours, not a newer server's.
    if (
      core.unixPath !== null && socketInode(core.unixPath) === core.unixInode
    ) {
      removeFile(core.unixPath);
    }
    await released;
    core.lock?.release();
  }

  /** Same as {@linkcode NalListener.prototype.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@linkcode NalListener.prototype.closeAndWait}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAndWait();
  }

  // Listens on the core's target. A UNIX socket with a mode or an owner is
  // made in a private directory, given them, then renamed to its path.
  async #bind(
    core: ListenerCore,
    reports: NalThrottle<Error>,
  ): Promise<RuntimeListener> {
    const onAccept = () => {
      const t = new Transport(core.bufferSize, `client of ${this.#address}`);
      const guard = core.guard;
      if (guard !== null) {
        guard.accepted();
        t.onClosed = () => guard.released();
      }
      core.queue.push(t);
      core.waker?.wake();
      core.blocked.shift()?.();
      return t;
    };
    const allow = this.#allow;
    const hooks: ListenHooks = {
      onAcceptError: (err: Error) => reports.note(err),
    };
    if (allow !== undefined) {
      hooks.admit = (address) => {
        if (allow.allows(address)) return true;
        this.#denied++;
        core.denied?.note(address);
        return false;
      };
    }
    const target = core.target;
    if (target.kind !== "unix" || !this.#private) {
      return await this.#adapter.listen(target, onAccept, hooks, this.#tls);
    }
    const hidden = privateSocketDir(target.path);
    try {
      const runtime = await this.#adapter.listen(
        { kind: "unix", path: hidden.path },
        onAccept,
        hooks,
      );
      try {
        publishSocket(hidden.path, target.path, this.#mode, this.#owner);
      } catch (err) {
        await runtime.close();
        throw err;
      }
      return { target, close: () => runtime.close() };
    } finally {
      removeDir(hidden.dir);
    }
  }

  // Whether a UNIX socket is made in a private directory and moved.
  get #private(): boolean {
    return this.#mode !== undefined || this.#owner !== undefined;
  }

  // After a pause (out of descriptors): listen again on the same address,
  // our old socket file replaced.
  async #listenAgain(core: ListenerCore): Promise<void> {
    if (
      core.unixPath !== null && !this.#private &&
      socketInode(core.unixPath) === core.unixInode
    ) removeFile(core.unixPath);
    const reports = new NalThrottle<Error>(() => {});
    core.runtime = await this.#bind(core, reports);
    if (core.unixPath !== null) core.unixInode = socketInode(core.unixPath);
  }

  // Takes the lock beside a UNIX path, so that two servers started at once
  // over a stale socket cannot both claim it.
  #lockUnixPath(path: string, addr: NalAddress): SocketLock {
    let taken: SocketLock;
    try {
      taken = lockSocketPath(path);
    } catch (err) {
      this.#fail(
        "ERR_LISTEN",
        `cannot listen on "${addr}": cannot make its lock file ${
          lockPathOf(path)
        }: ${(err as Error).message}`,
        err,
      );
      return { held: false, holder: 0 };
    }
    if (!taken.held) {
      this.#fail(
        "ERR_ADDRESS_IN_USE",
        `cannot listen on "${addr}": a live server holds it (process ${taken.holder}; its lock file ${
          lockPathOf(path)
        } may go if no such process serves)`,
      );
    }
    return taken;
  }

  #fail(code: string, message: string, cause?: unknown): false {
    this.error = new NalSocketError(
      code,
      message,
      cause === undefined ? undefined : { cause },
    );
    return false;
  }
}

/**
 * Readies a UNIX path whose directory exists to be listened on: a stale
 * socket file is removed; a live server's socket or any other file is
 * refused. Shared by every listener nal makes (sockets, HTTP).
 *
 * @returns The reason it cannot be listened on, or null.
 */
export async function prepareUnixPath(
  adapter: RuntimeAdapter,
  path: string,
  addr: string,
): Promise<NalSocketError | null> {
  const kind = pathKind(path);
  if (kind === "other") {
    return new NalSocketError(
      "ERR_ADDRESS_IN_USE",
      `cannot listen on "${addr}": the path exists and is not a socket`,
    );
  }
  if (kind === "socket") {
    if (await answers(adapter, { kind: "unix", path })) {
      return new NalSocketError(
        "ERR_ADDRESS_IN_USE",
        `cannot listen on "${addr}": a live server answers on that socket`,
      );
    }
    removeFile(path);
  }
  return null;
}

// Only an idle connection may receive an accepted socket: one with a socket
// or a dummy (established without a socket) is in use.
function idle(conn: NalConnection): boolean {
  return transportOf(conn) === undefined && !conn.isEstablished();
}

// Runtimes word "out of descriptors" in their own ways (EMFILE, "Too many
// open files (os error 24)"): say it one way, with the errno.
function describeAcceptError(err: Error): string {
  const code = (err as { code?: string }).code;
  const text = `${code ?? ""} ${err.message}`;
  if (/EMFILE|os error 24/.test(text)) {
    return "out of file descriptors (EMFILE): new connections wait";
  }
  if (/ENFILE|os error 23/.test(text)) {
    return "the system is out of file descriptors (ENFILE): new connections wait";
  }
  return err.message;
}

function listenCode(err: unknown): string {
  const code = (err as { code?: string }).code;
  const name = (err as { name?: string }).name;
  return code === "EADDRINUSE" || name === "AddrInUse"
    ? "ERR_ADDRESS_IN_USE"
    : "ERR_LISTEN";
}

// Whether something accepts connections at the target: a live server.
function answers(
  adapter: RuntimeAdapter,
  target: SocketTarget,
): Promise<boolean> {
  return new Promise((resolve) => {
    const t = new Transport(4096);
    let settled = false;
    // A server too busy to answer within the limit is still a live one.
    const timer = setTimeout(() => settle(true), 2000);
    const settle = (live: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      t.close();
      resolve(live);
    };
    t.waker = { wake: () => settle(t.established) };
    adapter.connect(target, t);
  });
}
