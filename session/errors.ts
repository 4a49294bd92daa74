/**
 * Errors of the session stores.
 *
 * @module
 */

import { DistcacheError } from "../nal/mod.ts";

/**
 * What the session stores report (code `ERR_SESSION_TOO_LARGE`: a session
 * whose JSON, with its id, does not fit in one cache entry;
 * `ERR_SESSION_CACHE`: the cache did not store it; `ERR_SESSION_DATA`: a
 * cached value that is not a session's JSON; `ERR_SESSION_SETUP`: the
 * framework package the store needs is not installed; `ERR_ARGUMENT`: a
 * bad option).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DistcacheSessionError } from "@distcache/distcache/session";
 *
 * const err = new DistcacheSessionError("ERR_SESSION_CACHE", "not stored");
 * assert.equal(err.code, "ERR_SESSION_CACHE");
 * ```
 */
export class DistcacheSessionError extends DistcacheError {
  /**
   * Makes a session store error.
   *
   * @param code One of the codes above.
   * @param message What failed, naming the session.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
