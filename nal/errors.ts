/**
 * Error classes shared by every layer of distcache.
 *
 * @module
 */

/**
 * Base class of every error distcache throws or reports. `code` is a stable
 * string a caller can switch on; the message names the bad value and what
 * would have been valid.
 *
 * @example Catch any distcache error
 * ```ts
 * import assert from "node:assert/strict";
 * import { DistcacheError, NalAddress } from "@distcache/distcache/nal";
 *
 * assert.throws(() => NalAddress.parse("IP:70000"), (err) => {
 *   assert.ok(err instanceof DistcacheError);
 *   assert.equal(err.code, "ERR_ADDRESS");
 *   return true;
 * });
 * ```
 */
export class DistcacheError extends Error {
  /** Stable, machine-readable error code, e.g. `"ERR_ADDRESS"`. */
  readonly code: string;

  /**
   * Makes an error with a code and a message.
   *
   * @param code Stable machine-readable code.
   * @param message What was wrong and what would be valid.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * An address string that cannot be parsed or used as asked
 * (code `ERR_ADDRESS`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalAddressError } from "@distcache/distcache/nal";
 *
 * assert.throws(() => NalAddress.parse("TCP:1.2.3.4:80"), NalAddressError);
 * ```
 */
export class NalAddressError extends DistcacheError {
  /**
   * Makes an address error.
   *
   * @param message What was wrong with the address.
   */
  constructor(message: string) {
    super("ERR_ADDRESS", message);
  }
}

/**
 * A socket-level failure: listening, connecting, reading or writing
 * (code `ERR_LISTEN`, `ERR_ADDRESS_IN_USE`, `ERR_CONNECT`, `ERR_IO`,
 * `ERR_ACCEPT`).
 *
 * Functions that the C API defines as returning a boolean still return
 * `false`; the error is kept on the object (`listener.error`,
 * `conn.error`) so that a caller can say why.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalListener } from "@distcache/distcache/nal";
 *
 * const list = new NalListener();
 * assert.equal(await list.create(NalAddress.parse("UNIX:/no/such/dir/sock")), false);
 * assert.equal(list.error?.code, "ERR_LISTEN"); // and the message says why
 * ```
 */
export class NalSocketError extends DistcacheError {
  /**
   * Makes a socket error.
   *
   * @param code One of `ERR_LISTEN`, `ERR_ADDRESS_IN_USE`, `ERR_CONNECT`,
   *   `ERR_IO`, `ERR_ACCEPT`.
   * @param message What failed, naming the address.
   * @param options Standard error options (`cause`: the runtime's error).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * An option of nal that is out of range or of the wrong type (code
 * `ERR_OPTION`), thrown before anything is opened.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalListener, NalOptionError } from "@distcache/distcache/nal";
 *
 * assert.throws(() => new NalListener({ mode: 0o7777 }), NalOptionError);
 * ```
 */
export class NalOptionError extends DistcacheError {
  /**
   * Makes an option error.
   *
   * @param message The option, its value, and what is valid.
   */
  constructor(message: string) {
    super("ERR_OPTION", message);
  }
}

/**
 * A file that cannot be used as asked (codes `ERR_FILE_NOT_FOUND`,
 * `ERR_FILE_LINK`: a symbolic link, refused; `ERR_FILE_TYPE`: not a
 * regular file; `ERR_FILE_MODE`: readable by others where it must not be;
 * `ERR_FILE_IO`: the system refused a read or write).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalFileError, openFileNoFollow } from "@distcache/distcache/nal";
 *
 * await assert.rejects(
 *   openFileNoFollow("/no/such/file"),
 *   (err) => err instanceof NalFileError && err.code === "ERR_FILE_NOT_FOUND",
 * );
 * ```
 */
export class NalFileError extends DistcacheError {
  /**
   * Makes a file error.
   *
   * @param code One of `ERR_FILE_NOT_FOUND`, `ERR_FILE_LINK`,
   *   `ERR_FILE_TYPE`, `ERR_FILE_MODE`, `ERR_FILE_IO`.
   * @param message The file and what is wrong with it.
   * @param options Standard error options (`cause`: the system's error).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
