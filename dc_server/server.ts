/**
 * DC_SERVER: the server framework of libdistcacheserver. It turns requests
 * read from client plugs into cache operations and writes the answers back,
 * byte for byte as the C `dc_server` answers them.
 *
 * @module
 */

import {
  addPayloadError,
  clampTimeout,
  DC_MAX_TIMEOUT_MS,
  DC_PLUG_FLAG_NOFREE_CONN,
  DcAddErr,
  type DcAddPayload,
  DcCmd,
  DcErr,
  DcPlug,
  type DcPlugCommand,
  decodeAddPayload,
} from "../dc_enc/mod.ts";
import type { DistcacheError, NalConnection, NalSelector } from "../nal/mod.ts";
import type {
  DcCache,
  DcCacheFactory,
  DcCacheOptions,
  DcSessionVisitor,
} from "./cache.ts";
import { createDefaultCache } from "./cache_default.ts";
import { DcOptionError } from "./errors.ts";
import { type DcServerStats, OperationCounters } from "./stats.ts";
import { type InFlight, InFlightLine, MAX_IN_FLIGHT } from "./_in_flight.ts";

/** `newClient` flag: `delClient` leaves the connection open. */
export const DC_CLIENT_FLAG_NOFREE_CONN = 1;
/**
 * `newClient` flag: the server owns the client: `clientsIo` serves it and
 * deletes it when it dies.
 */
export const DC_CLIENT_FLAG_IN_SERVER = 2;

/**
 * Longest session lifetime an ADD may ask for: 7 days, in milliseconds.
 *
 * @deprecated Use `DC_MAX_TIMEOUT_MS` from `dc_enc`, the one home of the
 * protocol's limits; this alias stays for code that imported it from here.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MAX_TIMEOUT_MS } from "@distcache/distcache/dc_enc";
 * import { DC_MAX_EXPIRY_MS } from "@distcache/distcache/dc_server";
 *
 * assert.equal(DC_MAX_EXPIRY_MS, DC_MAX_TIMEOUT_MS);
 * ```
 */
export const DC_MAX_EXPIRY_MS: number = DC_MAX_TIMEOUT_MS;

const EMPTY = new Uint8Array(0);
const RESPONSE_BYTE: Uint8Array[] = [];
function codeBytes(code: number): Uint8Array {
  return RESPONSE_BYTE[code] ??= new Uint8Array([code]);
}
// warm() calls passed over after a store says it gains nothing: a few
// seconds of turns of a busy server, after which it is asked again (the
// store may have grown).
const WARM_IDLE_CALLS = 4096;
const OK = codeBytes(DcErr.OK);
const NOTOK = codeBytes(DcErr.NOTOK);

// Marks a request after which the client must be dropped (an ADD payload
// too short to hold its header, as the C server does).
const DROP = Symbol("drop");
type Answer = Uint8Array | typeof DROP;
// What #execute returns when an asynchronous cache will answer: the request
// has taken its place in the client's line.
const LATER = Symbol("later");

let factory: DcCacheFactory = createDefaultCache;

/**
 * A client of a {@linkcode DcServer}: a connection and the plug that speaks
 * the protocol over it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CLIENT_FLAG_IN_SERVER, DcServer } from "@distcache/distcache/dc_server";
 * import { NalConnection } from "@distcache/distcache/nal";
 *
 * const server = new DcServer(512);
 * const [a, b] = [new NalConnection(), new NalConnection()];
 * NalConnection.createPair(a, b, 4096);
 * const client = server.newClient(a, DC_CLIENT_FLAG_IN_SERVER);
 * assert.equal(client.conn, a);
 * ```
 */
export class DcServerClient {
  /** The client's connection. */
  readonly conn: NalConnection;
  /** The protocol plug over the connection. */
  readonly plug: DcPlug;
  /** `DC_CLIENT_FLAG_*` given to `newClient`. */
  readonly flags: number;
  /** Why the client was dropped, when it was for a protocol error. */
  error: DistcacheError | null = null;
  /**
   * Requests whose answers an asynchronous cache has yet to give (or gave
   * early, and wait for those before them).
   */
  inFlight = 0;
  /**
   * As many requests as a client may have in flight (16) await an
   * asynchronous cache, or a malformed request waits behind them: no more
   * is read for now.
   */
  busy = false;
  /** A request waits because the previous answer is not all queued yet. */
  blocked = false;
  /** Deleted (or found dead); nothing more is done for it. */
  dead = false;
  /** Requests taken so far (a client that makes none is idle). */
  requests = 0;

  /**
   * Wraps a connection (use {@linkcode DcServer.prototype.newClient}).
   *
   * @param conn The client's connection.
   * @param flags `DC_CLIENT_FLAG_*`.
   */
  constructor(conn: NalConnection, flags: number) {
    this.conn = conn;
    this.flags = flags;
    // The server, not the plug, decides whether the connection is closed.
    this.plug = new DcPlug(conn, DC_PLUG_FLAG_NOFREE_CONN);
  }

  /**
   * Calls `onNews` on each event of the client's connection (an
   * event-driven owner's `NalLoop` watches the client).
   *
   * @param onNews Called on each event; `null` stops watching.
   * @returns `false` when the client's connection has no socket.
   */
  watch(onNews: (() => void) | null): boolean {
    return this.plug.watch(onNews);
  }

  /**
   * Whether serving the client now would find work no event announces
   * (see {@linkcode DcPlug.prototype.hasWork}). A busy client has none:
   * it waits for its asynchronous cache, whose answer wakes it.
   */
  hasWork(): boolean {
    return !this.busy && !this.dead && this.plug.hasWork();
  }
}

/** Options for {@linkcode DcServer}. */
export interface DcServerOptions {
  /**
   * Store to use instead of the one set with `DcServer.setCache`: a
   * factory, or a store already made (which the server then owns and
   * closes; `maxBytes` does not reach it).
   */
  cache?: DcCacheFactory | DcCache;
  /**
   * Most bytes of session ids and data the store holds, passed to its
   * factory (the default store evicts the soonest to expire to stay under
   * it; see {@linkcode DcCacheOptions.maxBytes}). @default {Infinity}
   */
  maxBytes?: number;
  /**
   * Every ADD's lifetime is raised to at least this many milliseconds
   * (never above 7 days), for clients that send lifetimes too short to be
   * of use, such as Apache httpd 2.4's mod_socache_dc (0..999 ms). An ADD
   * over 7 days is still refused. 0..604800000. @default {0}
   */
  minTimeoutMs?: number;
  /**
   * Called when the server has work to do outside a select: an
   * asynchronous cache answered for this server-owned client.
   */
  onWake?: (client: DcServerClient) => void;
  /** Called when a client is dropped for a protocol error. */
  onClientError?: (error: DistcacheError, client: DcServerClient) => void;
}

/**
 * A cache server (the C API's `DC_SERVER`): a cache plus the clients it
 * serves. Drive it with a selector loop (`clientsToSelect`, `select`,
 * `clientsIo`), or let {@linkcode serve} do that.
 *
 * @example Serve one request over a connection pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CLIENT_FLAG_IN_SERVER, DcServer } from "@distcache/distcache/dc_server";
 * import { DcCmd, DcPlug, DC_PLUG_FLAG_TO_SERVER } from "@distcache/distcache/dc_enc";
 * import { NalConnection, NalSelector } from "@distcache/distcache/nal";
 *
 * const server = new DcServer(512);
 * const [c, s] = [new NalConnection(), new NalConnection()];
 * NalConnection.createPair(c, s, 4096);
 * server.newClient(s, DC_CLIENT_FLAG_IN_SERVER);
 * const plug = new DcPlug(c, DC_PLUG_FLAG_TO_SERVER);
 * plug.write(1, DcCmd.HAVE, new TextEncoder().encode("id"));
 * plug.commit();
 * const sel = new NalSelector();
 * while (plug.peek() === null) {
 *   plug.io();
 *   server.clientsIo();
 *   server.clientsToSelect(sel);
 *   plug.toSelect(sel);
 *   await sel.select(100_000);
 * }
 * assert.deepEqual(plug.peek()?.payload, new Uint8Array([1])); // no such session
 * server.close();
 * ```
 */
export class DcServer {
  /** Clients owned by the server (`DC_CLIENT_FLAG_IN_SERVER`). */
  readonly #clients = new Set<DcServerClient>();
  readonly #cache: DcCache;
  readonly #counters = new OperationCounters();
  readonly #options: DcServerOptions;
  readonly #minTimeoutMs: number;
  readonly #lines = new Map<DcServerClient, InFlightLine<Answer>>();
  // Filled by each ADD (its views are handed to the cache, which copies).
  readonly #addFields: DcAddPayload = {
    timeoutMs: 0,
    idLength: 0,
    id: EMPTY,
    data: EMPTY,
  };

  /**
   * Uses `factory` for servers created from now on
   * (`DC_SERVER_set_cache`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { createDefaultCache, DcServer } from "@distcache/distcache/dc_server";
   *
   * DcServer.setCache((max) => createDefaultCache(max));
   * assert.equal(new DcServer(512).itemsStored(), 0); // servers made from now on use it
   * DcServer.setDefaultCache();
   * ```
   */
  static setCache(cacheFactory: DcCacheFactory): void {
    factory = cacheFactory;
  }

  /**
   * Goes back to the default cache for servers created from now on
   * (`DC_SERVER_set_default_cache`).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DcServer } from "@distcache/distcache/dc_server";
   *
   * DcServer.setDefaultCache();
   * assert.equal(new DcServer(512).itemsStored(), 0);
   * ```
   */
  static setDefaultCache(): void {
    factory = createDefaultCache;
  }

  /**
   * Makes a server whose cache holds at most `maxSessions` sessions.
   *
   * @param maxSessions Session bound (64 .. 10,000,000 and more).
   * @param options Cache, its byte budget, the lifetime floor, callbacks.
   * @throws {DcOptionError} for a `minTimeoutMs` out of range.
   * @throws {DistcacheError} for a bound the cache rejects.
   */
  constructor(maxSessions: number, options: DcServerOptions = {}) {
    this.#options = options;
    const minTimeoutMs = options.minTimeoutMs ?? 0;
    if (
      !Number.isInteger(minTimeoutMs) || minTimeoutMs < 0 ||
      minTimeoutMs > DC_MAX_TIMEOUT_MS
    ) {
      throw new DcOptionError(
        `invalid minTimeoutMs ${minTimeoutMs}: must be an integer 0..${DC_MAX_TIMEOUT_MS} (7 days)`,
      );
    }
    this.#minTimeoutMs = minTimeoutMs;
    const bounds: DcCacheOptions = options.maxBytes === undefined
      ? {}
      : { maxBytes: options.maxBytes };
    const cache = options.cache ?? factory;
    this.#cache = typeof cache === "function"
      ? cache(maxSessions, bounds)
      : cache;
  }

  /**
   * Live sessions stored, after purging expired ones.
   *
   * @param now Server clock in milliseconds. @default {Date.now()}
   */
  itemsStored(now: number = Date.now()): number | Promise<number> {
    return this.#cache.numItems(now);
  }

  /** Operations handled since creation or the last reset. */
  numOperations(): number {
    return this.#counters.operations;
  }

  /** Sets the operation count back to zero. */
  resetOperations(): void {
    this.#counters.reset();
  }

  /**
   * Counters: operations by kind, sessions, connections, evictions.
   *
   * @param now Server clock in milliseconds. @default {Date.now()}
   */
  stats(now: number = Date.now()): DcServerStats {
    const c = this.#counters;
    // Counting purges expired sessions first: read the store's figures
    // after, so that bytes and expirations agree with the count.
    const items = this.#cache.numItems(now);
    // A store that counts later (Redis) reports its last count; a failed
    // count must not become an unhandled rejection.
    if (items instanceof Promise) items.catch(() => {});
    const cache = this.#cache.stats?.();
    return {
      items: typeof items === "number" ? items : cache?.items ?? 0,
      bytes: cache?.bytes ?? 0,
      operations: c.operations,
      adds: c.adds,
      stored: c.stored,
      gets: c.gets,
      hits: c.hits,
      misses: c.misses,
      removes: c.removes,
      removed: c.removed,
      removeMisses: c.removeMisses,
      haves: c.haves,
      haveHits: c.haveHits,
      haveMisses: c.haveMisses,
      addErrors: c.addErrors,
      addErrorsByCode: Object.fromEntries(
        c.addErrorCodes.map((n, i) => [DcAddErr.CORRUPT + i, n]),
      ),
      connections: this.#clients.size,
      connectionsTotal: c.connectionsTotal,
      connectionsRefused: c.connectionsRefused,
      connectionsDenied: 0,
      idleClosed: c.idleClosed,
      protocolErrors: c.protocolErrors,
      storeErrors: c.storeErrors,
      evictions: cache?.evictions ?? 0,
      expirations: cache?.expirations ?? 0,
    };
  }

  /**
   * Makes a client of a connection (`DC_SERVER_new_client`).
   *
   * @param conn An established connection.
   * @param flags `DC_CLIENT_FLAG_IN_SERVER` to have `clientsIo` serve it,
   *   `DC_CLIENT_FLAG_NOFREE_CONN` to keep the connection open on delete.
   */
  newClient(conn: NalConnection, flags: number = 0): DcServerClient {
    const client = new DcServerClient(conn, flags);
    this.#counters.connectionsTotal++;
    if ((flags & DC_CLIENT_FLAG_IN_SERVER) !== 0) this.#clients.add(client);
    return client;
  }

  /**
   * Deletes a client: its plug is closed and, unless it was made with
   * `DC_CLIENT_FLAG_NOFREE_CONN`, its connection too.
   */
  delClient(client: DcServerClient): void {
    if (client.dead && !this.#clients.has(client)) return;
    client.dead = true;
    this.#clients.delete(client);
    this.#lines.delete(client);
    client.plug.close();
    if ((client.flags & DC_CLIENT_FLAG_NOFREE_CONN) === 0) client.conn.close();
  }

  /**
   * Serves the requests a client has sent (`DC_SERVER_process_client`):
   * each is answered in order into the plug's send side. Stops when no
   * whole request is left, or when the answer cannot be queued yet (the
   * client is not reading: its requests wait, unread, so its memory stays
   * bounded). With an asynchronous cache, up to 16 requests of the client
   * are in flight at once (a proxy multiplexes many clients over one
   * connection); their answers still leave in request order.
   *
   * @param client The client.
   * @param now Server clock in milliseconds. @default {Date.now()}
   * @returns `false` when the client must be dropped (dead connection,
   *   corrupt stream, malformed ADD).
   */
  processClient(client: DcServerClient, now: number = Date.now()): boolean {
    if (client.dead) return false;
    const plug = client.plug;
    client.blocked = false;
    const line = client.inFlight > 0 ? this.#lines.get(client) : undefined;
    if (line !== undefined) {
      if (!this.#writeAnswers(client, line)) return false;
      if (client.blocked || line.closing) return true;
    }
    while (client.inFlight < MAX_IN_FLIGHT) {
      const req = plug.peek();
      if (req === null) break;
      const first = client.inFlight === 0;
      // With nothing in flight, claim the write side first: if the
      // previous answer is still queued, this request waits, not yet
      // executed.
      if (first && !plug.write(req.requestUid, req.cmd, EMPTY)) {
        client.blocked = true;
        break;
      }
      client.requests++;
      const answer = this.#execute(req, now, client);
      if (first && answer !== LATER) {
        if (!this.#finish(client, answer)) return false;
        continue;
      }
      if (first) plug.rollback();
      if (answer !== LATER) {
        // Behind answers still awaited, this one waits its turn: a copy,
        // since a store's bytes are valid only until its next call.
        const behind = this.#lineOf(client);
        behind.push(
          req.requestUid,
          req.cmd,
          answer === DROP ? DROP : answer.slice(),
        );
        client.inFlight++;
        if (answer === DROP) {
          behind.closing = true;
          client.busy = true;
          return true;
        }
      }
      // The store copied what it needs: the next request may be read.
      plug.consume();
    }
    client.busy = client.inFlight >= MAX_IN_FLIGHT;
    return !client.dead;
  }

  /**
   * Readies the store for the requests these clients have sent, before
   * they are served: moves each client's arrived bytes in (as
   * {@linkcode DcServer.prototype.clientIo} does first) and hands the ids
   * of every whole GET, HAVE and REMOVE waiting, pipelined ones too, to the
   * store's {@linkcode DcCache.warm} in one call, so that a large store
   * fetches their memory together rather than one lookup after another.
   * Nothing is served and no answer changes; a store without `warm`, or
   * fewer than two ids, make it do nothing more than the moves, and after
   * the store's warm() says it gains nothing (returns false), the next
   * 4096 calls do nothing at all.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DC_CLIENT_FLAG_IN_SERVER, DcServer } from "@distcache/distcache/dc_server";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const server = new DcServer(1024);
   * const [a, b] = [new NalConnection(), new NalConnection()];
   * NalConnection.createPair(a, b, 4096);
   * const client = server.newClient(a, DC_CLIENT_FLAG_IN_SERVER);
   * server.warm([client]); // nothing has arrived: nothing to warm
   * assert.ok(server.clientIo(client));
   * server.close();
   * ```
   *
   * @param clients Clients about to be served (dead or busy ones are
   *   passed over).
   */
  warm(clients: readonly DcServerClient[]): void {
    if (this.#cache.warm === undefined) return;
    if (this.#warmIdle > 0) {
      this.#warmIdle--;
      return;
    }
    for (let i = 0; i < clients.length; i++) this.#gather(clients[i]);
    this.#warmGathered();
  }

  /**
   * Adds every server-owned client to `sel` for the next select
   * (`DC_SERVER_clients_to_sel`).
   */
  clientsToSelect(sel: NalSelector): void {
    for (const client of this.#clients) {
      client.plug.toSelect(sel);
      // A whole request already pulled in by the last io() is news no
      // socket will announce again: the select must not wait for it.
      if (client.hasWork()) sel.interrupt();
    }
  }

  /**
   * Moves data for every server-owned client and serves its requests;
   * clients that died or broke the protocol are deleted
   * (`DC_SERVER_clients_io`).
   *
   * @param now Server clock in milliseconds. @default {Date.now()}
   * @returns The number of clients still served.
   */
  clientsIo(now: number = Date.now()): number {
    for (const client of this.#clients) this.clientIo(client, now);
    return this.#clients.size;
  }

  /**
   * One client's share of {@linkcode DcServer.prototype.clientsIo}: moves
   * its data, serves its whole requests, moves the answers out, and deletes
   * it if it died or broke the protocol. For event-driven loops that know
   * which clients have news, so that an idle client costs nothing.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DcServer } from "@distcache/distcache/dc_server";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const server = new DcServer(1024);
   * const [a, b] = [new NalConnection(), new NalConnection()];
   * NalConnection.createPair(a, b, 4096);
   * const client = server.newClient(a);
   * assert.ok(server.clientIo(client)); // alive, nothing to do
   * ```
   *
   * @param client The client.
   * @param now Server clock in milliseconds. @default {Date.now()}
   * @returns `false` when the client was deleted.
   */
  clientIo(client: DcServerClient, now: number = Date.now()): boolean {
    const plug = client.plug;
    if (
      !stays(client, plug.io()) || !this.processClient(client, now) ||
      !stays(client, plug.io())
    ) {
      this.#drop(client);
      return false;
    }
    return true;
  }

  /**
   * Whether the store can be warmed ({@linkcode DcServer.prototype.warm}
   * does anything): it offers `warm` (the default store does; a Redis
   * store does not).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DcServer } from "@distcache/distcache/dc_server";
   *
   * const server = new DcServer(1024);
   * assert.equal(server.canWarm(), true); // the default store
   * server.close();
   * ```
   */
  canWarm(): boolean {
    return typeof this.#cache.warm === "function";
  }

  /**
   * Whether the store can be snapshotted: it offers `exportSessions` and
   * `importSession` (the default store does; a Redis store does not).
   */
  canSnapshot(): boolean {
    return typeof this.#cache.exportSessions === "function" &&
      typeof this.#cache.importSession === "function";
  }

  /**
   * Calls `visit` with every live session of the store (see
   * {@linkcode DcCache.exportSessions}).
   *
   * @throws {DcOptionError} when the store cannot be snapshotted.
   */
  exportSessions(visit: DcSessionVisitor, now: number = Date.now()): void {
    this.#snapshotStore().exportSessions!(now, visit);
  }

  /**
   * Stores a session restored from a snapshot (see
   * {@linkcode DcCache.importSession}).
   *
   * @throws {DcOptionError} when the store cannot be snapshotted.
   */
  importSession(
    timeoutMs: number,
    id: Uint8Array,
    data: Uint8Array,
    now: number = Date.now(),
  ): boolean {
    return this.#snapshotStore().importSession!(now, timeoutMs, id, data);
  }

  #snapshotStore(): DcCache {
    if (!this.canSnapshot()) {
      throw new DcOptionError(
        "this store keeps no sessions to snapshot (it has no exportSessions/importSession)",
      );
    }
    return this.#cache;
  }

  /**
   * Counts a connection refused before it became a client (over the
   * connection limit of whoever accepts for this server).
   */
  countRefused(): void {
    this.#counters.connectionsRefused++;
  }

  /** Counts a client dropped for idling (see `serve({ idleTimeoutMs })`). */
  countIdleClosed(): void {
    this.#counters.idleClosed++;
  }

  /** Whether the server owns no client. */
  clientsEmpty(): boolean {
    return this.#clients.size === 0;
  }

  /** Deletes every client and releases the cache. */
  close(): void {
    for (const client of [...this.#clients]) this.delClient(client);
    this.#cache.close?.();
  }

  #drop(client: DcServerClient): void {
    const err = client.plug.error;
    if (err) {
      client.error = err;
      this.#counters.protocolErrors++;
      this.#options.onClientError?.(err, client);
    }
    this.delClient(client);
  }

  // Writes an answer and consumes its request; false when the client must go.
  #finish(client: DcServerClient, answer: Answer): boolean {
    if (client.dead) return false;
    const plug = client.plug;
    if (answer === DROP) {
      plug.rollback();
      // An unknown command or an ADD too short for its header: the plug
      // saw a well-formed frame, so it recorded no error of its own.
      if (plug.error === null) this.#counters.protocolErrors++;
      this.#drop(client);
      return false;
    }
    plug.writeMore(answer);
    plug.commit();
    plug.consume();
    return true;
  }

  #lineOf(client: DcServerClient): InFlightLine<Answer> {
    let line = this.#lines.get(client);
    if (line === undefined) {
      line = new InFlightLine<Answer>();
      this.#lines.set(client, line);
    }
    return line;
  }

  // Hands the answer of an asynchronous cache to its request's place in
  // line; `answer` makes it of the store's value.
  #later<T>(
    client: DcServerClient,
    req: DcPlugCommand,
    pending: Promise<T>,
    answer: (value: T) => Answer,
  ): typeof LATER {
    const entry = this.#lineOf(client).push(req.requestUid, req.cmd, null);
    client.inFlight++;
    pending.then(
      (value) => this.#answered(client, entry, answer(value)),
      () => this.#answered(client, entry, this.#storeFailed()),
    );
    return LATER;
  }

  // A store that failed (Redis unreachable, a timeout) fails only this
  // request, with the answer a proxy gives when its server is unreachable.
  #storeFailed(): Answer {
    this.#counters.storeErrors++;
    return codeBytes(DcErr.DISCONNECTED);
  }

  // An answer from an asynchronous cache arrives outside any select: if it
  // is the oldest awaited, it and those ready behind it are written, and
  // the loop must come back to send them and serve the requests behind.
  #answered(
    client: DcServerClient,
    entry: InFlight<Answer>,
    answer: Answer,
  ): void {
    entry.answer = answer;
    const line = this.#lines.get(client);
    if (client.dead || line === undefined || line.entries[0] !== entry) return;
    if (!this.#writeAnswers(client, line)) return;
    if ((client.flags & DC_CLIENT_FLAG_IN_SERVER) === 0) return;
    // Send at once rather than on the loop's next turn; the loop comes
    // back only for what is left: requests already read, answers the
    // socket did not take, or a connection found dead.
    const plug = client.plug;
    if (
      plug.io() && plug.peek() === null && !client.blocked &&
      client.conn.getSend().used() === 0
    ) return;
    this.#options.onWake?.(client);
  }

  // Writes the answers at the head of the line that are known; false when
  // the client was dropped (a malformed request reached the head).
  #writeAnswers(client: DcServerClient, line: InFlightLine<Answer>): boolean {
    const plug = client.plug;
    const entries = line.entries;
    while (entries.length > 0 && entries[0].answer !== null) {
      const { uid, cmd, answer } = entries[0];
      if (answer === DROP) {
        this.#drop(client);
        return false;
      }
      if (!plug.write(uid, cmd, answer!)) {
        client.blocked = true;
        break;
      }
      plug.commit();
      entries.shift();
      client.inFlight--;
    }
    if (entries.length === 0) this.#lines.delete(client);
    client.busy = client.inFlight >= MAX_IN_FLIGHT || line.closing;
    return true;
  }

  // The answer to a request, or LATER when an asynchronous cache will give
  // it (the request has then taken its place in the client's line).
  #execute(
    req: DcPlugCommand,
    now: number,
    client: DcServerClient,
  ): Answer | typeof LATER {
    const c = this.#counters;
    c.operations++;
    const cache = this.#cache;
    const payload = req.payload;
    switch (req.cmd) {
      case DcCmd.ADD:
        c.adds++;
        return this.#add(req, now, client);
      case DcCmd.GET: {
        c.gets++;
        const data = cache.get(now, payload);
        return data instanceof Promise
          ? this.#later(client, req, data, this.#gotData)
          : this.#gotData(data);
      }
      case DcCmd.REMOVE:
        c.removes++;
        return this.#settle(
          client,
          req,
          cache.remove(now, payload),
          this.#removed,
        );
      case DcCmd.HAVE:
        c.haves++;
        return this.#settle(client, req, cache.have(now, payload), this.#had);
      default:
        return DROP;
    }
  }

  // The C server's checks, in its order: a payload too short for its
  // header drops the client; then those of addPayloadError.
  #add(
    req: DcPlugCommand,
    now: number,
    client: DcServerClient,
  ): Answer | typeof LATER {
    const payload = req.payload;
    const add = decodeAddPayload(payload, this.#addFields);
    if (add === null) return DROP;
    const code = addPayloadError(add);
    if (code !== null) return this.#refused(code);
    const lifetime = clampTimeout(add.timeoutMs, this.#minTimeoutMs);
    const stored = this.#cache.add(now, lifetime, add.id, add.data);
    return this.#settle(client, req, stored, this.#stored);
  }

  // Applies `answer` now for a plain value (the hot path allocates no
  // promise), later for a promise.
  #settle<T>(
    client: DcServerClient,
    req: DcPlugCommand,
    value: T | Promise<T>,
    answer: (v: T) => Answer,
  ): Answer | typeof LATER {
    return value instanceof Promise
      ? this.#later(client, req, value, answer)
      : answer(value);
  }

  #refused(code: number): Uint8Array {
    const c = this.#counters;
    c.addErrors++;
    c.addErrorCodes[code - DcAddErr.CORRUPT]++;
    return codeBytes(code);
  }

  // Adds the ids a client's waiting requests look up to the batch, after
  // moving its arrived bytes in.
  #gather(client: DcServerClient): void {
    if (client.dead || client.busy || client.inFlight > 0) return;
    const plug = client.plug;
    plug.io();
    this.#gatherFirst = true;
    plug.forEachWaiting(this.#gatherId);
  }

  #warmGathered(): void {
    const ids = this.#warmIds;
    const more = this.#warmMore;
    if (ids.length + more.length > 1) {
      for (let i = 0; i < more.length; i++) ids.push(more[i]);
      // A store that gains nothing now (small enough to sit in the CPU's
      // caches) is asked again only after a while.
      if (this.#cache.warm!(ids) === false) this.#warmIdle = WARM_IDLE_CALLS;
    }
    ids.length = 0;
    more.length = 0;
  }

  // The ids of the lookups warm() found waiting: those of the requests the
  // plugs hold first, in the order they are served, since the store reuses
  // the hashes of the ids it is next given (the very arrays) in that order;
  // then those pipelined behind them (the plugs give those fresh arrays).
  readonly #warmIds: Uint8Array[] = [];
  readonly #warmMore: Uint8Array[] = [];
  #gatherFirst = false;
  // Calls of warm() left to pass over: the store said it gains nothing.
  #warmIdle = 0;
  readonly #gatherId = (cmd: DcCmd, payload: Uint8Array): void => {
    const first = this.#gatherFirst;
    this.#gatherFirst = false;
    if (cmd === DcCmd.GET || cmd === DcCmd.HAVE || cmd === DcCmd.REMOVE) {
      (first ? this.#warmIds : this.#warmMore).push(payload);
    }
  };

  // The answers of a store's outcome, counted by result; made once, so
  // that the per-request path allocates no closure.
  readonly #stored = (stored: boolean): Uint8Array => {
    if (!stored) return this.#refused(DcAddErr.MATCHING_SESSION);
    this.#counters.stored++;
    return OK;
  };
  readonly #gotData = (data: Uint8Array | null): Uint8Array => {
    if (data === null) {
      this.#counters.misses++;
      return NOTOK;
    }
    this.#counters.hits++;
    return data;
  };
  readonly #removed = (removed: boolean): Uint8Array => {
    if (removed) this.#counters.removed++;
    else this.#counters.removeMisses++;
    return removed ? OK : NOTOK;
  };
  readonly #had = (found: boolean): Uint8Array => {
    if (found) this.#counters.haveHits++;
    else this.#counters.haveMisses++;
    return found ? OK : NOTOK;
  };
}

// Whether a client stays after its plug's io(): alive, or its peer ended
// its stream (a half-close) while answers it asked for are still to come
// from an asynchronous cache.
function stays(client: DcServerClient, alive: boolean): boolean {
  return alive ||
    (client.inFlight > 0 && client.plug.error === null &&
      client.conn.peerEnded());
}
