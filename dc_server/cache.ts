/**
 * The cache interface of the server framework (the C API's `DC_CACHE_cb`):
 * what a store must offer so that {@linkcode DcServer} can serve from it.
 *
 * @module
 */

/** A value, or a promise of one: a cache may answer now or later. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A session store. Every method takes `now`, the server's clock in
 * milliseconds, so that expiry is decided by the server's time and tests can
 * inject a clock. Each method may answer synchronously or with a promise;
 * the server keeps responses in request order either way.
 *
 * @example A tiny store backed by a Map (no expiry, no bound)
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DcCache } from "@distcache/distcache/dc_server";
 *
 * const map = new Map<string, Uint8Array>();
 * const key = (id: Uint8Array) => String.fromCharCode(...id);
 * const cache: DcCache = {
 *   add: (_now, _timeoutMs, id, data) =>
 *     map.has(key(id)) ? false : (map.set(key(id), data.slice()), true),
 *   get: (_now, id) => map.get(key(id)) ?? null,
 *   remove: (_now, id) => map.delete(key(id)),
 *   have: (_now, id) => map.has(key(id)),
 *   numItems: () => map.size,
 * };
 * const id = new TextEncoder().encode("id");
 * assert.equal(cache.add(0, 60_000, id, new Uint8Array([1, 2, 3, 4, 5])), true);
 * assert.equal(cache.add(0, 60_000, id, new Uint8Array(5)), false); // no replacing
 * assert.equal(cache.numItems(0), 1);
 * ```
 */
export interface DcCache {
  /**
   * Stores a session that expires `timeoutMs` after `now`.
   *
   * The store must copy `id` and `data`: the server reuses their memory.
   *
   * @returns `false` when a live session with this id is already stored
   * (the server answers `DC_ADD_ERR_MATCHING_SESSION`).
   */
  add(
    now: number,
    timeoutMs: number,
    id: Uint8Array,
    data: Uint8Array,
  ): MaybePromise<boolean>;
  /**
   * The data of a live session, or null. The returned bytes need only stay
   * valid until the next call on this cache: the server copies them out at
   * once.
   */
  get(now: number, id: Uint8Array): MaybePromise<Uint8Array | null>;
  /** Removes a live session; `false` when there was none. */
  remove(now: number, id: Uint8Array): MaybePromise<boolean>;
  /** Whether a live session with this id is stored. */
  have(now: number, id: Uint8Array): MaybePromise<boolean>;
  /** Number of live sessions (expired ones are purged first). */
  numItems(now: number): MaybePromise<number>;
  /**
   * A hint, before a batch of requests is served: these ids (of GETs,
   * HAVEs and REMOVEs about to come, in order) will be looked up. A store
   * may use it to start what the lookups will wait on (the default store
   * brings their memory into the CPU's caches together, so that the waits
   * overlap). It must change nothing: every answer is the same with or
   * without it. It returns `false` when it gains nothing now (a store small
   * enough to sit in the CPU's caches): the server then stops asking for a
   * while. The server hands the very arrays it then gives those
   * lookups (bytes unchanged until then) first, in the order it serves
   * them, then those of requests pipelined behind (whose lookups get other
   * arrays of the same bytes).
   */
  warm?(ids: readonly Uint8Array[]): boolean | void;
  /** Counters for monitoring, when the store keeps them. */
  stats?(): DcCacheStats;
  /**
   * Calls `visit` with every live session, for a snapshot: its id and data
   * (views valid only during the call) and the milliseconds it has left.
   * The store must not change during the call. A store without it (one
   * that keeps its sessions elsewhere, such as Redis) has nothing to
   * snapshot: `serve({ snapshot })` refuses it.
   */
  exportSessions?(now: number, visit: DcSessionVisitor): void;
  /**
   * Stores a session restored from a snapshot, to expire `timeoutMs` after
   * `now`, as {@linkcode DcCache.add} would (copying `id` and `data`).
   *
   * @returns `false` when it was not stored (a live session has this id).
   */
  importSession?(
    now: number,
    timeoutMs: number,
    id: Uint8Array,
    data: Uint8Array,
  ): boolean;
  /** Releases whatever the store holds. */
  close?(): void;
}

/**
 * What {@linkcode DcCache.exportSessions} calls for each live session:
 * the views are valid only during the call.
 */
export type DcSessionVisitor = (
  id: Uint8Array,
  data: Uint8Array,
  remainingMs: number,
) => void;

/** Counters a {@linkcode DcCache} may report. */
export interface DcCacheStats {
  /** Sessions stored now (expired ones not yet purged included). */
  items: number;
  /**
   * Bytes of ids and data stored now (expired sessions not yet purged
   * included): what {@linkcode DcCacheOptions.maxBytes} bounds.
   */
  bytes: number;
  /** Sessions dropped early to make room for new ones. */
  evictions: number;
  /** Sessions dropped because their time was up. */
  expirations: number;
}

/**
 * Bounds a store is made with beside its session count.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDefaultCache, type DcCacheOptions } from "@distcache/distcache/dc_server";
 *
 * const options: DcCacheOptions = { maxBytes: 64 << 20 };
 * const cache = createDefaultCache(1_000_000, options);
 * assert.equal(cache.numItems(0), 0);
 * ```
 */
export interface DcCacheOptions {
  /**
   * Most bytes of session ids and data held at once (memcached's `-m`):
   * past it, an ADD evicts the sessions that expire soonest until the new
   * one fits. At least 32832 (one session of a 64-byte id and 32768 bytes
   * of data). A store that cannot bound its bytes may ignore it.
   * @default {Infinity}
   */
  maxBytes?: number;
}

/**
 * Makes a {@linkcode DcCache} holding at most `maxSessions` sessions (the
 * C API's `cache_new`), within the bounds of `options`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDefaultCache, type DcCacheFactory } from "@distcache/distcache/dc_server";
 *
 * const factory: DcCacheFactory = (max, options) => createDefaultCache(max, options);
 * const cache = factory(1000, { maxBytes: 1 << 20 });
 * assert.equal(cache.numItems(0), 0);
 * ```
 */
export type DcCacheFactory = (
  maxSessions: number,
  options?: DcCacheOptions,
) => DcCache;
