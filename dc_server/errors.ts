/**
 * Errors of the server framework's own options (the store's are
 * {@linkcode DcCacheRangeError}s).
 *
 * @module
 */

import { DistcacheError } from "../nal/mod.ts";

/**
 * An option of {@linkcode serve} or {@linkcode DcServer} that is out of
 * range (code `ERR_OPTION`); the message names the option, the value and
 * what is valid. Thrown before anything listens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcOptionError, DcServer } from "@distcache/distcache/dc_server";
 *
 * assert.throws(
 *   () => new DcServer(512, { minTimeoutMs: -1 }),
 *   (err) => err instanceof DcOptionError && err.code === "ERR_OPTION",
 * );
 * ```
 */
export class DcOptionError extends DistcacheError {
  /**
   * Makes an option error.
   *
   * @param message The option, its value and the valid range.
   */
  constructor(message: string) {
    super("ERR_OPTION", message);
  }
}
