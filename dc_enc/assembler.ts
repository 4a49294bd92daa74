// Commands on the way in: frames checked one at a time and joined into
// commands. Shared by DcPlug (decoding in place from a read buffer) and
// DcCommandDecoder. Internal to dc_enc.

import {
  DC_MAX_TOTAL_DATA,
  DC_MSG_HEADER_SIZE,
  type DcCmd,
} from "./constants.ts";
import type { DcProtocolError } from "./errors.ts";
import {
  type FrameFollow,
  OFF_COMPLETE,
  OFF_IS_RESPONSE,
  OFF_OPERATION,
  OFF_REQUEST_UID,
  readU32,
  scanFrame,
} from "./msg.ts";

/** More bytes are needed. */
export const STEP_NEED_MORE = 0;
/** A frame of an unfinished command was copied: drop `size` bytes, step again. */
export const STEP_TAKEN = 1;
/** A command is ready (see `inPlace`). */
export const STEP_READY = 2;
/** The stream is corrupt (see `error`). */
export const STEP_CORRUPT = 3;

const EMPTY = new Uint8Array(0);

// Assembler states: at a command's first frame; inside a command of several
// frames (the next frame must follow it); the stream was corrupt (nothing
// more is read). Changed only by #setState; the names are for debugging.
const AT_FRAME = 0;
const JOINING = 1;
const CORRUPT = 2;
const STATE_NAMES = ["frame", "joining", "corrupt"];

/**
 * Joins frames into commands: the frames of one command must share
 * direction, request_uid and operation, and carry at most 32768 bytes in
 * all (checked byte by byte as the header arrives, like the frame fields).
 *
 * A one-frame command is left where it is: its payload is a view of the
 * caller's bytes (`inPlace`), which the caller keeps until it is done with
 * the command. Frames of a longer command are copied into a 32 KiB buffer
 * as they come, so a reader never holds more than one command plus one
 * frame.
 */
export class CommandAssembler {
  readonly accept: number;
  /** The ready command (after STEP_READY, until the next step). */
  uid = 0;
  cmd: DcCmd = 1;
  isResponse = false;
  payload: Uint8Array = EMPTY;
  /** The payload is a view of the bytes given to `step`, not a copy. */
  inPlace = false;
  /** Bytes of the frame the last step handled. */
  size = 0;
  error: DcProtocolError | null = null;

  readonly #follow: FrameFollow = { isResponse: 0, uid: 0, op: 0, room: 0 };
  #state: number = AT_FRAME;
  #buf: Uint8Array | null = null;
  #len = 0;

  /** @param accept Accept mask (`ACCEPT_REQUESTS`, ...). */
  constructor(accept: number) {
    this.accept = accept;
  }

  /** The state's name: `frame`, `joining` or `corrupt`. */
  get stateName(): string {
    return STATE_NAMES[this.#state];
  }

  /** Examines `b[off, off + n)`, which starts at a frame boundary. */
  step(b: Uint8Array, off: number, n: number): number {
    if (this.#state === CORRUPT) return STEP_CORRUPT;
    const joining = this.#state === JOINING;
    const size = scanFrame(
      b,
      off,
      n,
      this.accept,
      joining ? this.#follow : null,
    );
    if (typeof size !== "number") {
      this.error = size;
      this.#setState(CORRUPT);
      return STEP_CORRUPT;
    }
    if (size === 0) return STEP_NEED_MORE;
    this.size = size;
    const complete = b[off + OFF_COMPLETE] === 1;
    if (!joining) {
      this.uid = readU32(b, off + OFF_REQUEST_UID);
      this.cmd = (b[off + OFF_OPERATION] + 1) as DcCmd;
      this.isResponse = b[off + OFF_IS_RESPONSE] === 1;
      if (complete) {
        this.inPlace = true;
        this.payload = b.subarray(off + DC_MSG_HEADER_SIZE, off + size);
        return STEP_READY;
      }
      const f = this.#follow;
      f.isResponse = b[off + OFF_IS_RESPONSE];
      f.uid = this.uid;
      f.op = b[off + OFF_OPERATION];
      this.#setState(JOINING);
      this.#len = 0;
      // Allocated once a plug sees its first multi-frame command; most
      // plugs (one-frame requests and answers) never need it.
      this.#buf ??= new Uint8Array(DC_MAX_TOTAL_DATA);
    }
    this.#buf!.set(b.subarray(off + DC_MSG_HEADER_SIZE, off + size), this.#len);
    this.#len += size - DC_MSG_HEADER_SIZE;
    this.#follow.room = DC_MAX_TOTAL_DATA - this.#len;
    if (!complete) return STEP_TAKEN;
    this.#setState(AT_FRAME);
    this.inPlace = false;
    this.payload = this.#buf!.subarray(0, this.#len);
    return STEP_READY;
  }

  /** Bytes of an unfinished command copied so far. */
  get partialBytes(): number {
    return this.#state === JOINING ? this.#len : 0;
  }

  #setState(state: number): void {
    this.#state = state;
  }
}
