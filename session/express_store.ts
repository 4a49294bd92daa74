/**
 * An `express-session` store keeping sessions in distcache, so that every
 * web host behind a load balancer sees the same login sessions.
 *
 * @module
 */

import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_LATE,
  DC_CTX_FLAG_PERSISTENT_RETRY,
  DcCtx,
} from "../dc_client/mod.ts";
import { DC_MAX_TIMEOUT_MS } from "../dc_enc/mod.ts";
import { argError, checkCtx, commonOptions, intOption } from "./_options.ts";
import { type SessionCtx, SessionTable } from "./_table.ts";
import { DistcacheSessionError } from "./errors.ts";

/** Options of {@linkcode DistcacheStore}: a `ctx` or a `target`. */
export interface DistcacheStoreOptions {
  /** The cache, shared with the rest of the app (not closed by the store). */
  ctx?: SessionCtx;
  /**
   * Or the address of the cache (usually the local proxy,
   * `"UNIX:/tmp/scache"`): the store makes its own persistent context and
   * closes it in {@linkcode DistcacheStore.close}.
   */
  target?: string;
  /** Put before each session id to make the cache id. @default {"sess:"} */
  prefix?: string;
  /**
   * Lifetime of a session whose cookie has no expiry (a browser-session
   * cookie), in milliseconds. Sessions live at most 7 days in the cache
   * (the protocol's limit), whatever their cookie says. @default 1 day
   */
  ttlMs?: number;
  /**
   * `touch` (express-session's call for an unchanged session) stores the
   * session again only when that moves its expiry by at least this much,
   * in milliseconds; otherwise it reads and leaves it. @default {60_000}
   */
  touchAfterMs?: number;
  /**
   * A missing session is looked up once more after this many
   * milliseconds (another host may be between the REMOVE and the ADD of an
   * update); 0 looks once. @default {10}
   */
  missRetryMs?: number;
}

/**
 * A session as express-session hands it over: stored whole as JSON; only
 * its cookie's `expires` matters to the store (it sets the lifetime).
 */
export interface StoredSession {
  /** The session cookie. */
  cookie?: { expires?: Date | string | null };
}

type Done = (err?: unknown) => void;

// express-session's Store.prototype, for the methods every store inherits
// from it (createSession, regenerate, load): loaded when a store is made,
// so that importing this module needs no express-session.
interface StoreBase {
  createSession(req: unknown, session: unknown): unknown;
  regenerate(req: unknown, done: Done): void;
  load(
    sid: string,
    done: (err: unknown, session?: StoredSession) => void,
  ): void;
}
let storeBase: StoreBase | null = null;

function expressSessionStore(): StoreBase {
  if (storeBase !== null) return storeBase;
  try {
    const require = createRequire(import.meta.url);
    const mod = require("express-session") as {
      Store: { prototype: StoreBase };
    };
    storeBase = mod.Store.prototype;
    return storeBase;
  } catch (err) {
    throw new DistcacheSessionError(
      "ERR_SESSION_SETUP",
      `DistcacheStore needs the express-session package next to @distcache/distcache (npm install express-session): ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
}

function expiryOf(session: StoredSession | null | undefined): number | null {
  const expires = session?.cookie?.expires;
  if (expires === undefined || expires === null) return null;
  const ms = new Date(expires).getTime();
  return Number.isFinite(ms) ? ms : null;
}

/**
 * An express-session store on distcache: `get`, `set`, `destroy` and
 * `touch`. A session lives in the cache until its cookie expires (or for
 * `ttlMs` when the cookie does not say). Sessions whose JSON does not fit
 * one cache entry (32 KiB with the id) fail with `ERR_SESSION_TOO_LARGE`,
 * and the stored copy is left as it was.
 *
 * express-session itself stays the app's dependency: the store uses the
 * `express-session` package installed next to this one.
 *
 * @example
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
 */
export class DistcacheStore extends EventEmitter {
  readonly #table: SessionTable;
  readonly #ttlMs: number;
  readonly #touchAfterMs: number;
  readonly #own: Promise<DcCtx> | null;
  readonly #base: StoreBase;

  /**
   * Makes a store on a cache context (`{ ctx }`) or address (`{ target }`).
   *
   * @throws {DistcacheSessionError} `ERR_ARGUMENT` for a bad option (or
   *   both or neither of `ctx` and `target`), `ERR_SESSION_SETUP` when
   *   express-session cannot be found.
   */
  constructor(options: DistcacheStoreOptions) {
    super();
    const { ctx, target } = options ?? {};
    if ((ctx === undefined) === (target === undefined)) {
      throw new DistcacheSessionError(
        "ERR_ARGUMENT",
        "DistcacheStore needs exactly one of { ctx } (a DcCtx) and { target } (a cache address)",
      );
    }
    if (ctx !== undefined) checkCtx(ctx);
    if (target !== undefined && typeof target !== "string") {
      throw new DistcacheSessionError(
        "ERR_ARGUMENT",
        `invalid target: ${typeof target}; must be an address string such as "UNIX:/tmp/scache"`,
      );
    }
    const { prefix, ttlMs, missRetryMs } = commonOptions(options);
    this.#ttlMs = ttlMs;
    this.#touchAfterMs = intOption(options.touchAfterMs, "touchAfterMs", {
      min: 0,
      max: DC_MAX_TIMEOUT_MS,
      fallback: 60_000,
    }, argError);
    this.#base = expressSessionStore();
    this.#own = target === undefined ? null : DcCtx.create(
      target,
      DC_CTX_FLAG_PERSISTENT | DC_CTX_FLAG_PERSISTENT_RETRY |
        DC_CTX_FLAG_PERSISTENT_LATE,
    );
    // A bad address rejects here: it surfaces on the first call.
    this.#own?.catch(() => {});
    const own = this.#own;
    const get: () => Promise<SessionCtx> = own === null
      ? () => Promise.resolve(ctx!)
      : () => own;
    this.#table = new SessionTable(get, prefix, missRetryMs);
  }

  /** Fetches a session (null when there is none, or it has expired). */
  get<S = StoredSession>(
    sid: string,
    done: (err: unknown, session?: S | null) => void,
  ): void {
    this.#table.read(sid).then((found) => {
      const session = found as StoredSession | null;
      const expiry = expiryOf(session);
      if (session !== null && expiry !== null && expiry <= Date.now()) {
        done(null, null);
        return;
      }
      done(null, session as S | null);
    }, (err) => done(err));
  }

  /** Stores a session (replacing the stored one) until its cookie expires. */
  set(
    sid: string,
    session: StoredSession,
    done: (err?: unknown) => void = () => {},
  ): void {
    const expiry = expiryOf(session);
    const ttl = expiry === null ? this.#ttlMs : expiry - Date.now();
    if (ttl <= 0) {
      this.destroy(sid, done);
      return;
    }
    let encoded;
    try {
      encoded = this.#table.encode(sid, session);
    } catch (err) {
      done(err);
      return;
    }
    this.#table.write(sid, encoded, ttl).then(() => done(), done);
  }

  /** Removes a session. */
  destroy(sid: string, done: (err?: unknown) => void = () => {}): void {
    let removing;
    try {
      removing = this.#table.remove(sid);
    } catch (err) {
      done(err);
      return;
    }
    removing.then(() => done(), done);
  }

  /**
   * Extends an unchanged session's life: stores it again when its new
   * expiry is `touchAfterMs` past the stored one's (or the stored one is
   * gone), else leaves it.
   */
  touch(
    sid: string,
    session: StoredSession,
    done: (err?: unknown) => void = () => {},
  ): void {
    const expiry = expiryOf(session);
    this.#table.read(sid).then((stored) => {
      const old = expiryOf(stored as StoredSession | null);
      if (
        stored !== null &&
        (expiry === null || (old !== null && expiry - old < this.#touchAfterMs))
      ) {
        done();
        return;
      }
      this.set(sid, session, done);
    }, done);
  }

  /** express-session's: builds the request's session from stored data. */
  createSession<S = StoredSession>(req: unknown, session: unknown): S {
    return this.#base.createSession.call(this, req, session) as S;
  }

  /** express-session's: destroys and regenerates the request's session. */
  regenerate(req: unknown, done: (err?: unknown) => void): void {
    this.#base.regenerate.call(this, req, done);
  }

  /** express-session's: loads a session object by id. */
  load<S = StoredSession>(
    sid: string,
    done: (err: unknown, session?: S) => void,
  ): void {
    this.#base.load.call(
      this,
      sid,
      done as (err: unknown, session?: StoredSession) => void,
    );
  }

  /** Closes the context the store made for a `target` (not a given `ctx`). */
  close(): void {
    this.#own?.then((c) => c.close(), () => {});
  }
}
