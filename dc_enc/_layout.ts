// Where the fields of a frame header and of an ADD payload sit, and the big-endian readers every
// decoder of dc_enc uses: written once so that no file counts bytes by hand
// (`pos + 12`). Internal to dc_enc; the public face of the layout is
// encodeMsg / decodeMsg and the ADD payload functions.

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

/** An ADD payload's lifetime in milliseconds: u32. */
export const OFF_ADD_TIMEOUT = 0;
/** An ADD payload's id length: u32; the id follows, then the data. */
export const OFF_ADD_ID_LEN = 4;

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
