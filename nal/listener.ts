/**
 * NAL_LISTENER: a listening socket whose connections are accepted into
 * {@linkcode NalConnection} objects.
 *
 * @module
 */

import { formatTarget, type NalAddress } from "./address.ts";
import {
  attachTransport,
  type NalConnection,
  transportOf,
} from "./connection.ts";
import { NalSocketError } from "./errors.ts";
import { defaultAdapter } from "./runtime/mod.ts";
import type {
  RuntimeAdapter,
  RuntimeListener,
  SocketTarget,
} from "./runtime/types.ts";
import {
  parentExists,
  pathKind,
  removeFile,
  socketInode,
} from "./runtime/unix_path.ts";
import type { NalSelector } from "./selector.ts";
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
}

// Accept failures are reported at most this often.
const REPORT_INTERVAL_MS = 1000;

// Accepted connections wait here, already reading, until accept() takes
// them. Kept off the public class.
interface ListenerCore {
  runtime: RuntimeListener;
  queue: Transport[];
  waker: Waker | null;
  blocked: (() => void)[];
  bufferSize: number;
  unixPath: string | null;
  unixInode: number;
}

const cores = new WeakMap<NalListener, ListenerCore>();

/** The accept queue of a listener (nal-internal, for the selector). */
export function listenerCoreOf(
  list: NalListener,
): { queue: Transport[]; waker: Waker | null } | undefined {
  return cores.get(list);
}

/**
 * A listener (the seed's `NAL_LISTENER`). A UNIX listener replaces a stale
 * socket file left by a dead server, refuses a path where a live server
 * answers, and removes its socket file on close.
 *
 * @example Accept one connection, blocking
 * ```ts
 * import { NalAddress, NalConnection, NalListener } from "@distcache/distcache/nal";
 *
 * const list = new NalListener();
 * if (!(await list.create(NalAddress.parse("IP:127.0.0.1:0")))) {
 *   throw list.error;
 * }
 * const client = new NalConnection();
 * client.create(NalAddress.parse(list.address()));
 * const conn = new NalConnection();
 * await list.acceptBlock(conn);
 * conn.close();
 * client.close();
 * list.close();
 * ```
 */
export class NalListener {
  readonly #adapter: RuntimeAdapter;
  readonly #onError: ((error: NalSocketError) => void) | undefined;
  #address = "";
  /** Why the last `create` failed, if it did. */
  error: NalSocketError | null = null;

  /**
   * Makes an idle listener; `create` makes it listen.
   *
   * @param options Which socket adapter to use.
   */
  constructor(options: NalListenerOptions = {}) {
    this.#adapter = options.adapter ?? defaultAdapter();
    this.#onError = options.onError;
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
    if (target.kind === "unix") {
      const problem = await this.#prepareUnixPath(target.path, addr);
      if (problem !== null) {
        this.error = problem;
        return false;
      }
    }
    const onError = this.#onError;
    let lastReport = -Infinity;
    let failures = 0;
    const onAcceptError = (err: Error): void => {
      failures++;
      const now = Date.now();
      if (onError === undefined || now - lastReport < REPORT_INTERVAL_MS) {
        return;
      }
      const times = failures === 1 ? "" : ` (${failures} times)`;
      lastReport = now;
      failures = 0;
      onError(
        new NalSocketError(
          "ERR_ACCEPT",
          `cannot accept on "${this.#address}"${times}: ${
            describeAcceptError(err)
          }; retrying`,
          { cause: err },
        ),
      );
    };
    const core: ListenerCore = {
      runtime: null as unknown as RuntimeListener,
      queue: [],
      waker: null,
      blocked: [],
      bufferSize: addr.bufferSize(),
      unixPath: target.kind === "unix" ? target.path : null,
      unixInode: -1,
    };
    try {
      core.runtime = await this.#adapter.listen(target, () => {
        const t = new Transport(core.bufferSize, `client of ${this.#address}`);
        core.queue.push(t);
        core.waker?.wake();
        core.blocked.shift()?.();
        return t;
      }, {
        onAcceptError,
        // A socket file made again after a pause is ours too.
        onRebind: () => {
          if (core.unixPath !== null) {
            core.unixInode = socketInode(core.unixPath);
          }
        },
      });
    } catch (err) {
      const code = listenCode(err);
      // Bun says only "Failed to listen at <host>": name the reason the
      // same way on every runtime.
      const why = code === "ERR_ADDRESS_IN_USE"
        ? "address in use"
        : (err as Error).message;
      return this.#fail(code, `cannot listen on "${addr}": ${why}`, err);
    }
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
      return true;
    }
    return false;
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
  }

  /** Same as {@linkcode NalListener.prototype.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@linkcode NalListener.prototype.closeAndWait}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.closeAndWait();
  }

  async #prepareUnixPath(
    path: string,
    addr: NalAddress,
  ): Promise<NalSocketError | null> {
    if (!parentExists(path)) {
      return new NalSocketError(
        "ERR_LISTEN",
        `cannot listen on "${addr}": directory does not exist`,
      );
    }
    const kind = pathKind(path);
    if (kind === "other") {
      return new NalSocketError(
        "ERR_ADDRESS_IN_USE",
        `cannot listen on "${addr}": the path exists and is not a socket`,
      );
    }
    if (kind === "socket") {
      if (await answers(this.#adapter, { kind: "unix", path })) {
        return new NalSocketError(
          "ERR_ADDRESS_IN_USE",
          `cannot listen on "${addr}": a live server answers on that socket`,
        );
      }
      removeFile(path);
    }
    return null;
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
