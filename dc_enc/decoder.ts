/**
 * A stream decoder: bytes in, in pieces of any size, whole commands out.
 * For tools that watch traffic (`snoop`) and for tests; a connection's
 * protocol endpoint is {@linkcode DcPlug}.
 *
 * @module
 */

import {
  CommandAssembler,
  STEP_CORRUPT,
  STEP_NEED_MORE,
  STEP_READY,
} from "./assembler.ts";
import {
  DC_MSG_HEADER_SIZE,
  DC_MSG_MAX_DATA,
  type DcCmd,
} from "./constants.ts";
import type { DcProtocolError } from "./errors.ts";
import { acceptMask, type DcDirection, frameDataLen } from "./msg.ts";

/**
 * A decoded command, as {@linkcode DcCommandDecoder} gives it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd, type DcCommand, DcCommandDecoder, encodeCommand } from "@distcache/distcache/dc_enc";
 *
 * const answer: DcCommand = {
 *   isResponse: true, requestUid: 3, cmd: DcCmd.HAVE, payload: new Uint8Array([0]), wireSize: 15,
 * };
 * const wire = encodeCommand(true, 3, DcCmd.HAVE, new Uint8Array([0]));
 * assert.deepEqual(new DcCommandDecoder("response").push(wire), [answer]);
 * ```
 */
export interface DcCommand {
  /** A response (true) or a request. */
  isResponse: boolean;
  /** The request_uid. */
  requestUid: number;
  /** The command. */
  cmd: DcCmd;
  /** The whole payload (a copy, the caller's to keep). */
  payload: Uint8Array;
  /** Bytes the command took on the wire (all its frames). */
  wireSize: number;
}

/**
 * Decodes a byte stream, fed in pieces of any size, into commands. Between
 * calls it keeps at most one unfinished frame and one unfinished command.
 * Once the stream is corrupt, `error` says why and nothing more is decoded.
 *
 * @example Two commands arriving in odd pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd, DcCommandDecoder, encodeCommand } from "@distcache/distcache/dc_enc";
 *
 * const dec = new DcCommandDecoder("request");
 * const stream = new Uint8Array([
 *   ...encodeCommand(false, 1, DcCmd.HAVE, new Uint8Array([1])),
 *   ...encodeCommand(false, 2, DcCmd.GET, new Uint8Array([2])),
 * ]);
 * const got = [...dec.push(stream.subarray(0, 5)), ...dec.push(stream.subarray(5))];
 * assert.deepEqual(got.map((c) => c.requestUid), [1, 2]);
 * ```
 */
export class DcCommandDecoder {
  readonly #asm: CommandAssembler;
  // The unfinished frame at the end of the last chunk.
  readonly #carry = new Uint8Array(DC_MSG_HEADER_SIZE + DC_MSG_MAX_DATA);
  #carryLen = 0;
  // Bytes of the frames taken for the unfinished command.
  #wire = 0;

  /**
   * Makes a decoder.
   *
   * @param direction Accept only requests, only responses, or both.
   *   @default {"any"}
   */
  constructor(direction: DcDirection = "any") {
    this.#asm = new CommandAssembler(acceptMask(direction));
  }

  /** Why the stream is corrupt, once it is. */
  get error(): DcProtocolError | null {
    return this.#asm.error;
  }

  /** Bytes received that are not yet part of a whole command. */
  get pending(): number {
    return this.#wire + this.#carryLen;
  }

  /**
   * Feeds the next bytes of the stream.
   *
   * @param chunk Bytes (not kept: commands get copies).
   * @returns The commands these bytes completed, in order.
   */
  push(chunk: Uint8Array): DcCommand[] {
    const out: DcCommand[] = [];
    if (this.#asm.error !== null) return out;
    const carry = this.#carry;
    let pos = 0;
    while (this.#carryLen > 0) {
      // Complete the carried frame: its header first, then its data.
      const want = this.#carryLen < DC_MSG_HEADER_SIZE
        ? DC_MSG_HEADER_SIZE
        : DC_MSG_HEADER_SIZE + frameDataLen(carry, 0);
      const n = Math.min(want - this.#carryLen, chunk.length - pos);
      carry.set(chunk.subarray(pos, pos + n), this.#carryLen);
      this.#carryLen += n;
      pos += n;
      const used = this.#step(carry, 0, this.#carryLen, out);
      if (used < 0) return out;
      if (used > 0) this.#carryLen = 0;
      else if (pos === chunk.length) return out;
    }
    for (;;) {
      const used = this.#step(chunk, pos, chunk.length - pos, out);
      if (used < 0) return out;
      if (used === 0) break;
      pos += used;
    }
    carry.set(chunk.subarray(pos));
    this.#carryLen = chunk.length - pos;
    return out;
  }

  // Bytes of the frame taken, 0 when incomplete, -1 when corrupt.
  #step(b: Uint8Array, off: number, n: number, out: DcCommand[]): number {
    const asm = this.#asm;
    const r = asm.step(b, off, n);
    if (r === STEP_NEED_MORE) return 0;
    if (r === STEP_CORRUPT) return -1;
    this.#wire += asm.size;
    if (r === STEP_READY) {
      out.push({
        isResponse: asm.isResponse,
        requestUid: asm.uid,
        cmd: asm.cmd,
        payload: asm.payload.slice(),
        wireSize: this.#wire,
      });
      this.#wire = 0;
    }
    return asm.size;
  }
}
