/**
 * Commands on the way out: one request or response of up to 32768 bytes,
 * split into frames of 2048 bytes (every frame but the last full, the last
 * marked complete), written as one contiguous range so that a writer hands
 * the whole command to a single socket write.
 *
 * @module
 */

import {
  DC_MAX_TOTAL_DATA,
  DC_MSG_HEADER_SIZE,
  DC_MSG_MAX_DATA,
  DcCmd,
  DISTCACHE_PROTO_LEVEL,
} from "./constants.ts";
import { DcEncodeError } from "./errors.ts";
import { writeHeader } from "./msg.ts";

/** Whether a value is one of ADD, GET, REMOVE, HAVE. */
export function isCmd(cmd: number): cmd is DcCmd {
  return cmd >= DcCmd.ADD && cmd <= DcCmd.HAVE && Number.isInteger(cmd);
}

/** Frames that carry `total` bytes of payload (an empty payload takes one). */
export function frameCount(total: number): number {
  return total === 0 ? 1 : Math.ceil(total / DC_MSG_MAX_DATA);
}

/** Bytes that frames `[first, end)` of a `total`-byte payload take. */
export function framesSize(total: number, first: number, end: number): number {
  const to = Math.min(total, end * DC_MSG_MAX_DATA);
  return (end - first) * DC_MSG_HEADER_SIZE + to - first * DC_MSG_MAX_DATA;
}

/**
 * Bytes that a command with `payloadLength` bytes of payload takes on the
 * wire: a 14-byte header per 2048 bytes (at least one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandSize } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(commandSize(0), 14); // one empty frame
 * assert.equal(commandSize(2048), 2062); // one full frame
 * assert.equal(commandSize(2049), 2077); // a full frame and one of 1 byte
 * ```
 *
 * @param payloadLength Payload bytes (0..32768).
 */
export function commandSize(payloadLength: number): number {
  return frameCount(payloadLength) * DC_MSG_HEADER_SIZE + payloadLength;
}

/**
 * Writes frames `[first, end)` of a command whose payload is `parts` back to
 * back (`total` bytes), at `dest[pos]`, which must have room. Returns the
 * position after them.
 */
export function writeFrames(
  dest: Uint8Array,
  pos: number,
  isResponse: number,
  uid: number,
  op: number,
  parts: readonly Uint8Array[],
  total: number,
  first: number,
  end: number,
): number {
  let from = first * DC_MSG_MAX_DATA;
  // Find the part holding payload byte `from`.
  let part = 0;
  let partOff = from;
  while (part < parts.length && partOff >= parts[part].length) {
    partOff -= parts[part].length;
    part++;
  }
  for (let f = first; f < end; f++) {
    const n = Math.min(DC_MSG_MAX_DATA, total - from);
    from += n;
    writeHeader(
      dest,
      pos,
      DISTCACHE_PROTO_LEVEL,
      isResponse,
      uid,
      op,
      from === total ? 1 : 0,
      n,
    );
    pos += DC_MSG_HEADER_SIZE;
    let left = n;
    while (left > 0) {
      const p = parts[part];
      const take = Math.min(left, p.length - partOff);
      dest.set(
        take === p.length ? p : p.subarray(partOff, partOff + take),
        pos,
      );
      pos += take;
      left -= take;
      partOff += take;
      if (partOff === p.length) {
        part++;
        partOff = 0;
      }
    }
  }
  return pos;
}

/**
 * Encodes a whole command (all its frames) into `dest` at `offset`, in one
 * contiguous range: every frame but the last carries exactly 2048 bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandSize, DcCmd, encodeCommandInto } from "@distcache/distcache/dc_enc";
 *
 * const payload = new Uint8Array(5000);
 * const dest = new Uint8Array(commandSize(payload.length));
 * assert.equal(encodeCommandInto(dest, 0, false, 7, DcCmd.ADD, payload), 5042); // three frames
 * ```
 *
 * @param dest Where to write.
 * @param offset Where in `dest`.
 * @param isResponse A response (true) or a request.
 * @param requestUid The request_uid (0..0xFFFFFFFF).
 * @param cmd The command.
 * @param payload The payload (0..32768 bytes).
 * @returns Bytes written, or 0 when the command does not fit in `dest`.
 * @throws {DcEncodeError} for a payload over 32768 bytes or an unknown
 *   command.
 */
export function encodeCommandInto(
  dest: Uint8Array,
  offset: number,
  isResponse: boolean,
  requestUid: number,
  cmd: DcCmd,
  payload: Uint8Array,
): number {
  checkCommand(requestUid, cmd, payload.length);
  const size = commandSize(payload.length);
  if (dest.length - offset < size) return 0;
  writeFrames(
    dest,
    offset,
    isResponse ? 1 : 0,
    requestUid,
    cmd - 1,
    [payload],
    payload.length,
    0,
    frameCount(payload.length),
  );
  return size;
}

/**
 * Encodes a whole command into a new array.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd, encodeCommand } from "@distcache/distcache/dc_enc";
 *
 * const bytes = encodeCommand(false, 1, DcCmd.GET, new TextEncoder().encode("id"));
 * assert.equal(bytes.length, 16); // one frame
 * ```
 *
 * @param isResponse A response (true) or a request.
 * @param requestUid The request_uid (0..0xFFFFFFFF).
 * @param cmd The command.
 * @param payload The payload (0..32768 bytes).
 * @throws {DcEncodeError} for a payload over 32768 bytes or an unknown
 *   command.
 */
export function encodeCommand(
  isResponse: boolean,
  requestUid: number,
  cmd: DcCmd,
  payload: Uint8Array,
): Uint8Array {
  checkCommand(requestUid, cmd, payload.length);
  const out = new Uint8Array(commandSize(payload.length));
  encodeCommandInto(out, 0, isResponse, requestUid, cmd, payload);
  return out;
}

function checkCommand(uid: number, cmd: number, length: number): void {
  if (length > DC_MAX_TOTAL_DATA) {
    throw new DcEncodeError(
      `cannot encode a command of ${length} bytes: a command carries at most ${DC_MAX_TOTAL_DATA}`,
    );
  }
  if (!isCmd(cmd)) {
    throw new DcEncodeError(
      `cannot encode command ${cmd}: must be ADD (1), GET (2), REMOVE (3) or HAVE (4)`,
    );
  }
  if (!Number.isInteger(uid) || uid < 0 || uid > 0xffffffff) {
    throw new DcEncodeError(
      `cannot encode request_uid ${uid}: must be 0..0xFFFFFFFF`,
    );
  }
}
