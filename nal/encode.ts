/**
 * NAL_encode_* / NAL_decode_*: big-endian integers and raw bytes over a
 * cursor that advances as it goes (the C functions advance a pointer and
 * shrink a length).
 *
 * @module
 */

/**
 * A position in a byte array, advanced by the encode and decode helpers.
 *
 * @example Encode then decode a u32 and a u16
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUint16, decodeUint32, encodeUint16, encodeUint32, NalCursor } from "@distcache/distcache/nal";
 *
 * const bytes = new Uint8Array(6);
 * const w = new NalCursor(bytes);
 * encodeUint32(w, 0x00110000);
 * encodeUint16(w, 2048);
 * const r = new NalCursor(bytes);
 * assert.equal(decodeUint32(r), 0x00110000);
 * assert.equal(decodeUint16(r), 2048);
 * ```
 */
export class NalCursor {
  /** The bytes read from or written to. */
  readonly bytes: Uint8Array;
  /** Current position. */
  offset: number;
  /** End of the usable range (exclusive). */
  readonly end: number;

  /**
   * Makes a cursor over `bytes[offset, end)`.
   *
   * @param bytes The byte array.
   * @param offset Start position. @default {0}
   * @param end End position (exclusive). @default {bytes.length}
   */
  constructor(bytes: Uint8Array, offset = 0, end: number = bytes.length) {
    this.bytes = bytes;
    this.offset = offset;
    this.end = end;
  }

  /** Bytes left between the position and the end. */
  remaining(): number {
    return this.end - this.offset;
  }
}

/**
 * Writes a big-endian u32 and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUint32, NalCursor } from "@distcache/distcache/nal";
 *
 * const bytes = new Uint8Array(4);
 * assert.equal(encodeUint32(new NalCursor(bytes), 1), true);
 * assert.deepEqual(bytes, new Uint8Array([0, 0, 0, 1]));
 * ```
 *
 * @returns `false` (nothing written) when fewer than 4 bytes are left.
 */
export function encodeUint32(cur: NalCursor, value: number): boolean {
  if (cur.remaining() < 4) return false;
  const b = cur.bytes;
  const o = cur.offset;
  b[o] = value >>> 24;
  b[o + 1] = value >>> 16;
  b[o + 2] = value >>> 8;
  b[o + 3] = value;
  cur.offset = o + 4;
  return true;
}

/**
 * Writes a big-endian u16 and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUint16, NalCursor } from "@distcache/distcache/nal";
 *
 * const bytes = new Uint8Array(2);
 * assert.equal(encodeUint16(new NalCursor(bytes), 2048), true);
 * assert.deepEqual(bytes, new Uint8Array([8, 0]));
 * ```
 *
 * @returns `false` (nothing written) when fewer than 2 bytes are left.
 */
export function encodeUint16(cur: NalCursor, value: number): boolean {
  if (cur.remaining() < 2) return false;
  cur.bytes[cur.offset] = value >>> 8;
  cur.bytes[cur.offset + 1] = value;
  cur.offset += 2;
  return true;
}

/**
 * Writes one byte and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeChar, NalCursor } from "@distcache/distcache/nal";
 *
 * assert.equal(encodeChar(new NalCursor(new Uint8Array(1)), 1), true);
 * assert.equal(encodeChar(new NalCursor(new Uint8Array(0)), 1), false); // no room
 * ```
 *
 * @returns `false` when no byte is left.
 */
export function encodeChar(cur: NalCursor, value: number): boolean {
  if (cur.remaining() < 1) return false;
  cur.bytes[cur.offset++] = value;
  return true;
}

/**
 * Copies bytes in and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeBin, NalCursor } from "@distcache/distcache/nal";
 *
 * assert.equal(encodeBin(new NalCursor(new Uint8Array(3)), new Uint8Array([1, 2, 3])), true);
 * ```
 *
 * @returns `false` (nothing written) when they do not all fit.
 */
export function encodeBin(cur: NalCursor, data: Uint8Array): boolean {
  if (cur.remaining() < data.length) return false;
  cur.bytes.set(data, cur.offset);
  cur.offset += data.length;
  return true;
}

/**
 * Reads a big-endian u32 and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUint32, NalCursor } from "@distcache/distcache/nal";
 *
 * assert.equal(decodeUint32(new NalCursor(new Uint8Array([0, 0, 1, 0]))), 256);
 * ```
 *
 * @returns The value, or null (nothing consumed) when fewer than 4 bytes are left.
 */
export function decodeUint32(cur: NalCursor): number | null {
  if (cur.remaining() < 4) return null;
  const b = cur.bytes;
  const o = cur.offset;
  cur.offset = o + 4;
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/**
 * Reads a big-endian u16 and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeUint16, NalCursor } from "@distcache/distcache/nal";
 *
 * assert.equal(decodeUint16(new NalCursor(new Uint8Array([8, 0]))), 2048);
 * ```
 *
 * @returns The value, or null when fewer than 2 bytes are left.
 */
export function decodeUint16(cur: NalCursor): number | null {
  if (cur.remaining() < 2) return null;
  const o = cur.offset;
  cur.offset = o + 2;
  return (cur.bytes[o] << 8) | cur.bytes[o + 1];
}

/**
 * Reads one byte and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeChar, NalCursor } from "@distcache/distcache/nal";
 *
 * assert.equal(decodeChar(new NalCursor(new Uint8Array([7]))), 7);
 * ```
 *
 * @returns The byte, or null when none is left.
 */
export function decodeChar(cur: NalCursor): number | null {
  if (cur.remaining() < 1) return null;
  return cur.bytes[cur.offset++];
}

/**
 * Takes `length` bytes (a view, not a copy) and advances.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeBin, NalCursor } from "@distcache/distcache/nal";
 *
 * assert.deepEqual(decodeBin(new NalCursor(new Uint8Array([1, 2, 3])), 2), new Uint8Array([1, 2]));
 * ```
 *
 * @returns The bytes, or null (nothing consumed) when fewer are left.
 */
export function decodeBin(cur: NalCursor, length: number): Uint8Array | null {
  if (cur.remaining() < length) return null;
  const out = cur.bytes.subarray(cur.offset, cur.offset + length);
  cur.offset += length;
  return out;
}
