/**
 * Errors of the TLS helpers.
 *
 * @module
 */

import { DistcacheError } from "../nal/mod.ts";

/**
 * What the TLS helpers report or throw (code `ERR_TLS_UNSUPPORTED`: the
 * runtime's TLS server lacks what a helper needs, e.g. `setTicketKeys`
 * under Bun; `ERR_TLS_CACHE`: the cache did not store or return what it
 * was asked, passed to `onError`; `ERR_ARGUMENT`: a bad option).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DistcacheTlsError } from "@distcache/distcache/tls";
 *
 * const err = new DistcacheTlsError("ERR_TLS_CACHE", "the cache is away");
 * assert.equal(err.code, "ERR_TLS_CACHE");
 * ```
 */
export class DistcacheTlsError extends DistcacheError {
  /**
   * Makes a TLS helper error.
   *
   * @param code `ERR_TLS_UNSUPPORTED`, `ERR_TLS_CACHE` or `ERR_ARGUMENT`.
   * @param message What failed, and what would work.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
