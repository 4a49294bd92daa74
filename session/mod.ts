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
 * import express from "express";
 * import session from "express-session";
 * import { DistcacheStore } from "@distcache/distcache/session";
 *
 * const app = express();
 * app.use(session({
 *   store: new DistcacheStore({ target: "UNIX:/tmp/scache" }),
 *   secret: "change me",
 *   resave: false,
 *   saveUninitialized: false,
 * }));
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
