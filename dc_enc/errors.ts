/**
 * Errors of the protocol layer: a peer that broke the protocol, and a caller
 * that asked for something the protocol cannot carry.
 *
 * @module
 */

import { DistcacheError } from "../nal/errors.ts";

/**
 * A received stream broke the protocol (code `ERR_PROTOCOL`), or spoke
 * another protocol version (code `ERR_VERSION`). `field` and `value` say
 * what was wrong. Only the connection that sent it is dropped: nothing
 * throws or aborts for a peer's fault; a {@linkcode DcPlug} keeps the error
 * in its `error` property.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcProtocolError } from "@distcache/distcache/dc_enc";
 *
 * const err = new DcProtocolError("ERR_PROTOCOL", "op_class", 1, "op_class 1, must be 0");
 * assert.equal(err.field, "op_class");
 * assert.equal(err.value, 1);
 * ```
 */
export class DcProtocolError extends DistcacheError {
  /**
   * The wire field that was wrong: `proto_level`, `is_response`,
   * `request_uid`, `op_class`, `operation`, `complete` or `data_len`.
   */
  readonly field: string;
  /** The value received (as much of it as had arrived). */
  readonly value: number;

  /**
   * Makes a protocol error.
   *
   * @param code `ERR_PROTOCOL` or `ERR_VERSION`.
   * @param field The field that was wrong.
   * @param value The value received.
   * @param message What was wrong and what is valid.
   */
  constructor(code: string, field: string, value: number, message: string) {
    super(code, message);
    this.field = field;
    this.value = value;
  }
}

/**
 * A frame or command that the protocol cannot carry was asked for (code
 * `ERR_ENCODE`): a payload over 32768 bytes, frame data over 2048 bytes, an
 * unknown operation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd, DcEncodeError, encodeCommand } from "@distcache/distcache/dc_enc";
 *
 * assert.throws(
 *   () => encodeCommand(false, 1, DcCmd.GET, new Uint8Array(32769)),
 *   DcEncodeError, // over 32768 bytes
 * );
 * ```
 */
export class DcEncodeError extends DistcacheError {
  /**
   * Makes an encoding error.
   *
   * @param message What was asked and what would be valid.
   */
  constructor(message: string) {
    super("ERR_ENCODE", message);
  }
}
