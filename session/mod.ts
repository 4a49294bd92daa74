/**
 * Login sessions of web frameworks in distcache, shared by every host
 * behind a load balancer: {@linkcode DistcacheStore} for
 * `express-session`, {@linkcode distcacheStorage} for Hono's
 * `@hono/session`. Neither framework is a dependency of this package: the
 * app installs its own.
 *
 * Sessions are stored as JSON under `"sess:" + id`; one must fit in a
 * cache entry (32 KiB with its id), or the write fails with
 * `ERR_SESSION_TOO_LARGE`.
 *
 * @example express-session
 * ```ts
 * import assert from "node:assert/strict";
 * import express from "express";
 * import session from "express-session";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { DistcacheStore } from "@distcache/distcache/session";
 *
 * // On a web host the target is its local proxy, e.g. "UNIX:/tmp/scache".
 * const cache = await serve({ listen: "IP:127.0.0.1:0" });
 * const store = new DistcacheStore({ target: cache.addr });
 * const app = express();
 * app.use(session({ store, secret: "change me", resave: false, saveUninitialized: false }));
 *
 * // What express-session does with the store:
 * const saved = { cookie: {}, user: 42 };
 * await new Promise((done) => store.set("sid-1", saved, done));
 * const found = await new Promise((done) => store.get("sid-1", (_err, s) => done(s)));
 * assert.deepEqual(found, saved);
 * store.close();
 * await cache.close();
 * ```
 *
 * @module
 */

export { DistcacheSessionError } from "./errors.ts";
export {
  DistcacheStore,
  type DistcacheStoreOptions,
  type StoredSession,
} from "./express_store.ts";
export {
  type DistcacheStorage,
  distcacheStorage,
  type DistcacheStorageOptions,
} from "./hono_storage.ts";
export type { SessionCtx } from "./_table.ts";
