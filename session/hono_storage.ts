/**
 * Storage for Hono's session middleware (`@hono/session`) on distcache.
 *
 * @module
 */

import { checkCtx, commonOptions } from "./_options.ts";
import { type SessionCtx, SessionTable } from "./_table.ts";
import type { DistcacheSessionError } from "./errors.ts";

/** Options of {@linkcode distcacheStorage}. */
export interface DistcacheStorageOptions {
  /** Put before each session id to make the cache id. @default {"sess:"} */
  prefix?: string;
  /**
   * Lifetime of a stored session in milliseconds (match the middleware's
   * `duration`); at most 7 days. @default 1 day
   */
  ttlMs?: number;
  /**
   * A missing session is looked up once more after this many
   * milliseconds (another host may be between the REMOVE and the ADD of an
   * update); 0 looks once. @default {10}
   */
  missRetryMs?: number;
  /**
   * Told of a write that failed (the middleware does not wait for writes,
   * so they cannot fail its request).
   */
  onError?: (error: DistcacheSessionError | Error) => void;
}

/** The storage object `useSessionStorage()` of `@hono/session` takes. */
export interface DistcacheStorage<Data> {
  /** The session data of `sid`, or null. */
  get(sid: string): Promise<Data | null>;
  /**
   * Stores the session data of `sid` (in the background).
   *
   * @throws {DistcacheSessionError} `ERR_SESSION_TOO_LARGE` at once when
   *   the data cannot fit in one cache entry.
   */
  set(sid: string, data: Data): void;
  /** Removes the session of `sid` (in the background). */
  delete(sid: string): void;
}

/**
 * A storage for `@hono/session`'s `useSessionStorage()`: session data as
 * JSON in the cache, `ttlMs` long. Data that does not fit one cache entry
 * (32 KiB with the id) throws `ERR_SESSION_TOO_LARGE` from `set`, which
 * fails the `session.update()` that wrote it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hono } from "hono";
 * import { useSession, useSessionStorage } from "@hono/session";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { distcacheStorage } from "@distcache/distcache/session";
 *
 * // On a web host: DcCtx.create("UNIX:/tmp/scache", ...), its local proxy.
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const cache = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
 * const storage = distcacheStorage(cache, { ttlMs: 3_600_000 });
 * const app = new Hono()
 *   .use(useSessionStorage(storage))
 *   .use(useSession({ secret: "32 bytes of hex, 64 characters, from your vault" }));
 * assert.equal(typeof app.fetch, "function");
 *
 * // What @hono/session does with the storage:
 * storage.set("sid-1", { user: 42 });
 * assert.deepEqual(await storage.get("sid-1"), { user: 42 });
 * cache.close();
 * await server.close();
 * ```
 */
export function distcacheStorage<Data = Record<string, unknown>>(
  ctx: SessionCtx,
  options: DistcacheStorageOptions = {},
): DistcacheStorage<Data> {
  checkCtx(ctx);
  const { prefix, ttlMs, missRetryMs } = commonOptions(options);
  const report = options.onError ?? (() => {});
  const table = new SessionTable(
    () => Promise.resolve(ctx),
    prefix,
    missRetryMs,
  );
  return {
    get: (sid) => table.read(sid) as Promise<Data | null>,
    set(sid, data) {
      const encoded = table.encode(sid, data);
      table.write(sid, encoded, ttlMs).catch(report);
    },
    delete(sid) {
      table.remove(sid).catch(report);
    },
  };
}
