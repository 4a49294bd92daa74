/**
 * The default session store: lookups by id in O(1) on average (a keyed hash
 * of the id bytes into an open-addressing table), expiry order in a binary
 * min-heap (O(log n) updates), and ids and data kept in large slab pages
 * rather than one object per session.
 *
 * @module
 */

import { DC_MAX_ID_LEN, DC_MAX_TOTAL_DATA } from "../dc_enc/constants.ts";
import { DistcacheError } from "../nal/mod.ts";
import type {
  DcCache,
  DcCacheOptions,
  DcCacheStats,
  DcSessionVisitor,
} from "./cache.ts";
import { ExpiryHeap } from "./_expiry_heap.ts";
import { halfSipHash } from "./_halfsiphash.ts";
import { IdIndex } from "./_id_index.ts";
import {
  HEAD_BYTES,
  HEAD_EXPIRY,
  HEAD_HASH,
  HEAD_LENS,
  pageOf,
  Slab,
  wordOf,
} from "./_slab.ts";

// Ids warm() hashes before it reads their index entries: enough to
// overlap the latencies of a turn's requests, few enough that the first
// ones are still in cache when they are served.
const WARM_BATCH = 64;
// Sessions from which warm() pays: below, index and records (about 600
// bytes a session of 16 + 512 bytes) fit in a core's few MiB of cache.
const WARM_FROM = 10_000;

/**
 * Fewest sessions a store may be bounded to (as the C server).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MIN_SESSIONS } from "@distcache/distcache/dc_server";
 *
 * assert.equal(MIN_SESSIONS, 64);
 * ```
 */
export const MIN_SESSIONS = 64;

/**
 * Most sessions a store may be bounded to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MAX_SESSIONS } from "@distcache/distcache/dc_server";
 *
 * assert.equal(MAX_SESSIONS, 100000000);
 * ```
 */
export const MAX_SESSIONS = 100_000_000;

/**
 * Smallest byte budget a store may be given: one session of the longest id
 * (64 bytes) and the most data (32768 bytes), so that every session the
 * protocol can carry fits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MIN_MAX_BYTES } from "@distcache/distcache/dc_server";
 *
 * assert.equal(MIN_MAX_BYTES, 64 + 32768);
 * ```
 */
export const MIN_MAX_BYTES: number = DC_MAX_ID_LEN + DC_MAX_TOTAL_DATA;

/**
 * A value the default store cannot take: a session bound out of range
 * (code `ERR_SESSIONS`), a byte budget out of range (`ERR_MAX_BYTES`), an
 * id or data of a length it cannot hold
 * (`ERR_ID_RANGE`, `ERR_DATA_RANGE`), a timeout that is negative or not a
 * number (`ERR_TIMEOUT_RANGE`), or a session that would take the store past
 * 32 GiB of records (`ERR_MEMORY`). The server checks ids, data and
 * timeouts before it calls the store, so only a direct caller meets those.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDefaultCache, DcCacheRangeError } from "@distcache/distcache/dc_server";
 *
 * assert.throws(() => createDefaultCache(10), DcCacheRangeError); // under 64 sessions
 * ```
 */
export class DcCacheRangeError extends DistcacheError {
  /**
   * Makes a range error.
   *
   * @param code `ERR_SESSIONS`, `ERR_MAX_BYTES`, `ERR_ID_RANGE`,
   * `ERR_DATA_RANGE`, `ERR_TIMEOUT_RANGE` or `ERR_MEMORY`.
   * @param message The bad value and the valid range.
   */
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/**
 * The default {@linkcode DcCache}: holds at most `maxSessions` sessions,
 * each an id of 1..64 bytes and 0..32768 bytes of data, and answers every
 * call synchronously.
 *
 * A session expires `timeoutMs` after the `now` of its ADD and is never
 * returned once `now >= expiry`, whether or not it has been purged yet.
 * When the store is full, an ADD first purges expired sessions and, if it is
 * still full, evicts the sessions that expire soonest:
 * `max(1, floor(maxSessions / 30))` of them at once, as the C server does, so
 * that a burst of ADDs into a full store does not pay for one eviction each.
 * With a byte budget (`maxBytes`), an ADD whose id and data would take the
 * bytes stored past it purges expired sessions and then evicts the soonest
 * to expire, one by one, until the new session fits.
 *
 * Memory: per session, one record of a 20-byte header, the id and the data,
 * rounded up to a size class (at most 7 bytes more up to 1 KiB, then at
 * most about 3% more), in 16 KiB..1 MiB pages;
 * plus 27..53 bytes of index and expiry heap. Everything grows as sessions
 * arrive, so a large bound costs nothing until it is used. Freed records
 * are reused by later sessions of a similar size, but pages are returned
 * to the system only by {@linkcode DefaultCache.close}. Records may take
 * 32 GiB at most. The byte budget counts ids and data, as `stats().bytes`
 * does, so the memory it allows is `maxBytes` plus, per session, 47..73
 * bytes (record header, index, expiry heap) and up to 3% of rounding:
 * within about 10% for sessions of 2 KiB and more, several times the budget
 * for sessions of tens of bytes, which `maxSessions` bounds better.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DefaultCache } from "@distcache/distcache/dc_server";
 *
 * const cache = new DefaultCache(1000);
 * const id = new TextEncoder().encode("id");
 * cache.add(0, 60_000, id, new Uint8Array([1, 2, 3]));
 * console.log(cache.get(1000, id)); // Uint8Array(3) [ 1, 2, 3 ]
 * assert.equal(cache.get(60_000, id), null); // expired
 * ```
 */
export class DefaultCache implements DcCache {
  readonly #max: number;
  readonly #maxBytes: number;
  // Key of the id hash: random per store, so ids that collide cannot be
  // chosen in advance.
  readonly #k0: number;
  readonly #k1: number;
  #slab!: Slab;
  #index!: IdIndex;
  #heap!: ExpiryHeap;
  #items = 0;
  #bytes = 0;
  #evictions = 0;
  #expirations = 0;
  // The ids of the last warm() and their hashes: a lookup given the very
  // array warm() was given next (the same object, in warm()'s order) takes
  // its hash instead of hashing again.
  readonly #warmed: Uint8Array[] = [];
  #warmedHashes = new Int32Array(WARM_BATCH);
  #warmedCount = 0;
  #warmedNext = 0;
  #warmSink = 0;

  /**
   * Makes an empty store.
   *
   * @param maxSessions Most sessions held at once (64 .. 100,000,000).
   * @param options `maxBytes`: most bytes of ids and data held at once
   *   (an integer from 32832, or Infinity: no bound).
   * @throws {DcCacheRangeError} (code `ERR_SESSIONS`, `ERR_MAX_BYTES`) for
   *   a bound out of range.
   */
  constructor(maxSessions: number, options: DcCacheOptions = {}) {
    if (
      !Number.isInteger(maxSessions) || maxSessions < MIN_SESSIONS ||
      maxSessions > MAX_SESSIONS
    ) {
      throw new DcCacheRangeError(
        "ERR_SESSIONS",
        `invalid session bound ${maxSessions}: must be an integer in ${MIN_SESSIONS}..${MAX_SESSIONS}`,
      );
    }
    this.#max = maxSessions;
    const maxBytes = options.maxBytes ?? Infinity;
    if (
      !(maxBytes === Infinity || Number.isSafeInteger(maxBytes)) ||
      maxBytes < MIN_MAX_BYTES
    ) {
      throw new DcCacheRangeError(
        "ERR_MAX_BYTES",
        `invalid byte budget ${maxBytes}: must be an integer from ${MIN_MAX_BYTES} (one session of a ${DC_MAX_ID_LEN}-byte id and ${DC_MAX_TOTAL_DATA} bytes of data), or Infinity`,
      );
    }
    this.#maxBytes = maxBytes;
    const key = crypto.getRandomValues(new Int32Array(2));
    this.#k0 = key[0];
    this.#k1 = key[1];
    this.#reset();
  }

  /**
   * Stores a copy of a session that expires at `now + timeoutMs`.
   *
   * @returns `false` when a live session has this id (an expired one is
   * replaced).
   * @throws {DcCacheRangeError} for an id of 0 or more than 64 bytes, data
   * of more than 32768 bytes, a negative timeout, or (`ERR_MEMORY`) when
   * 32 GiB of records are already held.
   */
  add(
    now: number,
    timeoutMs: number,
    id: Uint8Array,
    data: Uint8Array,
  ): boolean {
    const idLen = id.length;
    const dataLen = data.length;
    const expiry = now + timeoutMs;
    if (idLen === 0 || idLen > DC_MAX_ID_LEN) {
      throw new DcCacheRangeError(
        "ERR_ID_RANGE",
        `invalid session id of ${idLen} bytes: must be 1..${DC_MAX_ID_LEN}`,
      );
    }
    if (dataLen > DC_MAX_TOTAL_DATA) {
      throw new DcCacheRangeError(
        "ERR_DATA_RANGE",
        `invalid session data of ${dataLen} bytes: must be 0..${DC_MAX_TOTAL_DATA}`,
      );
    }
    if (!(timeoutMs >= 0) || Number.isNaN(expiry)) {
      throw new DcCacheRangeError(
        "ERR_TIMEOUT_RANGE",
        `invalid timeout ${timeoutMs} at time ${now}: must be a number >= 0`,
      );
    }
    const hash = halfSipHash(id, this.#k0, this.#k1);
    const found = this.#find(id, hash);
    if (found >= 0) {
      const old = this.#index.table[found << 1] - 1;
      if (this.#expiryOf(old) > now) return false;
      this.#drop(old, found);
      this.#expirations++;
    }
    // Besides making room when full, each ADD takes a couple of expired
    // sessions, so that a store nobody counts (numItems purges all) holds
    // its live sessions, not every session it was given, at O(log n) each.
    if (this.#items >= this.#max) this.#makeRoom(now);
    else this.#purge(now, 2);
    if (this.#bytes + idLen + dataLen > this.#maxBytes) {
      this.#makeByteRoom(now, idLen + dataLen);
    }

    const slab = this.#slab;
    const ref = slab.alloc(HEAD_BYTES + idLen + dataLen);
    if (ref === -1) {
      throw new DcCacheRangeError(
        "ERR_MEMORY",
        `cannot store a session of ${
          idLen + dataLen
        } bytes: records already take 32 GiB, the most a store holds`,
      );
    }
    const page = pageOf(ref);
    const word = wordOf(ref);
    // Data first: it may be a view from get() of a session just evicted,
    // whose record this one reuses.
    const start = (word << 2) + HEAD_BYTES;
    slab.pages[page].set(data, start + idLen);
    slab.pages[page].set(id, start);
    const i32 = slab.i32[page];
    slab.f64[page][(word + HEAD_EXPIRY) >> 1] = expiry;
    i32[word + HEAD_HASH] = hash;
    i32[word + HEAD_LENS] = (dataLen << 8) | idLen;
    this.#index.insert(hash, ref);
    this.#heap.push(ref, expiry);
    this.#items++;
    this.#bytes += idLen + dataLen;
    return true;
  }

  /**
   * The data of a live session, or null. The bytes are a view into the
   * store, valid until the next call on it.
   */
  get(now: number, id: Uint8Array): Uint8Array | null {
    const ref = this.#live(now, id);
    if (ref === -1) return null;
    const page = pageOf(ref);
    const word = wordOf(ref);
    const lens = this.#slab.i32[page][word + HEAD_LENS];
    const start = (word << 2) + HEAD_BYTES + (lens & 0xff);
    // A fresh view is cheaper than subarray(), which looks up a species.
    return new Uint8Array(this.#slab.buffers[page], start, lens >>> 8);
  }

  /**
   * Brings what lookups of these ids will read into the CPU's caches, for
   * a batch of requests about to be served: every id is hashed, then every
   * index entry read, then every record's header, so that the memory
   * latencies of the batch overlap instead of adding up one lookup after
   * another (in a large store, most of a lookup's time). It changes
   * nothing and decides nothing: a GET, HAVE or REMOVE answers the same
   * with or without it, whatever happens between. A lookup given one of
   * these very arrays, in their order, takes the hash computed here rather
   * than hashing again: their bytes must not change until then.
   *
   * @returns Whether warming pays in this store: `false` below 10,000
   *   sessions, whose memory fits in the CPU's caches anyway.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DefaultCache } from "@distcache/distcache/dc_server";
   *
   * const cache = new DefaultCache(1000);
   * const ids = ["a", "b", "c"].map((s) => new TextEncoder().encode(s));
   * cache.add(0, 60_000, ids[0], new Uint8Array([1]));
   * assert.equal(cache.warm(ids), false); // one session: all in cache anyway
   * assert.deepEqual(cache.get(1, ids[0]), new Uint8Array([1]));
   * assert.equal(cache.get(1, ids[1]), null);
   * ```
   */
  warm(ids: readonly Uint8Array[]): boolean {
    const n = ids.length;
    if (this.#warmedHashes.length < n) {
      this.#warmedHashes = new Int32Array(Math.max(n, 2 * n - WARM_BATCH));
    }
    const warmed = this.#warmed;
    for (let k = 0; k < n; k++) warmed[k] = ids[k];
    this.#warmedCount = n;
    this.#warmedNext = 0;
    for (let from = 0; from < n; from += WARM_BATCH) {
      this.#warm(ids, from, Math.min(n, from + WARM_BATCH));
    }
    return this.#items >= WARM_FROM;
  }

  /** Removes a live session; `false` when there was none. */
  remove(now: number, id: Uint8Array): boolean {
    const ref = this.#live(now, id);
    if (ref === -1) return false;
    this.#drop(ref, -1);
    return true;
  }

  /** Whether a live session has this id. */
  have(now: number, id: Uint8Array): boolean {
    return this.#live(now, id) !== -1;
  }

  /** Live sessions, after purging expired ones. */
  numItems(now: number): number {
    this.#purge(now);
    return this.#items;
  }

  /**
   * Calls `visit` with every live session: its id and data (views into the
   * store, valid only during the call; the store must not be changed from
   * `visit`) and the milliseconds it has left after `now`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DefaultCache } from "@distcache/distcache/dc_server";
   *
   * const cache = new DefaultCache(64);
   * cache.add(0, 60_000, new TextEncoder().encode("id"), new Uint8Array(5));
   * const left: number[] = [];
   * cache.exportSessions(10_000, (_id, _data, ms) => left.push(ms));
   * assert.deepEqual(left, [50_000]);
   * ```
   */
  exportSessions(now: number, visit: DcSessionVisitor): void {
    const slab = this.#slab;
    this.#heap.forEach((ref, expiry) => {
      if (expiry <= now) return;
      const page = pageOf(ref);
      const word = wordOf(ref);
      const lens = slab.i32[page][word + HEAD_LENS];
      const idLen = lens & 0xff;
      const start = (word << 2) + HEAD_BYTES;
      const buffer = slab.buffers[page];
      visit(
        new Uint8Array(buffer, start, idLen),
        new Uint8Array(buffer, start + idLen, lens >>> 8),
        expiry - now,
      );
    });
  }

  /**
   * Stores a session restored from a snapshot: the same as
   * {@linkcode DefaultCache.add} (a full store makes room as for any ADD).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DefaultCache } from "@distcache/distcache/dc_server";
   *
   * const cache = new DefaultCache(64);
   * assert.equal(cache.importSession(0, 1000, new Uint8Array([1]), new Uint8Array(5)), true);
   * ```
   */
  importSession(
    now: number,
    timeoutMs: number,
    id: Uint8Array,
    data: Uint8Array,
  ): boolean {
    return this.add(now, timeoutMs, id, data);
  }

  /**
   * Items (expired ones not yet purged included), bytes of ids and data,
   * evictions and expirations.
   */
  stats(): DcCacheStats {
    return {
      items: this.#items,
      bytes: this.#bytes,
      evictions: this.#evictions,
      expirations: this.#expirations,
    };
  }

  /**
   * Bytes of memory the store holds for sessions: slab pages, the index and
   * the expiry heap (not counting the few objects around them). It grows
   * with the peak of what was stored, and drops only at `close()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DefaultCache } from "@distcache/distcache/dc_server";
   *
   * const cache = new DefaultCache(1_000_000);
   * assert.ok(cache.reservedBytes() < 1 << 20); // nothing stored yet
   * ```
   */
  reservedBytes(): number {
    return this.#slab.reserved + this.#index.reserved + this.#heap.reserved;
  }

  /** Drops every session and releases their memory; the store stays usable. */
  close(): void {
    this.#reset();
  }

  /** Same as {@linkcode DefaultCache.close}, for `using`. */
  [Symbol.dispose](): void {
    this.#reset();
  }

  #reset(): void {
    this.#slab = new Slab(HEAD_BYTES + DC_MAX_ID_LEN + DC_MAX_TOTAL_DATA);
    this.#index = new IdIndex(Math.min(this.#max, 1024));
    this.#heap = new ExpiryHeap(this.#slab, this.#max);
    this.#items = 0;
    this.#bytes = 0;
  }

  // warm() for ids[from, to): all hashes first (each loading its index
  // entry, independent of the others), then along each probe to the
  // first entry of that hash, loading its record's header.
  #warm(ids: readonly Uint8Array[], from: number, to: number): void {
    const t = this.#index.table;
    const mask = this.#index.mask;
    const hashes = this.#warmedHashes;
    let sink = 0;
    for (let k = from; k < to; k++) {
      const id = ids[k];
      const hash = id.length === 0 || id.length > DC_MAX_ID_LEN
        ? 0
        : halfSipHash(id, this.#k0, this.#k1);
      hashes[k] = hash;
      sink ^= t[(hash & mask) << 1];
    }
    const i32 = this.#slab.i32;
    for (let k = from; k < to; k++) {
      const hash = hashes[k];
      for (let i = hash & mask;; i = (i + 1) & mask) {
        const entry = t[i << 1];
        if (entry === 0) break;
        if (t[(i << 1) + 1] !== hash) continue;
        const ref = (entry - 1) | 0;
        sink ^= i32[pageOf(ref)][wordOf(ref) + HEAD_LENS];
        break;
      }
    }
    // Kept, so that the loads above are not optimised away.
    this.#warmSink = sink;
  }

  #expiryOf(ref: number): number {
    return this.#slab.f64[pageOf(ref)][(wordOf(ref) + HEAD_EXPIRY) >> 1];
  }

  // The table position of the record with this id (live or not), or -1.
  #find(id: Uint8Array, hash: number): number {
    const t = this.#index.table;
    const mask = this.#index.mask;
    const idLen = id.length;
    for (let i = hash & mask;; i = (i + 1) & mask) {
      const entry = t[i << 1];
      if (entry === 0) return -1;
      if (t[(i << 1) + 1] !== hash) continue;
      const ref = (entry - 1) | 0;
      const page = pageOf(ref);
      const word = wordOf(ref);
      if ((this.#slab.i32[page][word + HEAD_LENS] & 0xff) !== idLen) continue;
      const bytes = this.#slab.pages[page];
      const start = (word << 2) + HEAD_BYTES;
      let k = 0;
      while (k < idLen && bytes[start + k] === id[k]) k++;
      if (k === idLen) return i;
    }
  }

  // The ref of the live session with this id, or -1; an expired one found
  // on the way is purged.
  #live(now: number, id: Uint8Array): number {
    // No stored id has these lengths, and the server passes them through.
    if (id.length === 0 || id.length > DC_MAX_ID_LEN) return -1;
    const next = this.#warmedNext;
    let hash: number;
    if (next < this.#warmedCount && this.#warmed[next] === id) {
      hash = this.#warmedHashes[next];
      this.#warmedNext = next + 1;
    } else {
      hash = halfSipHash(id, this.#k0, this.#k1);
    }
    const found = this.#find(id, hash);
    if (found === -1) return -1;
    const ref = (this.#index.table[found << 1] - 1) | 0;
    if (this.#expiryOf(ref) > now) return ref;
    this.#drop(ref, found);
    this.#expirations++;
    return -1;
  }

  // Frees a full store: expired sessions first, then the soonest to expire.
  #makeRoom(now: number): void {
    this.#purge(now);
    if (this.#items < this.#max) return;
    const heap = this.#heap;
    const n = Math.max(1, Math.floor(this.#max / 30));
    for (let i = 0; i < n && heap.size > 0; i++) {
      this.#drop(heap.first(), -1);
      this.#evictions++;
    }
  }

  // Frees bytes for a session of `need` bytes: expired sessions first, then
  // the soonest to expire, until it fits (the budget holds any one session).
  #makeByteRoom(now: number, need: number): void {
    this.#purge(now);
    const heap = this.#heap;
    while (this.#bytes + need > this.#maxBytes && heap.size > 0) {
      this.#drop(heap.first(), -1);
      this.#evictions++;
    }
  }

  // Drops expired sessions, soonest first, at most `max` of them.
  #purge(now: number, max = Infinity): void {
    const heap = this.#heap;
    for (let i = 0; i < max && heap.firstExpiry() <= now; i++) {
      this.#drop(heap.first(), -1);
      this.#expirations++;
    }
  }

  // Deletes a stored record; `position` is its table position, or -1 when
  // the caller does not know it.
  #drop(ref: number, position: number): void {
    const i32 = this.#slab.i32[pageOf(ref)];
    const word = wordOf(ref);
    this.#index.removeAt(
      position !== -1
        ? position
        : this.#index.positionOf(i32[word + HEAD_HASH], ref),
    );
    this.#heap.remove(ref);
    const lens = i32[word + HEAD_LENS];
    const len = (lens & 0xff) + (lens >>> 8);
    this.#slab.free(ref, HEAD_BYTES + len);
    this.#items--;
    this.#bytes -= len;
  }
}

/**
 * Makes the default store (the C API's `DC_SERVER_set_default_cache`): a
 * {@linkcode DefaultCache} holding at most `maxSessions` sessions and, with
 * `options.maxBytes`, at most that many bytes of ids and data.
 *
 * @example A million sessions, but at most 64 MiB of them
 * ```ts
 * import assert from "node:assert/strict";
 * import { createDefaultCache } from "@distcache/distcache/dc_server";
 *
 * const cache = createDefaultCache(1_000_000, { maxBytes: 64 << 20 });
 * const data = new Uint8Array(32_000);
 * for (let i = 0; i < 3000; i++) {
 *   cache.add(0, 60_000 + i, new TextEncoder().encode(`s${i}`), data);
 * }
 * assert.ok(cache.stats!().bytes <= 64 << 20);
 * assert.ok(cache.have(0, new TextEncoder().encode("s2999")));
 * ```
 *
 * @param maxSessions Most sessions held at once (64 .. 100,000,000).
 * @param options `maxBytes`: the byte budget (from 32832). @default {{}}
 * @throws {DcCacheRangeError} (code `ERR_SESSIONS`, `ERR_MAX_BYTES`) for a
 *   bound out of range.
 */
export function createDefaultCache(
  maxSessions: number,
  options: DcCacheOptions = {},
): DcCache {
  return new DefaultCache(maxSessions, options);
}
