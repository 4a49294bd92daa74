/**
 * DC_MSG: one frame of the wire protocol (a 14-byte header and up to 2048
 * bytes of data): encode, pre-decode (is a whole valid frame there yet?) and
 * decode. Every function works on a range of a caller's array, so a reader
 * can decode straight from a connection's read buffer without copying.
 *
 * @module
 */

import {
  DC_CLASS_USER,
  DC_MAX_TOTAL_DATA,
  DC_MSG_HEADER_SIZE,
  DC_MSG_MAX_DATA,
  DcDecodeState,
  type DcOp,
  DISTCACHE_PROTO_LEVEL,
  DISTCACHE_PROTO_VER,
} from "./constants.ts";
import { DcEncodeError, DcProtocolError } from "./errors.ts";

// Where the fields of a frame header sit, and the big-endian readers and
// writers every coder of dc_enc uses: written once, so that no file counts
// bytes by hand (`pos + 12`), and here, beside scanFrame and writeHeader,
// which use them most. Internal to dc_enc: its public face of the layout
// is encodeMsg / decodeMsg.

/** proto_level: u32, version in the high 16 bits. */
export const OFF_PROTO_LEVEL = 0;
/** is_response: one byte, 0 or 1. */
export const OFF_IS_RESPONSE = 4;
/** request_uid: u32. */
export const OFF_REQUEST_UID = 5;
/** op_class: one byte, always 0. */
export const OFF_OP_CLASS = 9;
/** operation: one byte (the command less one). */
export const OFF_OPERATION = 10;
/** complete: one byte, 1 on the last frame of a command. */
export const OFF_COMPLETE = 11;
/** data_len: u16, 0..2048. */
export const OFF_DATA_LEN = 12;

/** A big-endian u32 at `o`. */
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** A big-endian u16 at `o`. */
export function readU16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Writes a big-endian u32 at `o` (taken modulo 2^32). */
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** The data_len of the frame whose header starts at `o`. */
export function frameDataLen(b: Uint8Array, o: number): number {
  return readU16(b, o + OFF_DATA_LEN);
}

/**
 * One frame, decoded: the fields of the C `DC_MSG`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcOp, type DcMsg, decodeMsg, DISTCACHE_PROTO_LEVEL, encodeMsg } from "@distcache/distcache/dc_enc";
 *
 * const msg: DcMsg = {
 *   protoLevel: DISTCACHE_PROTO_LEVEL, isResponse: false, requestUid: 1,
 *   opClass: 0, operation: DcOp.HAVE, complete: true, data: new Uint8Array([0x69, 0x64]),
 * };
 * const bytes = new Uint8Array(16);
 * assert.equal(encodeMsg(msg, bytes), 16);
 * assert.deepEqual(decodeMsg(bytes), msg);
 * ```
 */
export interface DcMsg {
  /** Protocol level: version in the high 16 bits, patch level in the low. */
  protoLevel: number;
  /** A response (true) or a request. */
  isResponse: boolean;
  /** Chosen by the requester, echoed in the response (0..0xFFFFFFFF). */
  requestUid: number;
  /** Operation class: always 0 (`DC_CLASS_USER`). */
  opClass: number;
  /** The operation byte (`DcOp`: the command less one). */
  operation: DcOp;
  /** Last frame of its command. */
  complete: boolean;
  /** The frame's data, 0..2048 bytes (exactly 2048 unless `complete`). */
  data: Uint8Array;
}

/** Which frames a receiver accepts: a server takes requests, a client responses. */
export type DcDirection = "request" | "response" | "any";

/** Accept masks for {@linkcode scanFrame}: bit 0 requests, bit 1 responses. */
export const ACCEPT_REQUESTS = 1;
/** Accept responses only. */
export const ACCEPT_RESPONSES = 2;
/** Accept both. */
export const ACCEPT_ANY = 3;

/** The accept mask of a direction. */
export function acceptMask(direction: DcDirection): number {
  if (direction === "request") return ACCEPT_REQUESTS;
  return direction === "response" ? ACCEPT_RESPONSES : ACCEPT_ANY;
}

/**
 * What a follow-up frame of an unfinished command must match: the same
 * direction, request_uid and operation, and no more data than `room`.
 */
export interface FrameFollow {
  isResponse: number;
  uid: number;
  op: number;
  room: number;
}

/**
 * Checks the bytes `b[off, off + n)`, which start at a frame boundary.
 * Returns the whole frame's size once it is all there, 0 while more bytes
 * are needed, or the error of the first invalid byte, however few bytes
 * have come (the C pre-decoder's rule, applied byte by byte).
 */
export function scanFrame(
  b: Uint8Array,
  off: number,
  n: number,
  accept: number,
  follow: FrameFollow | null,
): number | DcProtocolError {
  if (n < 1) return 0;
  // proto_level: only the version (high 16 bits) matters, so a mismatch is
  // known from the first two bytes.
  if (b[off + OFF_PROTO_LEVEL] !== DISTCACHE_PROTO_VER >>> 8) {
    return versionError(b, off, n);
  }
  if (n < 2) return 0;
  if (b[off + OFF_PROTO_LEVEL + 1] !== (DISTCACHE_PROTO_VER & 0xff)) {
    return versionError(b, off, n);
  }
  // Each field is checked once its last byte is in: `n` must exceed its
  // offset.
  if (n <= OFF_IS_RESPONSE) return 0;
  const isResponse = b[off + OFF_IS_RESPONSE];
  if (isResponse > 1) {
    return corrupt("is_response", isResponse, "must be 0 or 1");
  }
  if ((accept & (isResponse + 1)) === 0) {
    return corrupt(
      "is_response",
      isResponse,
      isResponse === 1
        ? "a response where a request was expected"
        : "a request where a response was expected",
    );
  }
  const room = follow === null ? DC_MAX_TOTAL_DATA : follow.room;
  if (follow !== null) {
    if (isResponse !== follow.isResponse) {
      return corrupt(
        "is_response",
        isResponse,
        "frames of one command differ in is_response",
      );
    }
    const have = Math.min(n - OFF_REQUEST_UID, 4);
    for (let k = 0; k < have; k++) {
      if (
        b[off + OFF_REQUEST_UID + k] !== ((follow.uid >>> (24 - 8 * k)) & 0xff)
      ) {
        return corrupt(
          "request_uid",
          partialU32(b, off + OFF_REQUEST_UID, have),
          `a frame of command ${follow.uid >>> 0} carries another request_uid`,
        );
      }
    }
  }
  if (n <= OFF_OP_CLASS) return 0;
  const opClass = b[off + OFF_OP_CLASS];
  if (opClass !== DC_CLASS_USER) {
    return corrupt("op_class", opClass, `must be ${DC_CLASS_USER}`);
  }
  if (n <= OFF_OPERATION) return 0;
  const op = b[off + OFF_OPERATION];
  if (op > 3) return corrupt("operation", op, "must be 0..3");
  if (follow !== null && op !== follow.op) {
    return corrupt(
      "operation",
      op,
      `frames of one command differ in operation (${follow.op}, then ${op})`,
    );
  }
  if (n <= OFF_COMPLETE) return 0;
  const complete = b[off + OFF_COMPLETE];
  if (complete > 1) return corrupt("complete", complete, "must be 0 or 1");
  if (complete === 0 && room < DC_MSG_MAX_DATA) {
    return tooLong(room, DC_MSG_MAX_DATA);
  }
  if (n <= OFF_DATA_LEN) return 0;
  // data_len's high byte alone can already rule the frame out; errors
  // report as much of the value as has arrived.
  const hi = b[off + OFF_DATA_LEN] << 8;
  const len = n <= OFF_DATA_LEN + 1 ? hi : hi | b[off + OFF_DATA_LEN + 1];
  if (hi > DC_MSG_MAX_DATA) {
    return corrupt("data_len", len, `must be 0..${DC_MSG_MAX_DATA}`);
  }
  if (complete === 0 && hi !== DC_MSG_MAX_DATA) return notFull(len);
  if (hi > room) return tooLong(room, len);
  if (n < DC_MSG_HEADER_SIZE) return 0;
  if (len > DC_MSG_MAX_DATA) {
    return corrupt("data_len", len, `must be 0..${DC_MSG_MAX_DATA}`);
  }
  if (complete === 0 && len !== DC_MSG_MAX_DATA) return notFull(len);
  if (len > room) return tooLong(room, len);
  const size = DC_MSG_HEADER_SIZE + len;
  return n >= size ? size : 0;
}

function corrupt(
  field: string,
  value: number,
  rule: string,
): DcProtocolError {
  return new DcProtocolError(
    "ERR_PROTOCOL",
    field,
    value,
    `corrupt frame: ${field} ${value}: ${rule}`,
  );
}

function notFull(len: number): DcProtocolError {
  return corrupt(
    "data_len",
    len,
    `a frame with complete = 0 must carry exactly ${DC_MSG_MAX_DATA} bytes`,
  );
}

function tooLong(room: number, len: number): DcProtocolError {
  const total = DC_MAX_TOTAL_DATA - room + len;
  return new DcProtocolError(
    "ERR_PROTOCOL",
    "data_len",
    total,
    `corrupt command: ${total} bytes or more of payload, at most ${DC_MAX_TOTAL_DATA} allowed`,
  );
}

function versionError(b: Uint8Array, off: number, n: number): DcProtocolError {
  const have = n < 4 ? n : 4;
  let hex = "";
  for (let i = 0; i < 4; i++) {
    hex += i < have ? b[off + i].toString(16).padStart(2, "0") : "xx";
  }
  return new DcProtocolError(
    "ERR_VERSION",
    "proto_level",
    partialU32(b, off, have),
    `protocol version mismatch: the peer's level is ${hex}, ours is ${
      DISTCACHE_PROTO_LEVEL.toString(16).padStart(8, "0")
    } (any patch level of version ${
      DISTCACHE_PROTO_VER.toString(16).padStart(4, "0")
    } is accepted)`,
  );
}

// A big-endian u32 of which only the first `have` bytes arrived (the rest
// count as zero), for error reports.
function partialU32(b: Uint8Array, off: number, have: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) v = v * 256 + (i < have ? b[off + i] : 0);
  return v;
}

/**
 * Writes a frame header at `off`; `isResponse` and `complete` are 0 or 1,
 * `op` the operation byte.
 */
export function writeHeader(
  b: Uint8Array,
  off: number,
  protoLevel: number,
  isResponse: number,
  uid: number,
  op: number,
  complete: number,
  len: number,
): void {
  writeU32(b, off + OFF_PROTO_LEVEL, protoLevel);
  b[off + OFF_IS_RESPONSE] = isResponse;
  writeU32(b, off + OFF_REQUEST_UID, uid);
  b[off + OFF_OP_CLASS] = DC_CLASS_USER;
  b[off + OFF_OPERATION] = op;
  b[off + OFF_COMPLETE] = complete;
  b[off + OFF_DATA_LEN] = len >>> 8;
  b[off + OFF_DATA_LEN + 1] = len;
}

/**
 * What the bytes so far hold (`DC_MSG_pre_decode`): a whole valid frame
 * (OK), the start of one (INCOMPLETE), or an invalid field (CORRUPT),
 * reported as soon as the first invalid byte has arrived.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcDecodeState, preDecodeMsg } from "@distcache/distcache/dc_enc";
 *
 * const otherVersion = new Uint8Array([0x00, 0x12]);
 * assert.equal(preDecodeMsg(otherVersion), DcDecodeState.CORRUPT);
 * ```
 *
 * @param src Received bytes.
 * @param offset Where the frame starts in `src`. @default {0}
 * @param length How many bytes from `offset` have arrived. @default {src.length - offset}
 * @param direction Accept only requests, only responses, or both. @default {"any"}
 */
export function preDecodeMsg(
  src: Uint8Array,
  offset = 0,
  length: number = src.length - offset,
  direction: DcDirection = "any",
): DcDecodeState {
  const r = scanFrame(src, offset, length, acceptMask(direction), null);
  if (typeof r !== "number") return DcDecodeState.CORRUPT;
  return r === 0 ? DcDecodeState.INCOMPLETE : DcDecodeState.OK;
}

/**
 * Decodes the frame at `src[offset]` (`DC_MSG_decode`). Its `data` is a view
 * of `src`, not a copy. The frame took `DC_MSG_HEADER_SIZE + data.length`
 * bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcOp, decodeMsg, encodeMsg, DISTCACHE_PROTO_LEVEL } from "@distcache/distcache/dc_enc";
 *
 * const bytes = new Uint8Array(16);
 * encodeMsg({
 *   protoLevel: DISTCACHE_PROTO_LEVEL, isResponse: false, requestUid: 9,
 *   opClass: 0, operation: DcOp.GET, complete: true, data: new Uint8Array([1, 2]),
 * }, bytes);
 * assert.equal(decodeMsg(bytes)?.requestUid, 9);
 * ```
 *
 * @param src Received bytes.
 * @param offset Where the frame starts in `src`. @default {0}
 * @param length How many bytes from `offset` have arrived. @default {src.length - offset}
 * @param direction Accept only requests, only responses, or both. @default {"any"}
 * @param into An object to fill instead of a new one (for hot loops).
 * @returns The frame, or null while it is incomplete.
 * @throws {DcProtocolError} when the bytes are not a valid frame.
 */
export function decodeMsg(
  src: Uint8Array,
  offset = 0,
  length: number = src.length - offset,
  direction: DcDirection = "any",
  into?: DcMsg,
): DcMsg | null {
  const size = scanFrame(src, offset, length, acceptMask(direction), null);
  if (typeof size !== "number") throw size;
  if (size === 0) return null;
  const msg = into ?? ({} as DcMsg);
  msg.protoLevel = readU32(src, offset + OFF_PROTO_LEVEL);
  msg.isResponse = src[offset + OFF_IS_RESPONSE] === 1;
  msg.requestUid = readU32(src, offset + OFF_REQUEST_UID);
  msg.opClass = src[offset + OFF_OP_CLASS];
  msg.operation = src[offset + OFF_OPERATION] as DcOp;
  msg.complete = src[offset + OFF_COMPLETE] === 1;
  msg.data = src.subarray(offset + DC_MSG_HEADER_SIZE, offset + size);
  return msg;
}

/**
 * Encodes one frame into `dest` at `offset` (`DC_MSG_encode`). Senders put
 * {@linkcode DISTCACHE_PROTO_LEVEL} in `protoLevel`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcOp, encodeMsg, DISTCACHE_PROTO_LEVEL } from "@distcache/distcache/dc_enc";
 *
 * const dest = new Uint8Array(15);
 * const n = encodeMsg({
 *   protoLevel: DISTCACHE_PROTO_LEVEL, isResponse: true, requestUid: 1,
 *   opClass: 0, operation: DcOp.HAVE, complete: true, data: new Uint8Array([0]),
 * }, dest);
 * assert.equal(n, 15);
 * ```
 *
 * @param msg The frame.
 * @param dest Where to write it.
 * @param offset Where in `dest`. @default {0}
 * @returns Bytes written, or 0 when the frame does not fit in `dest`.
 * @throws {DcEncodeError} for a frame no receiver would accept: another
 *   protocol version, op_class not 0, operation not 0..3, data over 2048
 *   bytes, or an incomplete frame without exactly 2048 bytes.
 */
export function encodeMsg(msg: DcMsg, dest: Uint8Array, offset = 0): number {
  const len = msg.data.length;
  checkEncodable(msg, len);
  if (dest.length - offset < DC_MSG_HEADER_SIZE + len) return 0;
  writeHeader(
    dest,
    offset,
    msg.protoLevel,
    msg.isResponse ? 1 : 0,
    msg.requestUid,
    msg.operation,
    msg.complete ? 1 : 0,
    len,
  );
  dest.set(msg.data, offset + DC_MSG_HEADER_SIZE);
  return DC_MSG_HEADER_SIZE + len;
}

function checkEncodable(msg: DcMsg, len: number): void {
  let why = "";
  if (msg.protoLevel >>> 16 !== DISTCACHE_PROTO_VER) {
    why = `protoLevel ${msg.protoLevel}: version must be 0x0011`;
  } else if (msg.opClass !== DC_CLASS_USER) {
    why = `opClass ${msg.opClass}: must be ${DC_CLASS_USER}`;
  } else if (!(msg.operation >= 0 && msg.operation <= 3)) {
    why = `operation ${msg.operation}: must be 0..3`;
  } else if (len > DC_MSG_MAX_DATA) {
    why = `${len} bytes of data: a frame carries at most ${DC_MSG_MAX_DATA}`;
  } else if (!msg.complete && len !== DC_MSG_MAX_DATA) {
    why =
      `${len} bytes of data in an incomplete frame: must be exactly ${DC_MSG_MAX_DATA}`;
  } else if (
    !Number.isInteger(msg.requestUid) || msg.requestUid < 0 ||
    msg.requestUid > 0xffffffff
  ) {
    why = `requestUid ${msg.requestUid}: must be 0..0xFFFFFFFF`;
  }
  if (why !== "") throw new DcEncodeError(`cannot encode frame: ${why}`);
}
