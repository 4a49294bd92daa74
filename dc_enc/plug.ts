/**
 * DC_PLUG: the protocol over one connection, as clients, servers and proxies
 * all use it: whole commands in, whole commands out.
 *
 * @module
 */

import { NalBuffer } from "../nal/buffer.ts";
import type { NalConnection } from "../nal/connection.ts";
import {
  NAL_SELECT_FLAG_RW,
  NAL_SELECT_FLAG_SEND,
  type NalSelector,
} from "../nal/selector.ts";
import {
  CommandAssembler,
  STEP_CORRUPT,
  STEP_NEED_MORE,
  STEP_TAKEN,
} from "./assembler.ts";
import {
  commandSize,
  frameCount,
  framesSize,
  isCmd,
  writeFrames,
} from "./command.ts";
import {
  DC_MAX_TOTAL_DATA,
  DC_MSG_HEADER_SIZE,
  DC_MSG_MAX_DATA,
  DC_PLUG_FLAG_NOFREE_CONN,
  DC_PLUG_FLAG_TO_SERVER,
  type DcCmd,
} from "./constants.ts";
import { DcProtocolError } from "./errors.ts";
import {
  ACCEPT_REQUESTS,
  ACCEPT_RESPONSES,
  frameDataLen,
  OFF_COMPLETE,
  OFF_OPERATION,
  scanFrame,
} from "./msg.ts";

/**
 * A command read from a plug. The object and its payload belong to the
 * plug: they stay valid until {@linkcode DcPlug.prototype.consume}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCmd, type DcPlugCommand } from "@distcache/distcache/dc_enc";
 *
 * function describe(c: DcPlugCommand): string {
 *   return `uid ${c.requestUid}: ${c.cmd === DcCmd.GET ? "GET" : "other"}, ${c.payload.length} bytes`;
 * }
 * const get = { requestUid: 4, cmd: DcCmd.GET, payload: new Uint8Array(2) } as DcPlugCommand;
 * assert.equal(describe(get), "uid 4: GET, 2 bytes");
 * ```
 */
export interface DcPlugCommand {
  /** The request_uid. */
  requestUid: number;
  /** The command. */
  cmd: DcCmd;
  /** The whole payload. */
  payload: Uint8Array;
}

// Read side states, as the C plug's: nothing whole yet; a whole command not
// yet returned by read(); returned (by read() or peek()) and not yet
// consumed. Changed only by #setRead; the names are for `state`.
const READ_EMPTY = 0;
const READ_FULL = 1;
const READ_USER = 2;
const READ_NAMES = ["empty", "full", "user"];
// Write side states: no command open; a command opened by write() and not
// yet committed or rolled back. Changed only by #setWrite.
const WRITE_IDLE = 0;
const WRITE_OPEN = 1;
const WRITE_NAMES = ["idle", "open"];

// The largest command on the wire, and the backlog that holds committed
// frames the send buffer has no room for: up to one such command beyond a
// full one, so that a write() admitted can always commit.
const MAX_COMMAND_WIRE = commandSize(DC_MAX_TOTAL_DATA);
const BACKLOG_SIZE = 2 * MAX_COMMAND_WIRE;
const MAX_FRAME = DC_MSG_HEADER_SIZE + DC_MSG_MAX_DATA;

const EMPTY = new Uint8Array(0);

/**
 * A protocol plug over a connection (the C API's `DC_PLUG`), with the C
 * plug's state machine: one command being read and one being written at a
 * time.
 *
 * Reading: `io()` pulls arrived frames through until a whole command is
 * there; `read()` returns it once, `peek()` again and again until
 * `consume()`, which pulls the next one through (the C API's `read(false)`
 * and `read(true)`). A one-frame command is
 * decoded in place: its payload is a view of the read buffer, and while it
 * is held the plug reads no more from the socket (so the view cannot move).
 * Longer commands are joined in a 32 KiB buffer, so a plug never buffers
 * more than one command and one frame beyond its connection's read buffer.
 *
 * Writing: `write()` opens a command (`restart()` drops one already open:
 * the C API's `write(true, ...)`), `writeMore()` adds payload, and
 * `commit()` frames it straight into the send buffer (whole frames only, so
 * that each frame reaches the socket in one write; a C peer misreads a frame
 * header split across reads) or `rollback()` drops it. Frames that do not
 * fit wait in the plug and move into the send buffer as `io()` frees room.
 * That backlog is bounded: while it holds more than 32 KiB, `write()`
 * returns false (as the C plug's does while its committed command is
 * unsent); call `io()` after a select and try again. A plug thus holds at
 * most 64 KiB of committed frames beyond its send buffer.
 *
 * Failures: `io()` returns false when the connection is dead, or the peer
 * broke the protocol or speaks another version; `error` then says what was
 * wrong (field and value). Nothing throws and nothing aborts for a peer's
 * fault. Connection buffers must hold a whole frame (2062 bytes).
 *
 * @example A client plug sends a request and reads the answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_PLUG_FLAG_TO_SERVER, DcCmd, DcPlug } from "@distcache/distcache/dc_enc";
 * import { NalConnection, NalSelector } from "@distcache/distcache/nal";
 *
 * const [a, b] = [new NalConnection(), new NalConnection()];
 * NalConnection.createPair(a, b, 4096);
 * const client = new DcPlug(a, DC_PLUG_FLAG_TO_SERVER);
 * const server = new DcPlug(b, 0);
 * client.write(1, DcCmd.HAVE, new TextEncoder().encode("session-id"));
 * client.commit();
 * const sel = new NalSelector();
 * while (server.read() === null) {
 *   client.io();
 *   server.toSelect(sel);
 *   await sel.select(100_000);
 *   server.io();
 * }
 * assert.equal(server.peek()?.requestUid, 1);
 * client.close();
 * server.close();
 * ```
 */
export class DcPlug {
  /** Why the plug gave up on its stream: the peer broke the protocol. */
  error: DcProtocolError | null = null;

  readonly #conn: NalConnection;
  readonly #flags: number;
  readonly #isResponse: number;
  readonly #asm: CommandAssembler;
  readonly #cmd: DcPlugCommand = { requestUid: 0, cmd: 1, payload: EMPTY };
  #closed = false;

  #readState: number = READ_EMPTY;
  // Bytes at the front of the read buffer that hold the ready one-frame
  // command (0 when none is held there).
  #held = 0;

  // The open command: the caller's arrays, read at commit().
  #writeState: number = WRITE_IDLE;
  #wUid = 0;
  #wOp = 0;
  readonly #wParts: Uint8Array[] = [];
  #wLen = 0;
  #backlog: NalBuffer | null = null;

  /**
   * Makes a plug over `conn` (`DC_PLUG_new`).
   *
   * @param conn The connection.
   * @param flags `DC_PLUG_FLAG_TO_SERVER` on the client side (it then writes
   *   requests and reads responses); `DC_PLUG_FLAG_NOFREE_CONN` to keep the
   *   connection open on `close()`.
   */
  constructor(conn: NalConnection, flags: number) {
    this.#conn = conn;
    this.#flags = flags;
    const toServer = (flags & DC_PLUG_FLAG_TO_SERVER) !== 0;
    this.#isResponse = toServer ? 0 : 1;
    this.#asm = new CommandAssembler(
      toServer ? ACCEPT_RESPONSES : ACCEPT_REQUESTS,
    );
  }

  /**
   * Adds the plug's connection to the next select (`DC_PLUG_to_select`):
   * for sending, and for reading unless a command held in the read buffer
   * must be consumed first.
   *
   * @param sel The selector.
   * @returns `false` when the plug is closed or the connection has no
   *   socket.
   */
  toSelect(sel: NalSelector): boolean {
    if (this.#closed) return false;
    return sel.addConn(
      this.#conn,
      this.#held > 0 ? NAL_SELECT_FLAG_SEND : NAL_SELECT_FLAG_RW,
    );
  }

  /**
   * Moves bytes after a select; the same as {@linkcode DcPlug.prototype.io}.
   *
   * @param sel The selector of the last select.
   */
  fromSelect(sel?: NalSelector | null): boolean {
    return this.io(sel);
  }

  /**
   * Moves bytes (`DC_PLUG_io`): waiting frames into the send buffer, the
   * send buffer to the socket, arrived bytes into the read buffer, and
   * arrived frames through until a whole command is there.
   *
   * @param sel The selector of the last select.
   * @returns `false` when the connection is dead or the stream is corrupt
   *   (see {@linkcode DcPlug.prototype.error}); never throws.
   */
  io(sel?: NalSelector | null): boolean {
    if (this.#closed) return false;
    const conn = this.#conn;
    this.#flushBacklog();
    let alive = conn.ioCap(sel, this.#held > 0 ? 0 : Infinity, Infinity);
    this.#flushBacklog();
    this.#pull();
    // A command can be larger than the read buffer (32992 bytes on the wire
    // against 32768 by default): while pulling frames frees room, read on
    // (without sending again), so that a command whose bytes have all
    // arrived is whole after one io().
    const rb = conn.getRead();
    while (
      alive && this.#readState === READ_EMPTY && this.error === null &&
      rb.notFull()
    ) {
      const before = rb.used();
      alive = conn.ioCap(sel, Infinity, 0);
      if (rb.used() === before) break;
      this.#pull();
    }
    // After the peer's end of stream, a whole command that came before it
    // still gets its answer, and the plug lives until that is sent; a
    // command cut short by it never completes.
    // (Alive with nothing whole is the one case that needs a look: bytes of
    // a command cut short by the end.)
    if (
      this.error === null &&
      (!alive || (this.#readState === READ_EMPTY && rb.notEmpty())) &&
      conn.peerEnded()
    ) alive = this.#readState !== READ_EMPTY || !this.#sendIdle();
    return alive && this.error === null;
  }

  /**
   * Calls `onNews` on each event of the plug's connection, for an
   * event-driven owner (see `NalConnection.watch`); together with
   * {@linkcode DcPlug.prototype.hasWork} a plug is what a `NalLoop`
   * watches.
   *
   * @param onNews Called on each event; `null` stops watching.
   * @returns `false` when the plug is closed or its connection has no
   *   socket.
   */
  watch(onNews: (() => void) | null): boolean {
    if (this.#closed && onNews !== null) return false;
    return this.#conn.watch(onNews);
  }

  /**
   * Whether the owner has work that no socket event will announce: a
   * whole command that io() or consume() pulled in and `read()` has not
   * returned yet, or work on the connection itself (an event not seen in
   * io(), arrived bytes unless a command held in the read buffer must be
   * consumed first, bytes the socket can take). Ask it after serving the
   * plug, instead of peeking for a command.
   *
   * @example A command pulled in is work until it is read
   * ```ts
   * import assert from "node:assert/strict";
   * import { DC_PLUG_FLAG_TO_SERVER, DcCmd, DcPlug } from "@distcache/distcache/dc_enc";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const [a, b] = [new NalConnection(), new NalConnection()];
   * NalConnection.createPair(a, b, 4096);
   * const client = new DcPlug(a, DC_PLUG_FLAG_TO_SERVER);
   * const server = new DcPlug(b, 0);
   * await new Promise((r) => setTimeout(r, 0)); // both ends open
   * client.write(false, 1, DcCmd.HAVE, new Uint8Array([1]));
   * client.commit();
   * client.io();
   * await new Promise((r) => setTimeout(r, 0)); // the bytes arrive
   * server.io();
   * assert.ok(server.hasWork()); // a whole request, not yet read
   * assert.equal(server.read()?.cmd, DcCmd.HAVE);
   * assert.equal(server.hasWork(), false);
   * client.close();
   * server.close();
   * ```
   */
  hasWork(): boolean {
    if (this.#closed) return false;
    return this.#readState === READ_FULL ||
      this.#conn.hasWork(
        this.#held > 0 ? NAL_SELECT_FLAG_SEND : NAL_SELECT_FLAG_RW,
      );
  }

  /**
   * The command that has arrived, again and again until `consume()`
   * (`DC_PLUG_read` with `resume` set): what a server or client loop calls
   * to look at the next request or answer.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DcCmd, DcPlug, encodeCommand } from "@distcache/distcache/dc_enc";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const conn = new NalConnection();
   * conn.createDummy(4096);
   * const server = new DcPlug(conn, 0);
   * // As if a client had sent a request:
   * conn.getRead().write(encodeCommand(false, 7, DcCmd.HAVE, new Uint8Array([1])));
   * assert.equal(server.peek()?.requestUid, 7);
   * assert.equal(server.peek()?.requestUid, 7); // still there
   * server.consume();
   * assert.equal(server.peek(), null);
   * server.close();
   * ```
   *
   * @returns The command (valid until `consume()`), or null when none is
   *   whole yet.
   */
  peek(): DcPlugCommand | null {
    return this.#take(true);
  }

  /**
   * Calls `visit` with each whole command waiting, in order, taking none:
   * the one {@linkcode DcPlug.prototype.peek} gives, then the one-frame
   * commands that have arrived whole behind it in the read buffer (a
   * client's pipelined requests), up to the first command of several
   * frames or the first frame not all there. Each is one that `read()`
   * will give once those before it are consumed, unless the stream turns
   * out corrupt before it. For an owner that prepares for a batch before
   * serving it (a server warming its store for the ids asked for). It
   * changes nothing and reads nothing from the socket: call io() first,
   * for what has arrived.
   *
   * @example Three pipelined requests, all visible before the first is read
   * ```ts
   * import assert from "node:assert/strict";
   * import { DcCmd, DcPlug, encodeCommand } from "@distcache/distcache/dc_enc";
   * import { NalConnection } from "@distcache/distcache/nal";
   *
   * const conn = new NalConnection();
   * conn.createDummy(4096);
   * const server = new DcPlug(conn, 0);
   * for (const uid of [1, 2, 3]) {
   *   conn.getRead().write(encodeCommand(false, uid, DcCmd.GET, new Uint8Array([uid])));
   * }
   * server.io(); // pulls the first through, as after a select
   * const seen: number[] = [];
   * assert.equal(server.forEachWaiting((_cmd, payload) => seen.push(payload[0])), 3);
   * assert.deepEqual(seen, [1, 2, 3]);
   * assert.equal(server.peek()?.requestUid, 1); // nothing was taken
   * server.close();
   * ```
   *
   * @param visit Called with each command's operation and payload (a view
   *   valid until the plug's next io() or consume()).
   * @param max Most commands to visit. @default {Infinity}
   * @returns How many commands were visited.
   */
  forEachWaiting(
    visit: (cmd: DcCmd, payload: Uint8Array) => void,
    max: number = Infinity,
  ): number {
    if (this.#closed || this.#readState === READ_EMPTY || max < 1) return 0;
    const c = this.#cmd;
    visit(c.cmd, c.payload);
    let count = 1;
    // Behind a command held in place come its successors; behind one
    // joined from several frames, the read buffer starts at a frame.
    const rb = this.#conn.getRead();
    let off = this.#held;
    // (A view of the buffer costs more than the usual lone command.)
    if (count >= max || rb.used() <= off) return count;
    const bytes = rb.readPtr();
    const accept = this.#asm.accept;
    while (count < max && off < bytes.length) {
      const size = scanFrame(bytes, off, bytes.length - off, accept, null);
      if (typeof size !== "number" || size === 0) break;
      if (bytes[off + OFF_COMPLETE] !== 1) break;
      visit(
        (bytes[off + OFF_OPERATION] + 1) as DcCmd,
        new Uint8Array(
          bytes.buffer,
          bytes.byteOffset + off + DC_MSG_HEADER_SIZE,
          size - DC_MSG_HEADER_SIZE,
        ),
      );
      count++;
      off += size;
    }
    return count;
  }

  /**
   * The command that has arrived, once (`DC_PLUG_read`): a second call
   * before `consume()` gives null, unless `resume` is true (the C API's
   * form; {@linkcode DcPlug.prototype.peek} names it).
   *
   * @param resume Give again a command already returned and not consumed.
   *   @default {false}
   * @returns The command (valid until `consume()`), or null when none is
   *   whole yet or, without `resume`, when it was already returned.
   */
  read(resume: boolean = false): DcPlugCommand | null {
    return this.#take(resume);
  }

  /**
   * Discards the command returned by `read()` or `peek()` and pulls the
   * next one through (`DC_PLUG_consume`).
   *
   * @returns `false` when no command had been read, or when the bytes
   *   behind it turn out corrupt (see {@linkcode DcPlug.prototype.error}).
   */
  consume(): boolean {
    if (this.#readState !== READ_USER) return false;
    if (this.#held > 0) {
      this.#conn.getRead().takeData(null, this.#held);
      this.#held = 0;
    }
    this.#setRead(READ_EMPTY);
    this.#cmd.payload = EMPTY;
    this.#pull();
    return this.error === null;
  }

  /**
   * Opens a command to send (`DC_PLUG_write`). The payload is not copied
   * yet: it is read at `commit()`, so leave it unchanged until then.
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
   * assert.ok(plug.write(1, DcCmd.GET, new TextEncoder().encode("id")));
   * assert.equal(plug.write(2, DcCmd.GET, new Uint8Array(1)), false); // one is open
   * assert.ok(plug.commit());
   * assert.equal(conn.getSend().used(), 16);
   * plug.close();
   * ```
   *
   * @param requestUid The request_uid (taken modulo 2^32).
   * @param cmd The command.
   * @param payload The payload, or its first part (see `writeMore`).
   * @returns `false` when a command is already open (see
   *   {@linkcode DcPlug.prototype.restart}), when 32 KiB of committed frames
   *   already wait for room (call `io()` first), for a payload over 32768
   *   bytes or an unknown command, or when the plug is closed.
   */
  write(requestUid: number, cmd: DcCmd, payload: Uint8Array): boolean;
  /**
   * The C API's form of `write`: `write(false, ...)` is
   * `write(requestUid, cmd, payload)`, `write(true, ...)` is
   * {@linkcode DcPlug.prototype.restart}.
   *
   * @param resume With a command already open, start it over rather than
   *   fail.
   * @param requestUid The request_uid (taken modulo 2^32).
   * @param cmd The command.
   * @param payload The payload, or its first part (see `writeMore`).
   */
  write(
    resume: boolean,
    requestUid: number,
    cmd: DcCmd,
    payload: Uint8Array,
  ): boolean;
  write(
    a: boolean | number,
    b: number,
    c: DcCmd | Uint8Array,
    d?: Uint8Array,
  ): boolean {
    return typeof a === "boolean"
      ? this.#start(a, b, c as DcCmd, d!)
      : this.#start(false, a, b as DcCmd, c as Uint8Array);
  }

  /**
   * Opens a command to send, dropping one already open (`DC_PLUG_write`
   * with `resume` set, the C semantics): for a writer that changed its mind
   * before committing.
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
   * plug.write(1, DcCmd.GET, new Uint8Array(40));
   * assert.ok(plug.restart(2, DcCmd.HAVE, new Uint8Array(2)));
   * plug.commit();
   * assert.equal(conn.getSend().used(), 16); // only the HAVE was sent
   * plug.close();
   * ```
   *
   * @param requestUid The request_uid (taken modulo 2^32).
   * @param cmd The command.
   * @param payload The payload, or its first part (see `writeMore`).
   * @returns `false` in the cases of `write()`, except for a command
   *   already open.
   */
  restart(requestUid: number, cmd: DcCmd, payload: Uint8Array): boolean {
    return this.#start(true, requestUid, cmd, payload);
  }

  /**
   * Adds payload to the open command (`DC_PLUG_write_more`); like `write`'s,
   * the bytes are read at `commit()`.
   *
   * @param data More payload (an empty array adds nothing and succeeds,
   *   where the C plug refused it).
   * @returns `false` when no command is open or it would exceed 32768 bytes.
   */
  writeMore(data: Uint8Array): boolean {
    if (
      this.#writeState !== WRITE_OPEN ||
      this.#wLen + data.length > DC_MAX_TOTAL_DATA
    ) {
      return false;
    }
    if (data.length > 0) {
      this.#wParts.push(data);
      this.#wLen += data.length;
    }
    return true;
  }

  /**
   * Sends the open command (`DC_PLUG_commit`): frames it into the send
   * buffer as far as whole frames fit, and keeps the rest in the backlog.
   *
   * @returns `false` when no command is open.
   */
  commit(): boolean {
    if (this.#writeState !== WRITE_OPEN) return false;
    this.#setWrite(WRITE_IDLE);
    const total = this.#wLen;
    const frames = frameCount(total);
    let first = 0;
    if (this.#backlog === null || this.#backlog.empty()) {
      const sb = this.#conn.getSend();
      const room = sb.unused();
      first = room >= commandSize(total) ? frames : 0;
      while (first < frames && framesSize(total, 0, first + 1) <= room) first++;
      if (first > 0) {
        sb.wrote(
          this.#frame(sb.writePtr(framesSize(total, 0, first)), 0, first),
        );
      }
    }
    if (first < frames) {
      this.#backlog ??= new NalBuffer(BACKLOG_SIZE);
      this.#backlog.wrote(
        this.#frame(
          this.#backlog.writePtr(framesSize(total, first, frames)),
          first,
          frames,
        ),
      );
    }
    this.#wParts.length = 0;
    this.#wLen = 0;
    return true;
  }

  /**
   * Drops the open command (`DC_PLUG_rollback`).
   *
   * @returns `false` when no command is open.
   */
  rollback(): boolean {
    if (this.#writeState !== WRITE_OPEN) return false;
    this.#setWrite(WRITE_IDLE);
    this.#wParts.length = 0;
    this.#wLen = 0;
    return true;
  }

  /**
   * Closes the plug (`DC_PLUG_free`) and, unless it was made with
   * `DC_PLUG_FLAG_NOFREE_CONN`, its connection. Frames still in the
   * backlog are dropped.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#setWrite(WRITE_IDLE);
    this.#wParts.length = 0;
    this.#backlog = null;
    if ((this.#flags & DC_PLUG_FLAG_NOFREE_CONN) === 0) this.#conn.close();
  }

  /** Same as {@linkcode DcPlug.prototype.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Bytes committed and not yet handed to the socket: in the connection's
   * send buffer and in the plug's backlog. It grows while the peer does not
   * read, which is how a proxy or server tells what a slow peer costs it.
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
   * plug.write(1, DcCmd.GET, new Uint8Array(2));
   * plug.commit();
   * assert.equal(plug.unsent, 16); // a 14-byte header and the payload
   * plug.close();
   * ```
   */
  get unsent(): number {
    if (this.#closed) return 0;
    return this.#conn.getSend().used() + (this.#backlog?.used() ?? 0);
  }

  /**
   * The plug's states, for debugging: the read side (`empty`, `full`: a
   * whole command not yet returned, `user`: returned, not yet consumed),
   * the write side (`idle`, `open`) and the frame assembler (`frame`:
   * between commands, `joining`: inside a command of several frames,
   * `corrupt`), and `closed` once closed.
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
   * assert.equal(plug.state, "read empty, write idle, frames frame");
   * plug.write(1, DcCmd.GET, new Uint8Array(2));
   * assert.equal(plug.state, "read empty, write open, frames frame");
   * plug.close();
   * assert.equal(plug.state, "closed");
   * ```
   */
  get state(): string {
    if (this.#closed) return "closed";
    return `read ${READ_NAMES[this.#readState]}, write ${
      WRITE_NAMES[this.#writeState]
    }, frames ${this.#asm.stateName}`;
  }

  #setRead(state: number): void {
    this.#readState = state;
  }

  #setWrite(state: number): void {
    this.#writeState = state;
  }

  // read(resume) and peek().
  #take(resume: boolean): DcPlugCommand | null {
    if (this.#closed) return null;
    if (this.#readState === READ_EMPTY) {
      this.#pull();
      if (this.#readState === READ_EMPTY) return null;
    }
    if (this.#readState === READ_USER && !resume) return null;
    this.#setRead(READ_USER);
    return this.#cmd;
  }

  // write(), restart() and the C API's write(resume, ...).
  #start(
    resume: boolean,
    requestUid: number,
    cmd: DcCmd,
    payload: Uint8Array,
  ): boolean {
    const open = this.#writeState === WRITE_OPEN;
    if (this.#closed || (open && !resume)) return false;
    if (!isCmd(cmd) || payload.length > DC_MAX_TOTAL_DATA) return false;
    if (!open && this.#backlogFull()) return false;
    this.#setWrite(WRITE_OPEN);
    this.#wUid = requestUid >>> 0;
    this.#wOp = cmd - 1;
    this.#wParts.length = 0;
    this.#wLen = 0;
    return this.writeMore(payload);
  }

  // Frames [first, end) of the open command into dest; returns the bytes.
  #frame(dest: Uint8Array, first: number, end: number): number {
    return writeFrames(
      dest,
      0,
      this.#isResponse,
      this.#wUid,
      this.#wOp,
      this.#wParts,
      this.#wLen,
      first,
      end,
    );
  }

  // Nothing committed is left to hand to the connection's socket.
  #sendIdle(): boolean {
    return (this.#backlog === null || this.#backlog.empty()) &&
      this.#conn.getSend().empty();
  }

  #backlogFull(): boolean {
    const b = this.#backlog;
    return b !== null && b.used() > BACKLOG_SIZE - MAX_COMMAND_WIRE;
  }

  // Moves whole frames from the backlog into the send buffer.
  #flushBacklog(): void {
    const backlog = this.#backlog;
    if (backlog === null || backlog.empty()) return;
    const sb = this.#conn.getSend();
    const src = backlog.readPtr();
    const room = sb.unused();
    let pos = 0;
    while (pos < src.length) {
      const size = DC_MSG_HEADER_SIZE + frameDataLen(src, pos);
      if (pos + size > room) break;
      pos += size;
    }
    if (pos > 0) {
      sb.write(src.subarray(0, pos));
      backlog.takeData(null, pos);
    } else if (sb.empty() && sb.size() > 0 && this.error === null) {
      // (A size of 0 is a closed connection: io() reports it dead.)
      this.error = bufferTooSmall("send", sb.size());
    }
  }

  // Pulls frames out of the read buffer until a command is whole.
  #pull(): void {
    if (this.#readState !== READ_EMPTY || this.error !== null) return;
    const rb = this.#conn.getRead();
    const asm = this.#asm;
    for (;;) {
      const bytes = rb.readPtr();
      const r = asm.step(bytes, 0, bytes.length);
      if (r === STEP_NEED_MORE) {
        if (rb.full() && rb.size() > 0) {
          this.error = bufferTooSmall("read", rb.size());
        }
        return;
      }
      if (r === STEP_CORRUPT) {
        this.error = asm.error;
        return;
      }
      if (r === STEP_TAKEN) {
        rb.takeData(null, asm.size);
        continue;
      }
      if (asm.inPlace) this.#held = asm.size;
      else rb.takeData(null, asm.size);
      const c = this.#cmd;
      c.requestUid = asm.uid;
      c.cmd = asm.cmd;
      c.payload = asm.payload;
      this.#setRead(READ_FULL);
      return;
    }
  }
}

function bufferTooSmall(which: string, size: number): DcProtocolError {
  return new DcProtocolError(
    "ERR_BUFFER",
    "data_len",
    size,
    `the connection's ${which} buffer of ${size} bytes cannot hold a whole frame (up to ${MAX_FRAME} bytes)`,
  );
}
