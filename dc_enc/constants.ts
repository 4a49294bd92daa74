/**
 * Protocol constants and enums of libdistcache, with the C names and values.
 *
 * @module
 */

/**
 * Protocol level sent in every frame: version 0x0011, patch level 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DISTCACHE_PROTO_LEVEL } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DISTCACHE_PROTO_LEVEL.toString(16), "110000");
 * ```
 */
export const DISTCACHE_PROTO_LEVEL = 0x00110000;
/**
 * Protocol version (the high 16 bits of a level). A receiver accepts any
 * patch level of this version and rejects every other version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DISTCACHE_PROTO_VER } from "@distcache/distcache/dc_enc";
 *
 * const peerLevel = 0x0011ffff;
 * assert.equal(peerLevel >>> 16, DISTCACHE_PROTO_VER); // another patch level is fine
 * ```
 */
export const DISTCACHE_PROTO_VER = 0x0011;
/**
 * Most payload bytes in one frame; every frame of a command but the last
 * carries exactly this many.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MSG_MAX_DATA } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(Math.ceil(5000 / DC_MSG_MAX_DATA), 3); // frames for 5000 bytes
 * ```
 */
export const DC_MSG_MAX_DATA = 2048;
/**
 * Frames of 2048 bytes that make the largest command.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MAX_MSG, DC_MSG_MAX_DATA } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DC_MAX_MSG * DC_MSG_MAX_DATA, 32768);
 * ```
 */
export const DC_MAX_MSG = 16;
/**
 * Most payload bytes in one command (request or response); more is corrupt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MAX_TOTAL_DATA } from "@distcache/distcache/dc_enc";
 *
 * const data = new Uint8Array(40000);
 * assert.ok(data.length > DC_MAX_TOTAL_DATA); // too large for one command
 * ```
 */
export const DC_MAX_TOTAL_DATA = 32768;
/**
 * Longest session id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MAX_ID_LEN } from "@distcache/distcache/dc_enc";
 *
 * const id = new TextEncoder().encode("session-0001");
 * assert.ok(id.length <= DC_MAX_ID_LEN);
 * ```
 */
export const DC_MAX_ID_LEN = 64;
/**
 * Bytes of a frame header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MSG_HEADER_SIZE } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DC_MSG_HEADER_SIZE + 2048, 2062); // the largest frame
 * ```
 */
export const DC_MSG_HEADER_SIZE = 14;
/**
 * The only operation class (the `op_class` byte); anything else is corrupt.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CLASS_USER } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DC_CLASS_USER, 0);
 * ```
 */
export const DC_CLASS_USER = 0;
/**
 * Longest session lifetime an ADD may ask for: 7 days in milliseconds
 * (more is answered `DcAddErr.TIMEOUT_RANGE`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_MAX_TIMEOUT_MS } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DC_MAX_TIMEOUT_MS / 86_400_000, 7); // days
 * ```
 */
export const DC_MAX_TIMEOUT_MS = 604800000;

/**
 * Commands, with the values of the C `DC_CMD` enum. The operation byte on
 * the wire is one less (see {@linkcode DcOp}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DcCmd.GET, 2);
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
 * import assert from "node:assert/strict";
 * import { DcOp } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DcOp.ADD, 0);
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
 * import assert from "node:assert/strict";
 * import { DcErr } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DcErr.DISCONNECTED, 2); // a proxy without its server
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
 * import assert from "node:assert/strict";
 * import { DcAddErr } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(DcAddErr.MATCHING_SESSION, 101); // the id is already cached
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
 * import assert from "node:assert/strict";
 * import { DcDecodeState, preDecodeMsg } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(preDecodeMsg(new Uint8Array([0x00, 0x11])), DcDecodeState.INCOMPLETE);
 * ```
 */
export const DcDecodeState = { CORRUPT: 0, INCOMPLETE: 1, OK: 2 } as const;
/** One of {@linkcode DcDecodeState}'s values. */
export type DcDecodeState = typeof DcDecodeState[keyof typeof DcDecodeState];

/**
 * `DcPlug` flag: this plug talks to a server (it sends requests and reads
 * responses); without it, a plug serves (it reads requests).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_PLUG_FLAG_TO_SERVER, DcCmd, DcPlug } from "@distcache/distcache/dc_enc";
 * import { NalConnection } from "@distcache/distcache/nal";
 *
 * const conn = new NalConnection();
 * conn.createDummy(4096);
 * const plug = new DcPlug(conn, DC_PLUG_FLAG_TO_SERVER);
 * plug.write(1, DcCmd.GET, new TextEncoder().encode("id")); // a client writes requests
 * assert.ok(plug.commit());
 * plug.close();
 * ```
 */
export const DC_PLUG_FLAG_TO_SERVER = 0x0001;
/**
 * `DcPlug` flag: `close()` leaves the connection open (its owner closes it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_PLUG_FLAG_NOFREE_CONN, DcPlug } from "@distcache/distcache/dc_enc";
 * import { NalConnection } from "@distcache/distcache/nal";
 *
 * const conn = new NalConnection();
 * conn.createDummy(4096);
 * new DcPlug(conn, DC_PLUG_FLAG_NOFREE_CONN).close();
 * assert.equal(conn.getRead().size(), 4096); // still open
 * conn.close();
 * ```
 */
export const DC_PLUG_FLAG_NOFREE_CONN = 0x0002;

/**
 * Name of a command, for messages and logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cmdName, DcCmd } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(cmdName(DcCmd.REMOVE), "REMOVE");
 * ```
 *
 * @param cmd A {@linkcode DcCmd} value (anything else gives `#<value>`).
 */
export function cmdName(cmd: number): string {
  return ["ERROR", "ADD", "GET", "REMOVE", "HAVE"][cmd] ?? `#${cmd}`;
}

const ERR_NAMES: Record<number, string> = {
  [DcErr.OK]: "OK",
  [DcErr.NOTOK]: "NOTOK",
  [DcErr.DISCONNECTED]: "DISCONNECTED",
  [DcAddErr.CORRUPT]: "ADD_ERR_CORRUPT",
  [DcAddErr.MATCHING_SESSION]: "ADD_ERR_MATCHING_SESSION",
  [DcAddErr.TIMEOUT_RANGE]: "ADD_ERR_TIMEOUT_RANGE",
  [DcAddErr.ID_RANGE]: "ADD_ERR_ID_RANGE",
  [DcAddErr.DATA_RANGE]: "ADD_ERR_DATA_RANGE",
};

/**
 * Name of a one-byte answer code ({@linkcode DcErr}, {@linkcode DcAddErr}),
 * for messages and logs: the C name without its `DC_` prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcAddErr, errName } from "@distcache/distcache/dc_enc";
 *
 * assert.equal(errName(DcAddErr.MATCHING_SESSION), "ADD_ERR_MATCHING_SESSION");
 * assert.equal(errName(7), "#7");
 * ```
 *
 * @param code An answer code (anything else gives `#<value>`).
 */
export function errName(code: number): string {
  return ERR_NAMES[code] ?? `#${code}`;
}
