/**
 * A session store on Redis or Valkey (standalone, Cluster or behind
 * Sentinel): a {@linkcode DcCache} whose sessions live in Redis, so that
 * several cache servers (or proxies) on several hosts share them and any of
 * those can die without losing one.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import {
  type DcCache,
  DcCacheRangeError,
  type DcCacheStats,
} from "../dc_server/mod.ts";
import {
  DC_MAX_ID_LEN,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
} from "../dc_enc/mod.ts";
import { CommandQueue } from "./_batch.ts";
import {
  type Client,
  type ClientSettings,
  countKeys,
  makeClient,
} from "./_client.ts";
import { Deadlines } from "./_deadline.ts";
import { type Arg, CommandWriter } from "./_writer.ts";
import { parseRedisUrl, redactUrl, type RedisTarget } from "./url.ts";

/**
 * Key prefix of a store that names none: session `abc` is key `dc:abc`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REDIS_DEFAULT_PREFIX } from "@distcache/distcache/dc_store_redis";
 *
 * assert.equal(REDIS_DEFAULT_PREFIX + "abc", "dc:abc");
 * ```
 */
export const REDIS_DEFAULT_PREFIX = "dc:";
/**
 * Milliseconds a connection attempt may take unless told otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REDIS_DEFAULT_CONNECT_TIMEOUT_MS } from "@distcache/distcache/dc_store_redis";
 *
 * assert.equal(REDIS_DEFAULT_CONNECT_TIMEOUT_MS, 2000);
 * ```
 */
export const REDIS_DEFAULT_CONNECT_TIMEOUT_MS = 2000;
/**
 * Milliseconds a command may take unless told otherwise; a request still
 * unanswered then gets the failure answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REDIS_DEFAULT_COMMAND_TIMEOUT_MS } from "@distcache/distcache/dc_store_redis";
 *
 * assert.equal(REDIS_DEFAULT_COMMAND_TIMEOUT_MS, 1000);
 * ```
 */
export const REDIS_DEFAULT_COMMAND_TIMEOUT_MS = 1000;

/** TLS settings beyond `rediss://` itself (PEM text or bytes). */
export interface RedisTlsOptions {
  /** CA certificates to trust instead of the system's. */
  ca?: string | Uint8Array;
  /** Client certificate, for servers that ask for one. */
  cert?: string | Uint8Array;
  /** The client certificate's private key. */
  key?: string | Uint8Array;
  /** Name to check the server's certificate against. @default {the host} */
  servername?: string;
}

/** Options for {@linkcode RedisCache}. */
export interface RedisCacheOptions {
  /**
   * Where the sessions live: `redis://host:port`, `rediss://` (TLS),
   * `redis+cluster://h1:p1,h2:p2` (a Cluster), `redis+sentinel://s1:p1/name`
   * (see {@linkcode parseRedisUrl}).
   */
  url: string;
  /**
   * Prepended to every session id to make its key, so that one Redis can
   * serve several caches. Overrides the URL's `?prefix=`. Avoid `{` in a
   * Cluster: a hash tag would put every session in one slot.
   * @default {"dc:"}
   */
  prefix?: string | Uint8Array;
  /** ACL user; overrides the URL's. */
  username?: string;
  /** Password; overrides the URL's (keeps it off command lines). */
  password?: string;
  /** Milliseconds a connection attempt may take. @default {2000} */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a command may take; a request that takes longer gets the
   * failure answer. @default {1000}
   */
  commandTimeoutMs?: number;
  /** TLS settings (TLS itself comes from `rediss://`, or is implied by these). */
  tls?: RedisTlsOptions;
  /**
   * Told when Redis becomes unreachable (once per outage: the address and
   * the reason) and when it is back. The store keeps retrying either way.
   */
  onStatus?: (status: RedisStatus) => void;
}

/** A change of the store's link to Redis, as `onStatus` hears it. */
export interface RedisStatus {
  /** `down`: requests fail at once until `up`. */
  state: "up" | "down";
  /** The URL (password hidden). */
  address: string;
  /** Why it is down (the last error); empty when up. */
  reason: string;
  /** One line for a log. */
  message: string;
}

/** Counters of a {@linkcode RedisCache}. */
export interface RedisCacheStats extends DcCacheStats {
  /** Whether the link to Redis is up now. */
  up: boolean;
  /** Times the link went down. */
  outages: number;
}

/**
 * A {@linkcode DcCache} on Redis: ADD is `SET key data NX PX timeout`, GET
 * `GET`, REMOVE `DEL`, HAVE `EXISTS`, each key being the prefix followed by
 * the id's bytes. Ids and data stay bytes all the way (no string round
 * trips); Redis expires each session to the millisecond, so a GET never
 * answers one past its time. An ADD with timeout 0 stores nothing and
 * succeeds unless the id is live, as the default store does (Redis refuses
 * `PX 0`).
 *
 * Failures never hang: while Redis is unreachable every call rejects at
 * once (no queue), a call in flight when the link drops rejects then, and
 * any call rejects after `commandTimeoutMs`; {@linkcode DcServer} answers
 * such a request with `DC_ERR_DISCONNECTED`. The store reconnects by itself
 * (50 ms, doubling up to 1 s between attempts), and in a Cluster follows
 * MOVED/ASK redirections, failovers and slot changes.
 *
 * Commands issued in one turn of the event loop go to Redis in one write
 * (auto-pipelining), so many clients' requests share round trips. The
 * Redis client library (ioredis) is imported when the first store is made,
 * not before.
 *
 * The store works without a server too: each method is the operation
 * itself. The session bound a {@linkcode DcServer} passes is ignored:
 * Redis's `maxmemory` governs (with `maxmemory-policy volatile-ttl`, Redis
 * evicts the sessions that expire soonest first, as the default store does).
 *
 * @example Share sessions through Redis (needs a Redis on 127.0.0.1:6379)
 * ```ts ignore
 * import assert from "node:assert/strict";
 * import { RedisCache } from "@distcache/distcache/dc_store_redis";
 *
 * await using cache = new RedisCache({ url: "redis://127.0.0.1:6379" });
 * await cache.ready();
 * const id = new TextEncoder().encode("session-1");
 * assert.equal(await cache.add(Date.now(), 60_000, id, new Uint8Array([1, 2, 3])), true);
 * assert.deepEqual(await cache.get(Date.now(), id), new Uint8Array([1, 2, 3]));
 * assert.equal(await cache.remove(Date.now(), id), true);
 * ```
 */
export class RedisCache implements DcCache {
  /** The URL, password hidden. */
  readonly address: string;
  readonly #target: RedisTarget;
  readonly #options: RedisCacheOptions;
  readonly #prefix: Buffer;
  readonly #loaded: Promise<void>;
  #client: Client | null = null;
  // The client from its creation on (#client is set once it is usable).
  #made: Client | null = null;
  // Ends the wait for the first connection attempt's outcome.
  #settle: (() => void) | null = null;
  #nodeError = "";
  #queue: CommandQueue | null = null;
  #writer: CommandWriter | null = null;
  #deadlines: Deadlines | null = null;
  #closed = false;
  #up = false;
  #outages = 0;
  // Whether the current outage has been told (once per outage).
  #told = false;
  #lastError = "";
  #readyWaiters: (() => void)[] = [];
  #count: Promise<number> | null = null;
  #counted = 0;
  #countedAt = -Infinity;
  #countEvery = 10_000;

  /**
   * Makes a store and starts connecting (in the background: the store is
   * usable at once, failing requests until Redis answers).
   *
   * @param options The URL and settings.
   * @throws {RedisUrlError} for a bad URL.
   * @throws {TypeError} for a bad prefix or timeout.
   */
  constructor(options: RedisCacheOptions) {
    this.#target = parseRedisUrl(options.url);
    this.#options = options;
    this.address = redactUrl(options.url);
    const prefix = options.prefix ?? this.#target.prefix ??
      REDIS_DEFAULT_PREFIX;
    if (typeof prefix !== "string" && !(prefix instanceof Uint8Array)) {
      throw new TypeError(
        `invalid key prefix ${
          String(prefix)
        }: must be a string or a Uint8Array`,
      );
    }
    this.#prefix = Buffer.from(prefix);
    for (const name of ["connectTimeoutMs", "commandTimeoutMs"] as const) {
      const ms = options[name];
      if (ms !== undefined && !(Number.isInteger(ms) && ms >= 1)) {
        throw new TypeError(
          `invalid ${name} ${ms}: must be an integer number of milliseconds >= 1`,
        );
      }
    }
    this.#loaded = this.#start();
    this.#loaded.catch((err: Error) => {
      this.#lastError = `cannot load the Redis client library: ${err.message}`;
      this.#status("down", this.#lastError);
    });
  }

  /**
   * Resolves once Redis has answered for the first time (at once if it
   * has). The store needs no waiting: this is for callers who want to know.
   * Rejects when the Redis client library (ioredis) cannot be loaded.
   */
  ready(): Promise<void> {
    if (this.#up || this.#closed) return Promise.resolve();
    const up = new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
    // A client library that cannot be loaded will never connect.
    return Promise.race([up, this.#loaded.then(() => up)]);
  }

  /** Whether the link to Redis is up now. */
  get up(): boolean {
    return this.#up;
  }

  /**
   * Stores a session unless a live one has this id: `SET NX PX`.
   *
   * @throws {DcCacheRangeError} for an id of 0 or more than 64 bytes, data
   *   over 32768 bytes, or a timeout that is not an integer in
   *   0..604800000 (the server checks these before it calls the store).
   */
  add(
    _now: number,
    timeoutMs: number,
    id: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean> {
    checkId(id);
    if (!(data instanceof Uint8Array) || data.length > DC_MAX_TOTAL_DATA) {
      throw new DcCacheRangeError(
        "ERR_DATA_RANGE",
        `invalid session data of ${data?.length} bytes: must be a Uint8Array of 0..${DC_MAX_TOTAL_DATA} bytes`,
      );
    }
    if (
      !Number.isInteger(timeoutMs) || timeoutMs < 0 ||
      timeoutMs > DC_MAX_TIMEOUT_MS
    ) {
      throw new DcCacheRangeError(
        "ERR_TIMEOUT_RANGE",
        `invalid timeout ${timeoutMs}: must be an integer in 0..${DC_MAX_TIMEOUT_MS} ms`,
      );
    }
    // The key and the data are copies: the caller may reuse its memory
    // before the (pipelined) command is written.
    const key = this.#key(id);
    // A session that expires at once is never seen, but it still finds a
    // live one in its way (and Redis refuses PX 0).
    if (timeoutMs === 0) {
      return this.#call<number>("exists", [key]).then(isZero);
    }
    const value = Buffer.from(data);
    return this.#call<string | null>("set", [key, value, "PX", timeoutMs, "NX"])
      .then(isOk);
  }

  /**
   * The data of a live session, or null: `GET`. An id no session can have
   * (empty, over 64 bytes) is a miss at once, as in the default store.
   */
  get(_now: number, id: Uint8Array): Promise<Uint8Array | null> | null {
    if (!isId(id)) return null;
    const key = this.#key(id);
    const queue = this.#queue;
    if (queue !== null) return queue.get(key);
    return this.#call<Buffer | null>("get", [key], true);
  }

  /** Removes a live session; `false` when there was none: `DEL`. */
  remove(_now: number, id: Uint8Array): Promise<boolean> | false {
    if (!isId(id)) return false;
    const key = this.#key(id);
    return this.#call<number>("del", [key]).then(isOne);
  }

  /** Whether a live session has this id: `EXISTS`. */
  have(_now: number, id: Uint8Array): Promise<boolean> | false {
    if (!isId(id)) return false;
    const key = this.#key(id);
    return this.#call<number>("exists", [key]).then(isOne);
  }

  /**
   * Sessions under the prefix (every server's sharing it), counted with
   * `SCAN` on every master. Counting costs Redis O(sessions), so a count
   * younger than 10 s (or 100 times its own duration: at most 1% of
   * Redis's time per server) is returned as is; concurrent calls share one
   * count.
   */
  numItems(_now: number): number | Promise<number> {
    const start = Date.now();
    if (start - this.#countedAt < this.#countEvery) return this.#counted;
    this.#count ??= this.#countAll().then((n) => {
      const took = Date.now() - start;
      this.#counted = n;
      this.#countedAt = start;
      this.#countEvery = Math.max(10_000, 100 * took);
      return n;
    }).finally(() => this.#count = null);
    return this.#count;
  }

  /**
   * The last count of sessions (see `numItems`), and the link's state.
   * Bytes, evictions and expirations are Redis's to report (`INFO`): 0 here.
   */
  stats(): RedisCacheStats {
    return {
      items: this.#counted,
      bytes: 0,
      evictions: 0,
      expirations: 0,
      up: this.#up,
      outages: this.#outages,
    };
  }

  /** Disconnects from Redis; calls made after this reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#up = false;
    this.#made?.disconnect();
    this.#deadlines?.close();
    this.#settle?.();
    for (const wake of this.#readyWaiters.splice(0)) wake();
  }

  /** Same as {@linkcode RedisCache.prototype.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as {@linkcode RedisCache.prototype.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  #key(id: Uint8Array): Buffer {
    const p = this.#prefix;
    const key = Buffer.allocUnsafe(p.length + id.length);
    key.set(p, 0);
    key.set(id, p.length);
    return key;
  }

  // Sends `name args...`; bulk replies as Buffers when `buffers`.
  #call<T>(name: string, args: Arg[], buffers = false): Promise<T> {
    const c = this.#client;
    if (c === null) return this.#later(name, args, buffers);
    const queue = this.#queue;
    const writer = this.#writer;
    if (queue !== null && writer !== null) {
      return queue.run(() => writer.send<T>(name, args, buffers));
    }
    // A Cluster: its own method of the command (getBuffer, set...), which
    // routes it to its slot's master.
    const method = (c as unknown as Methods)[buffers ? `${name}Buffer` : name];
    return this.#deadlines!.bound(method.apply(c, args) as Promise<T>);
  }

  // A call made while the client library is still being imported.
  async #later<T>(name: string, args: Arg[], buffers: boolean): Promise<T> {
    await this.#loaded;
    if (this.#client === null || this.#closed) {
      throw new Error(`the Redis store at ${this.address} is closed`);
    }
    return this.#call(name, args, buffers);
  }

  async #start(): Promise<void> {
    const t = this.#target;
    const o = this.#options;
    const settings: ClientSettings = {
      username: o.username ?? t.username,
      password: o.password ?? t.password,
      connectTimeoutMs: o.connectTimeoutMs ?? t.connectTimeoutMs ??
        REDIS_DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: o.commandTimeoutMs ?? t.commandTimeoutMs ??
        REDIS_DEFAULT_COMMAND_TIMEOUT_MS,
      tls: t.tls || o.tls !== undefined ? o.tls ?? {} : undefined,
    };
    const { client, Command } = await makeClient(t, settings);
    if (this.#closed) {
      client.disconnect();
      return;
    }
    this.#made = client;
    client.on("ready", () => this.#setUp());
    client.on("error", (err: Error) => this.#setDown(err));
    client.on("end", () => this.#setDown(null));
    client.on("close", () => this.#setDown(null));
    client.on("node error", (err: Error) => this.#nodeError = reason(err));
    // Calls made before the first connection attempt has an outcome wait
    // for it (a store just made would otherwise fail them all); after it,
    // they go to the client, which fails them at once while Redis is down.
    const connectMs = settings.connectTimeoutMs + 100;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, connectMs);
      this.#settle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#settle = null;
    if (this.#closed) return;
    this.#client = client;
    if (t.kind === "cluster") {
      this.#deadlines = new Deadlines(settings.commandTimeoutMs);
    } else {
      // A Cluster refuses an MGET across slots; its GETs go one by one.
      const writer = new CommandWriter(client as Redis, Command);
      this.#writer = writer;
      this.#queue = new CommandQueue(
        (k) => writer.send<Buffer | null>("get", [k], true),
        (ks) => writer.send<(Buffer | null)[]>("mget", ks, true),
        () => writer.hold(),
        () => writer.release(),
      );
    }
  }

  #setUp(): void {
    this.#settle?.();
    if (this.#closed) return;
    const was = this.#told;
    this.#up = true;
    this.#told = false;
    for (const wake of this.#readyWaiters.splice(0)) wake();
    if (was) this.#status("up", "");
  }

  #setDown(err: Error | null): void {
    if (err !== null) {
      this.#lastError = reason(err, this.#nodeError);
      this.#settle?.();
    }
    if (this.#closed) return;
    if (this.#up) {
      this.#up = false;
      this.#outages++;
      // Redis shut down cleanly: no error says so.
      if (err === null) this.#lastError = "the connection closed";
    }
    // Told once per outage, with the first reason known.
    if (!this.#told && this.#lastError !== "") {
      this.#told = true;
      this.#status("down", this.#lastError);
    }
  }

  #status(state: "up" | "down", why: string): void {
    const message = state === "up"
      ? `Redis at ${this.address} is reachable again`
      : `cannot reach Redis at ${this.address}: ${why}; retrying`;
    this.#options.onStatus?.({
      state,
      address: this.address,
      reason: why,
      message,
    });
  }

  async #countAll(): Promise<number> {
    await this.#loaded;
    const c = this.#client;
    if (c === null) {
      throw new Error(`the Redis store at ${this.address} is closed`);
    }
    return await countKeys(c, this.#prefix);
  }
}

/**
 * Makes a {@linkcode RedisCache} from a URL or options, for
 * `serve({ cache: redisCache(...) })`.
 *
 * @example A server whose sessions live in Redis (needs a Redis on 127.0.0.1:6379)
 * ```ts ignore
 * import { serve } from "@distcache/distcache/dc_server";
 * import { redisCache } from "@distcache/distcache/dc_store_redis";
 *
 * const server = await serve({
 *   listen: "IP:0.0.0.0:9001",
 *   cache: redisCache({
 *     url: "redis://127.0.0.1:6379",
 *     prefix: "sessions:",
 *     onStatus: (s) => console.error(s.message),
 *   }),
 * });
 * console.log(server.addr);
 * ```
 *
 * @example Made, named and closed (no Redis needed)
 * ```ts
 * import assert from "node:assert/strict";
 * import { redisCache } from "@distcache/distcache/dc_store_redis";
 *
 * const cache = redisCache("redis://app:s3cret@127.0.0.1:6390?prefix=app1:");
 * assert.equal(cache.address, "redis://app:***@127.0.0.1:6390?prefix=app1:");
 * // An id no session can have is a miss at once, without asking Redis.
 * assert.equal(cache.get(Date.now(), new Uint8Array(0)), null);
 * cache.close();
 * ```
 *
 * @param target The URL, or the options.
 * @returns The store, connecting.
 * @throws {RedisUrlError} for a bad URL.
 */
export function redisCache(target: string | RedisCacheOptions): RedisCache {
  return new RedisCache(typeof target === "string" ? { url: target } : target);
}

function isId(id: Uint8Array): boolean {
  if (!(id instanceof Uint8Array)) {
    throw new TypeError(
      `invalid session id ${String(id)}: must be a Uint8Array`,
    );
  }
  return id.length > 0 && id.length <= DC_MAX_ID_LEN;
}

function checkId(id: Uint8Array): void {
  if (!isId(id)) {
    throw new DcCacheRangeError(
      "ERR_ID_RANGE",
      `invalid session id of ${id.length} bytes: must be 1..${DC_MAX_ID_LEN} bytes`,
    );
  }
}

// What went wrong, in words: a Cluster's "Failed to refresh slots cache"
// says little by itself, the last node error says why.
function reason(err: Error, nodeError = ""): string {
  const e = err as Error & { lastNodeError?: Error };
  if (e.lastNodeError !== undefined) {
    return `${e.message} (${nodeError || e.lastNodeError.message})`;
  }
  return e.message || String(err);
}

type Methods = Record<string, (...args: Arg[]) => Promise<unknown>>;

const isOk = (r: string | null): boolean => r === "OK";
const isOne = (n: number): boolean => n === 1;
const isZero = (n: number): boolean => n === 0;
