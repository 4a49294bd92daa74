/**
 * Protocol constants and enums of libdistcache, with the C names and values.
 *
 * @module
 */

/** Protocol level sent in every frame: version 0x0011, patch level 0. */
export const DISTCACHE_PROTO_LEVEL = 0x00110000;
/**
 * Protocol version (the high 16 bits of a level). A receiver accepts any
 * patch level of this version and rejects every other version.
 */
export const DISTCACHE_PROTO_VER = 0x0011;
/** Most payload bytes in one frame. */
export const DC_MSG_MAX_DATA = 2048;
/** Frames of 2048 bytes that make the largest command. */
export const DC_MAX_MSG = 16;
/** Most payload bytes in one command (request or response). */
export const DC_MAX_TOTAL_DATA = 32768;
/** Longest session id. */
export const DC_MAX_ID_LEN = 64;
/** Bytes of a frame header. */
export const DC_MSG_HEADER_SIZE = 14;
/** The only operation class (`op_class` byte). */
export const DC_CLASS_USER = 0;
/** Longest session lifetime an ADD may ask for: 7 days in milliseconds. */
export const DC_MAX_TIMEOUT_MS = 604800000;

/**
 * Commands, with the values of the C `DC_CMD` enum. The operation byte on
 * the wire is one less (see {@linkcode DcOp}).
 *
 * @example
 * ```ts
 * import { DcCmd } from "@distcache/distcache/dc_enc";
 *
 * console.log(DcCmd.GET); // 2
 * ```
 */
export const DcCmd = { ERROR: 0, ADD: 1, GET: 2, REMOVE: 3, HAVE: 4 } as const;
/** One of {@linkcode DcCmd}'s values. */
export type DcCmd = typeof DcCmd[keyof typeof DcCmd];

/**
 * The operation byte of a frame (`DcCmd` less one).
 *
 * @example
 * ```ts
 * import { DcOp } from "@distcache/distcache/dc_enc";
 *
 * console.log(DcOp.ADD); // 0
 * ```
 */
export const DcOp = { ADD: 0, GET: 1, REMOVE: 2, HAVE: 3 } as const;
/** One of {@linkcode DcOp}'s values. */
export type DcOp = typeof DcOp[keyof typeof DcOp];

/**
 * One-byte answers (`DC_ERR_*`).
 *
 * @example
 * ```ts
 * import { DcErr } from "@distcache/distcache/dc_enc";
 *
 * console.log(DcErr.DISCONNECTED); // 2: a proxy without its server
 * ```
 */
export const DcErr = { OK: 0, NOTOK: 1, DISCONNECTED: 2 } as const;
/** One of {@linkcode DcErr}'s values. */
export type DcErr = typeof DcErr[keyof typeof DcErr];

/**
 * Answers to a refused ADD (`DC_ADD_ERR_*`).
 *
 * @example
 * ```ts
 * import { DcAddErr } from "@distcache/distcache/dc_enc";
 *
 * console.log(DcAddErr.MATCHING_SESSION); // 101: the id is already cached
 * ```
 */
export const DcAddErr = {
  CORRUPT: 100,
  MATCHING_SESSION: 101,
  TIMEOUT_RANGE: 102,
  ID_RANGE: 103,
  DATA_RANGE: 104,
} as const;
/** One of {@linkcode DcAddErr}'s values. */
export type DcAddErr = typeof DcAddErr[keyof typeof DcAddErr];

/**
 * What a pre-decode says of the bytes received so far.
 *
 * @example
 * ```ts
 * import { DcDecodeState, preDecodeMsg } from "@distcache/distcache/dc_enc";
 *
 * console.log(preDecodeMsg(new Uint8Array([0x00, 0x11])) === DcDecodeState.INCOMPLETE); // true
 * ```
 */
export const DcDecodeState = { CORRUPT: 0, INCOMPLETE: 1, OK: 2 } as const;
/** One of {@linkcode DcDecodeState}'s values. */
export type DcDecodeState = typeof DcDecodeState[keyof typeof DcDecodeState];

/** `DcPlug` flag: this plug talks to a server (it sends requests, reads responses). */
export const DC_PLUG_FLAG_TO_SERVER = 0x0001;
/** `DcPlug` flag: `close()` leaves the connection open. */
export const DC_PLUG_FLAG_NOFREE_CONN = 0x0002;

/**
 * Name of a command, for messages and logs.
 *
 * @example
 * ```ts
 * import { cmdName, DcCmd } from "@distcache/distcache/dc_enc";
 *
 * console.log(cmdName(DcCmd.REMOVE)); // "REMOVE"
 * ```
 *
 * @param cmd A {@linkcode DcCmd} value (anything else gives `#<value>`).
 */
export function cmdName(cmd: number): string {
  return ["ERROR", "ADD", "GET", "REMOVE", "HAVE"][cmd] ?? `#${cmd}`;
}
