/**
 * `serve()`: a whole cache server in one call.
 *
 * @module
 */

import {
  defaultMaxConnections,
  type DistcacheError,
  loopService,
  NalAddress,
  type NalAllowList,
  NalIdleTracker,
  NalListener,
  NalLoop,
  type NalLoopEntry,
  type NalSocketError,
  type NalSocketOwner,
  type NalTlsListenOptions,
  type RuntimeAdapter,
} from "../nal/mod.ts";
import type { DcCache, DcCacheFactory } from "./cache.ts";
import {
  DC_CLIENT_FLAG_IN_SERVER,
  DcServer,
  DcServerClient,
} from "./server.ts";
import { DcOptionError } from "./errors.ts";
import { type SnapshotOptions, Snapshotter } from "./snapshot.ts";
import type { DcServerStats } from "./stats.ts";

/** Default address of {@linkcode serve} and of the `server` tool. */
export const DEFAULT_SERVER_ADDRESS = "UNIX:/tmp/dcserver";
/** Default session bound, as the C `dc_server`. */
export const DEFAULT_SESSIONS = 512;

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /** Address to listen on, in libnal syntax. @default {"UNIX:/tmp/dcserver"} */
  listen?: string;
  /** Most sessions kept at once (64 .. 10,000,000 and more). @default {512} */
  sessions?: number;
  /**
   * Store to use: a factory given the session bound (and `maxBytes`), or a
   * store already made, such as a Redis store (the server closes it when
   * it stops). @default {createDefaultCache}
   */
  cache?: DcCacheFactory | DcCache;
  /**
   * Most bytes of session ids and data stored (`-maxbytes`): the default
   * store evicts the sessions that expire soonest to stay under it. From
   * 32832. @default {Infinity}
   */
  maxBytes?: number;
  /**
   * Raise every ADD's lifetime to at least this many milliseconds
   * (`-min-timeout`; at most 7 days): 300000 for Apache httpd 2.4's
   * mod_socache_dc, which sends lifetimes of 0..999 ms. @default {0}
   */
  minTimeoutMs?: number;
  /** Socket adapter. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /** Clock in milliseconds (tests inject one). @default {Date.now} */
  clock?: () => number;
  /** Buffer size of client connections (0: the libnal default). @default {0} */
  bufferSize?: number;
  /**
   * Called when a client is dropped for breaking the protocol (corrupt
   * frame, wrong protocol version): only that client is dropped.
   */
  onClientError?: (error: DistcacheError, where: ClientWhere) => void;
  /**
   * Called, at most once a second, while accepting connections fails (out
   * of file descriptors: EMFILE, ENFILE). The server backs off and keeps
   * serving its connected clients meanwhile.
   */
  onAcceptError?: (error: NalSocketError) => void;
  /**
   * Mode of a UNIX socket file, permission bits only (e.g. 0o600): the
   * socket is never reachable with looser permissions, not even while the
   * server starts. @default {what the process umask leaves}
   */
  socketMode?: number;
  /**
   * Owner and group of a UNIX socket file (numeric ids), set before the
   * socket is reachable, as the mode is. @default {the process's}
   */
  socketOwner?: NalSocketOwner;
  /**
   * TLS on a TCP address (`-tls-cert`, `-tls-key`; TLS 1.2 and 1.3): PEM
   * certificate chain and key, and with `ca` (`-tls-ca`) only clients
   * holding a certificate from that CA get in (mutual TLS). A client that
   * fails the handshake is dropped alone. @default {plain TCP}
   */
  tls?: NalTlsListenOptions;
  /**
   * Peers let in on a TCP address (`-allow`); others are closed at accept,
   * before a byte is read. @default {every peer}
   */
  allow?: NalAllowList;
  /**
   * Called, at most once a second, with how many peers `allow` refused
   * since the last call and the last one's address.
   */
  onDenied?: (count: number, address: string) => void;
  /**
   * Most clients connected at once (`-maxconns`); over it a new connection
   * is accepted and closed at once. @default {the open-files soft limit
   * less a margin (see `defaultMaxConnections()` in nal); no bound where
   * that limit cannot be read}
   */
  maxConnections?: number;
  /**
   * Called, at most once a second, with how many connections were refused
   * over `maxConnections` since the last call.
   */
  onRefused?: (count: number, maxConnections: number) => void;
  /**
   * Drop a client that completes no request for this many milliseconds
   * (`-idle-timeout`): one that sends nothing, or sits inside a partial
   * frame (a slowloris); one waiting for its asynchronous store's answers
   * is not idle. 0: never. @default {0}
   */
  idleTimeoutMs?: number;
  /**
   * The loop to serve on, e.g. one shared with a proxy in the same process
   * (it is not closed with the server). @default {a loop of its own}
   */
  loop?: NalLoop;
  /**
   * Keep the sessions across restarts (`-snapshot`): loaded before
   * listening, written encrypted on `close()` and every `intervalMs`.
   * @default {undefined: none}
   */
  snapshot?: SnapshotOptions;
}

/** Where a client that broke the protocol was, for a log line. */
export interface ClientWhere {
  /** The address the server listens on. */
  listener: string;
  /** The client's address (`""` for an unnamed UNIX peer). */
  peer: string;
}

/** A running server, as {@linkcode serve} returns it. */
export interface Server {
  /** The address listened on (with the real port when port 0 was asked). */
  readonly addr: string;
  /** Counters: sessions, bytes, operations by kind, connections... */
  stats(): DcServerStats;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops: closes every client and the listener (removing a UNIX socket file). */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a cache server and resolves once it listens.
 *
 * @example Serve on a UNIX socket, then stop
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs";
 * import * as os from "node:os";
 * import * as path from "node:path";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serve-"));
 * const server = await serve({ listen: `UNIX:${path.join(dir, "cache.sock")}` });
 * assert.equal(server.stats().items, 0);
 * await server.close();
 * assert.equal(fs.existsSync(path.join(dir, "cache.sock")), false); // removed
 * fs.rmdirSync(dir);
 * ```
 *
 * @throws {NalAddressError} for a bad address.
 * @throws {DcCacheRangeError} for `sessions` or `maxBytes` out of range.
 * @throws {DcOptionError} for `minTimeoutMs` out of range, or a snapshot
 *   with a bad key or interval, or of a store that cannot be snapshotted.
 * @throws {NalSocketError} when it cannot listen (port in use, live server on
 *   the UNIX path, missing directory).
 */
export async function serve(options: ServeOptions = {}): Promise<Server> {
  const addr = NalAddress.parse(
    options.listen ?? DEFAULT_SERVER_ADDRESS,
    options.bufferSize ?? 0,
  );
  const clock = options.clock ?? Date.now;
  // Each client is one entry of the loop, visited only when its socket or
  // its cache has news: an idle client costs nothing per request.
  const entries = new Map<DcServerClient, NalLoopEntry>();
  const server = new DcServer(options.sessions ?? DEFAULT_SESSIONS, {
    cache: options.cache,
    maxBytes: options.maxBytes,
    minTimeoutMs: options.minTimeoutMs,
    onWake: (client) => entries.get(client)?.mark(),
    onClientError: (err, client) =>
      options.onClientError?.(err, {
        listener: list.address(),
        peer: client.conn.peerAddress(),
      }),
  });
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  const idleMs = options.idleTimeoutMs ?? 0;
  if (!(maxConnections >= 1) || !(idleMs >= 0)) {
    server.close();
    throw new DcOptionError(
      maxConnections >= 1
        ? `invalid idleTimeoutMs ${idleMs}: must be 0 (never) or more`
        : `invalid maxConnections ${maxConnections}: must be 1 or more`,
    );
  }
  let snapshots: Snapshotter | null = null;
  try {
    if (options.snapshot !== undefined) {
      snapshots = new Snapshotter(server, options.snapshot, clock);
      await snapshots.load();
    }
  } catch (err) {
    server.close();
    throw err;
  }
  let list: NalListener;
  try {
    list = new NalListener({
      adapter: options.adapter,
      onError: options.onAcceptError,
      mode: options.socketMode,
      owner: options.socketOwner,
      tls: options.tls,
      allow: options.allow,
      onDenied: options.onDenied,
    });
  } catch (err) {
    server.close();
    throw err;
  }
  if (!(await list.create(addr))) {
    server.close();
    throw list.error!;
  }
  const loop = options.loop ?? new NalLoop();
  const forget = (client: DcServerClient): void => {
    entries.get(client)?.remove();
    entries.delete(client);
    idle?.delete(client);
  };
  // One timer for every client: a client is touched each time it makes a
  // request, and dropped when its time runs out with nothing in flight.
  const idle = idleMs > 0
    ? new NalIdleTracker<DcServerClient>(loop, idleMs, (client) => {
      if (client.inFlight > 0) {
        idle!.touch(client);
        return;
      }
      server.countIdleClosed();
      server.delClient(client);
      forget(client);
    })
    : null;
  // Each turn, before any client is served, the store is told every id
  // the ready clients ask for, to fetch their memory together; a store
  // that cannot be warmed costs the turns nothing.
  const ready: DcServerClient[] = [];
  const warming = server.canWarm()
    ? loop.beforeVisits((batch) => {
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i];
        const client = e.source;
        if (
          !e.removed && client instanceof DcServerClient &&
          entries.get(client) === e
        ) ready.push(client);
      }
      // (A client alone has no neighbour's lookups to overlap with; its own
      // pipeline would be, but looking for one costs a lone request more
      // than it gains.)
      if (ready.length > 1) server.warm(ready);
      ready.length = 0;
    })
    : null;
  const acceptor = loop.accept(list, (conn) => {
    const client = server.newClient(conn, DC_CLIENT_FLAG_IN_SERVER);
    idle?.touch(client);
    entries.set(
      client,
      loop.add(client, () => {
        const requests = client.requests;
        if (!server.clientIo(client, clock())) forget(client);
        else if (idle !== null && client.requests !== requests) {
          idle.touch(client);
        }
      }),
    );
  }, {
    maxConnections,
    onRefused: (count) => options.onRefused?.(count, maxConnections),
    countRefused: () => server.countRefused(),
  });
  snapshots?.start();

  const { finished, close } = loopService(loop, async () => {
    acceptor.remove();
    warming?.remove();
    idle?.close();
    for (const entry of entries.values()) entry.remove();
    entries.clear();
    try {
      // Served no more: what is stored now is what the snapshot keeps.
      await snapshots?.stop();
    } finally {
      server.close();
      try {
        if (options.loop === undefined) await loop.close();
      } finally {
        await list.closeAndWait();
      }
    }
  });
  return {
    addr: list.address(),
    stats: () => {
      const stats = server.stats(clock());
      stats.connectionsDenied = list.denied();
      return stats;
    },
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}
