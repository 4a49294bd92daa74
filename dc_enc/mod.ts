/**
 * The distcache wire protocol (libdistcache's `dc_enc.h` and `DC_PLUG`),
 * byte-compatible with the C distcache 1.5 (protocol version 0x0011):
 * frames of a 14-byte header and up to 2048 bytes of data
 * ({@linkcode encodeMsg}, {@linkcode preDecodeMsg}, {@linkcode decodeMsg}),
 * commands of up to 32768 bytes in one or more frames
 * ({@linkcode encodeCommand}, {@linkcode DcCommandDecoder}), and
 * {@linkcode DcPlug}, the protocol over one connection that clients,
 * servers and proxies use. The protocol itself (fields, framing rules,
 * payloads, answer codes, the server's and the proxy's rules) is described
 * in `docs/protocol.md` of this package.
 *
 * @example Encode a request and decode it back
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd, DcCommandDecoder, encodeCommand } from "@distcache/distcache/dc_enc";
 *
 * const wire = encodeCommand(false, 7, DcCmd.GET, new TextEncoder().encode("session-id"));
 * const [cmd] = new DcCommandDecoder("request").push(wire);
 * assert.equal(cmd.requestUid, 7);
 * assert.equal(cmd.cmd, DcCmd.GET);
 * ```
 *
 * @module
 */

export {
  cmdName,
  DC_CLASS_USER,
  DC_MAX_ID_LEN,
  DC_MAX_MSG,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
  DC_MSG_HEADER_SIZE,
  DC_MSG_MAX_DATA,
  DC_PLUG_FLAG_NOFREE_CONN,
  DC_PLUG_FLAG_TO_SERVER,
  DcAddErr,
  DcCmd,
  DcDecodeState,
  DcErr,
  DcOp,
  DISTCACHE_PROTO_LEVEL,
  DISTCACHE_PROTO_VER,
  errName,
} from "./constants.ts";
export {
  addPayloadError,
  clampTimeout,
  DC_ADD_HEADER_SIZE,
  type DcAddPayload,
  decodeAddPayload,
  encodeAddPayload,
  setAddTimeout,
} from "./add_payload.ts";
export { commandSize, encodeCommand, encodeCommandInto } from "./command.ts";
export { type DcCommand, DcCommandDecoder } from "./decoder.ts";
export { DcEncodeError, DcProtocolError } from "./errors.ts";
export {
  type DcDirection,
  type DcMsg,
  decodeMsg,
  encodeMsg,
  preDecodeMsg,
} from "./msg.ts";
export { DcPlug, type DcPlugCommand } from "./plug.ts";
