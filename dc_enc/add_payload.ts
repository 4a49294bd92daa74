/**
 * The payload of an ADD request: a u32 lifetime in milliseconds, a u32 id
 * length, the id, then the session data (the rest of the payload). Clients
 * encode it, servers and proxies decode it, and tools print it, all through
 * these functions.
 *
 * @module
 */

import {
  DC_MAX_ID_LEN,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
  DcAddErr,
} from "./constants.ts";
import { DcEncodeError } from "./errors.ts";
import { readU32, writeU32 } from "./msg.ts";

// Where an ADD payload's fields sit: the lifetime in milliseconds and the
// id length, both u32; the id follows, then the data.
const OFF_ADD_TIMEOUT = 0;
const OFF_ADD_ID_LEN = 4;

/**
 * Bytes of an ADD payload before the id: the lifetime and the id length.
 * A shorter ADD payload is malformed (the C server drops the connection).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_ADD_HEADER_SIZE, DC_MAX_TOTAL_DATA } from "@distcache/distcache/dc_enc";
 *
 * // The most session data an ADD with a 16-byte id can carry:
 * assert.equal(DC_MAX_TOTAL_DATA - DC_ADD_HEADER_SIZE - 16, 32744);
 * ```
 */
export const DC_ADD_HEADER_SIZE = 8;

/**
 * The fields of an ADD payload, as {@linkcode decodeAddPayload} reads them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DcAddPayload, decodeAddPayload, encodeAddPayload } from "@distcache/distcache/dc_enc";
 *
 * const add: DcAddPayload = {
 *   timeoutMs: 60_000,
 *   idLength: 2,
 *   id: new Uint8Array([0x69, 0x64]),
 *   data: new Uint8Array([1, 2, 3, 4, 5]),
 * };
 * assert.deepEqual(decodeAddPayload(encodeAddPayload(add.timeoutMs, add.id, add.data)), add);
 * ```
 */
export interface DcAddPayload {
  /** The lifetime asked for, in milliseconds (any u32; above 7 days is refused). */
  timeoutMs: number;
  /**
   * The id length as sent. It may run past the payload (a malformed ADD);
   * then `id` holds only the bytes there are and `data` is empty.
   */
  idLength: number;
  /** The id: a view of the payload, not a copy. */
  id: Uint8Array;
  /** The session data: a view of the payload, not a copy. */
  data: Uint8Array;
}

/**
 * Builds an ADD payload. The layout is all this checks: the range rules of
 * ids (1..64 bytes), data (at least 1 byte) and lifetimes (at most 7 days)
 * are the receiver's to apply, so a test can build any ADD a peer might send.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAddPayload, encodeAddPayload } from "@distcache/distcache/dc_enc";
 *
 * const te = new TextEncoder();
 * const payload = encodeAddPayload(60_000, te.encode("sid"), te.encode("data!"));
 * assert.equal(payload.length, 8 + 3 + 5);
 * const add = decodeAddPayload(payload);
 * assert.equal(add?.timeoutMs, 60_000);
 * assert.deepEqual(add?.id, te.encode("sid"));
 * ```
 *
 * @param timeoutMs Lifetime in milliseconds (an integer 0..0xFFFFFFFF).
 * @param id The session id.
 * @param data The session data.
 * @returns A new array of `8 + id.length + data.length` bytes.
 * @throws {DcEncodeError} for a lifetime that is not a u32, or a payload
 *   over 32768 bytes (it would not fit one command).
 */
export function encodeAddPayload(
  timeoutMs: number,
  id: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0xffffffff) {
    throw new DcEncodeError(
      `cannot encode an ADD lifetime of ${timeoutMs} ms: must be an integer 0..0xFFFFFFFF`,
    );
  }
  const size = DC_ADD_HEADER_SIZE + id.length + data.length;
  if (size > DC_MAX_TOTAL_DATA) {
    throw new DcEncodeError(
      `cannot encode an ADD payload of ${size} bytes (${id.length}-byte id, ${data.length} bytes of data): a command carries at most ${DC_MAX_TOTAL_DATA}`,
    );
  }
  const out = new Uint8Array(size);
  writeU32(out, OFF_ADD_TIMEOUT, timeoutMs);
  writeU32(out, OFF_ADD_ID_LEN, id.length);
  out.set(id, DC_ADD_HEADER_SIZE);
  out.set(data, DC_ADD_HEADER_SIZE + id.length);
  return out;
}

/**
 * Reads an ADD payload. Nothing is copied: `id` and `data` are views of
 * `payload`.
 *
 * @example A malformed ADD whose id length runs past its payload
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAddPayload } from "@distcache/distcache/dc_enc";
 *
 * const add = decodeAddPayload(new Uint8Array([0, 0, 0, 5, 0, 0, 0, 9, 0x61, 0x62]));
 * assert.equal(add?.idLength, 9);
 * assert.equal(add?.id.length, 2);
 * assert.equal(add?.data.length, 0);
 * assert.equal(decodeAddPayload(new Uint8Array(7)), null); // too short for the header
 * ```
 *
 * @param payload The ADD request's payload.
 * @param into An object to fill instead of a new one (for hot loops).
 * @returns The fields, or null for a payload under 8 bytes.
 */
export function decodeAddPayload(
  payload: Uint8Array,
  into?: DcAddPayload,
): DcAddPayload | null {
  if (payload.length < DC_ADD_HEADER_SIZE) return null;
  const idLength = readU32(payload, OFF_ADD_ID_LEN);
  const idEnd = DC_ADD_HEADER_SIZE +
    Math.min(idLength, payload.length - DC_ADD_HEADER_SIZE);
  const add = into ?? ({} as DcAddPayload);
  add.timeoutMs = readU32(payload, OFF_ADD_TIMEOUT);
  add.idLength = idLength;
  add.id = payload.subarray(DC_ADD_HEADER_SIZE, idEnd);
  add.data = payload.subarray(idEnd);
  return add;
}

/**
 * The lifetime to store for an ADD that asked for `timeoutMs` when lifetimes
 * have a floor of `minTimeoutMs` (a server's or proxy's `-min-timeout`): at
 * least the floor, never above 7 days. A lifetime over 7 days is returned
 * unchanged, for the server to refuse (`DcAddErr.TIMEOUT_RANGE`).
 *
 * @example Apache's mod_socache_dc sends lifetimes of 0..999 ms
 * ```ts
 * import assert from "node:assert/strict";
 * import { clampTimeout } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(clampTimeout(500, 300_000), 300_000);
 * assert.equal(clampTimeout(600_000, 300_000), 600_000);
 * assert.equal(clampTimeout(500, 0), 500); // no floor
 * ```
 *
 * @param timeoutMs The lifetime the ADD carries.
 * @param minTimeoutMs The floor (0: none); at most 7 days.
 */
export function clampTimeout(timeoutMs: number, minTimeoutMs: number): number {
  if (timeoutMs >= minTimeoutMs || timeoutMs > DC_MAX_TIMEOUT_MS) {
    return timeoutMs;
  }
  return Math.min(minTimeoutMs, DC_MAX_TIMEOUT_MS);
}

/**
 * Why a server refuses an ADD whose payload decoded (see
 * {@linkcode decodeAddPayload}; a payload too short to decode is not
 * refused but drops the connection): the C server's checks, in its order.
 * A lifetime over 7 days (`TIMEOUT_RANGE`), an id length that leaves no
 * data (`CORRUPT`), an id of 0 or over 64 bytes (`ID_RANGE`), data over
 * 32768 bytes (`DATA_RANGE`). Servers answer with it; a proxy checks with
 * it before forwarding, so that a malformed ADD never reaches the server.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addPayloadError, DcAddErr, decodeAddPayload, encodeAddPayload } from "@distcache/distcache/dc_enc";
 *
 * const te = new TextEncoder();
 * const ok = decodeAddPayload(encodeAddPayload(60_000, te.encode("sid"), te.encode("data!")))!;
 * assert.equal(addPayloadError(ok), null);
 * const noData = decodeAddPayload(encodeAddPayload(60_000, te.encode("sid"), new Uint8Array(0)))!;
 * assert.equal(addPayloadError(noData), DcAddErr.CORRUPT);
 * ```
 *
 * @param add The decoded payload.
 * @returns The answer code of the refusal, or null for an ADD the server
 *   hands to its store.
 */
export function addPayloadError(add: DcAddPayload): DcAddErr | null {
  if (add.timeoutMs > DC_MAX_TIMEOUT_MS) return DcAddErr.TIMEOUT_RANGE;
  if (add.idLength >= add.id.length + add.data.length) return DcAddErr.CORRUPT;
  if (add.idLength === 0 || add.idLength > DC_MAX_ID_LEN) {
    return DcAddErr.ID_RANGE;
  }
  if (add.data.length > DC_MAX_TOTAL_DATA) return DcAddErr.DATA_RANGE;
  return null;
}

/**
 * Rewrites the lifetime of an ADD payload in place (a proxy applying a
 * lifetime floor with {@linkcode clampTimeout} before it forwards).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeAddPayload, encodeAddPayload, setAddTimeout } from "@distcache/distcache/dc_enc";
 *
 * const payload = encodeAddPayload(500, new Uint8Array([1]), new Uint8Array(5));
 * setAddTimeout(payload, 300_000);
 * assert.equal(decodeAddPayload(payload)?.timeoutMs, 300_000);
 * ```
 *
 * @param payload An ADD payload of at least 8 bytes.
 * @param timeoutMs The lifetime in milliseconds (taken modulo 2^32).
 */
export function setAddTimeout(payload: Uint8Array, timeoutMs: number): void {
  writeU32(payload, OFF_ADD_TIMEOUT, timeoutMs);
}
