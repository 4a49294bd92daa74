/**
 * Errors of the client API.
 *
 * @module
 */

import { DistcacheError } from "../nal/errors.ts";

/**
 * An argument a {@linkcode DcCtx} call cannot send (code `ERR_ARGUMENT`):
 * a value of the wrong type (ids and data are a `Uint8Array` or a string),
 * an id of 0 or more than 64 bytes, session data under 5 bytes (it could
 * never be read back) or too large for one command, a timeout above 7
 * days, an option out of range. The message names the argument. Nothing is
 * sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcArgumentError, DcCtx } from "@distcache/distcache/dc_client";
 *
 * const ctx = await DcCtx.create("UNIX:/tmp/scache"); // connects only when used
 * await assert.rejects(ctx.addSession("", "data", 1000), DcArgumentError); // empty id
 * await assert.rejects(ctx.addSession("id", "1", 1000), DcArgumentError); // data under 5 bytes
 * ctx.close();
 * ```
 */
export class DcArgumentError extends DistcacheError {
  /**
   * Makes an argument error.
   *
   * @param message Which argument and what would be valid.
   */
  constructor(message: string) {
    super("ERR_ARGUMENT", message);
  }
}

/**
 * A persistent context could not make its first connection
 * (code `ERR_CONNECT`), thrown by {@linkcode DcCtx.create}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_FLAG_PERSISTENT, DcConnectError, DcCtx } from "@distcache/distcache/dc_client";
 *
 * await assert.rejects(
 *   DcCtx.create("UNIX:/no/such/dir/socket", DC_CTX_FLAG_PERSISTENT),
 *   DcConnectError,
 * );
 * ```
 */
export class DcConnectError extends DistcacheError {
  /**
   * Makes a connect error.
   *
   * @param message What could not be reached, and why.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_CONNECT", message, options);
  }
}
