/**
 * DC_CTX: the client API applications use to add, get, remove and test
 * sessions in a distributed cache (through a local proxy or a server).
 *
 * @module
 */

import {
  DC_ADD_HEADER_SIZE,
  DC_MAX_ID_LEN,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
  DcCmd,
  DcErr,
  encodeAddPayload,
} from "../dc_enc/mod.ts";
import { NalAddress } from "../nal/address.ts";
import { bytesEqual, toBytes } from "../nal/_util.ts";
import { currentPid } from "../nal/runtime/process.ts";
import type { RuntimeAdapter } from "../nal/runtime/types.ts";
import { DcArgumentError, DcConnectError } from "./errors.ts";
import { Link, type Outcome } from "./link.ts";

/** Keep one connection open instead of one per operation. */
export const DC_CTX_FLAG_PERSISTENT = 0x0001;
/** Reconnect first when the process id changed (after a fork). */
export const DC_CTX_FLAG_PERSISTENT_PIDCHECK = 0x0002;
/** Tolerate one disconnection per operation: reconnect and restart it. */
export const DC_CTX_FLAG_PERSISTENT_RETRY = 0x0004;
/** Connect at the first operation rather than in `create`. */
export const DC_CTX_FLAG_PERSISTENT_LATE = 0x0008;

/** Default operation timeout of a {@linkcode DcCtx}, in milliseconds. */
export const DC_CTX_DEFAULT_TIMEOUT_MS = 5000;

/** An id or session value: bytes, or a string sent as UTF-8. */
export type DcBytes = Uint8Array | string;

/** Options for {@linkcode DcCtx.create}. */
export interface DcCtxOptions {
  /**
   * Most milliseconds one operation may take, connecting included; past
   * it the operation fails (and a persistent connection is dropped, as its
   * late answer could not be told apart). @default {5000}
   */
  timeoutMs?: number;
  /** Socket adapter. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /**
   * Reads the current process id, for `DC_CTX_FLAG_PERSISTENT_PIDCHECK`.
   * @default {currentPid}
   */
  pid?: () => number;
}

/**
 * A client context (the seed's `DC_CTX`) bound to one target address.
 *
 * Every call may be made concurrently: on a persistent context requests are
 * pipelined over the one connection and answers matched by request_uid.
 *
 * Compatibility rule kept from the C client: a GET answer shorter than 5
 * bytes is a failure, so sessions of 1 to 4 bytes cannot be read back.
 *
 * @example Store and read a session through a local proxy
 * ```ts
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
 *
 * const ctx = await DcCtx.create("UNIX:/tmp/scache", DC_CTX_FLAG_PERSISTENT);
 * await ctx.addSession("session-id", "the session data", 60_000);
 * const data = await ctx.get("session-id"); // Uint8Array or null
 * ctx.close();
 * ```
 */
export class DcCtx {
  readonly #addr: NalAddress;
  readonly #flags: number;
  readonly #timeoutMs: number;
  readonly #adapter: RuntimeAdapter | undefined;
  readonly #readPid: () => number;
  #link: Link | null = null;
  #pid: number;
  #closed = false;
  // reget: the last operation started, and what a GET of it returned.
  #opSeq = 0;
  #lastGet: { seq: number; id: Uint8Array; data: Uint8Array } | null = null;

  private constructor(addr: NalAddress, flags: number, options: DcCtxOptions) {
    this.#addr = addr;
    this.#flags = flags;
    this.#timeoutMs = options.timeoutMs ?? DC_CTX_DEFAULT_TIMEOUT_MS;
    this.#adapter = options.adapter;
    this.#readPid = options.pid ?? currentPid;
    this.#pid = this.#readPid();
  }

  /**
   * Makes a context for `target` (`DC_CTX_new`).
   *
   * @param target Address of the proxy or server, e.g. `"UNIX:/tmp/scache"`.
   * @param flags `DC_CTX_FLAG_*`, OR'ed.
   * @param options Operation timeout, socket adapter.
   * @throws {NalAddressError} for a bad or listen-only address.
   * @throws {DcConnectError} for a persistent context (without
   *   `DC_CTX_FLAG_PERSISTENT_LATE`) that cannot connect.
   */
  static async create(
    target: string,
    flags: number = 0,
    options: DcCtxOptions = {},
  ): Promise<DcCtx> {
    const addr = NalAddress.parse(target);
    if (!addr.canConnect()) {
      throw new DcConnectError(
        `cannot connect to "${target}": a listen-only address`,
      );
    }
    const timeoutMs = options.timeoutMs ?? DC_CTX_DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) {
      throw new DcArgumentError(
        `invalid timeoutMs ${timeoutMs}: must be above 0`,
      );
    }
    const ctx = new DcCtx(addr, flags, options);
    if (
      (flags & DC_CTX_FLAG_PERSISTENT) !== 0 &&
      (flags & DC_CTX_FLAG_PERSISTENT_LATE) === 0
    ) {
      const link = Link.open(addr, options.adapter);
      if (link === null || !(await link.established(Date.now() + timeoutMs))) {
        const why = link?.error?.message ?? "cannot connect";
        link?.close();
        throw new DcConnectError(`cannot connect to "${target}": ${why}`);
      }
      ctx.#link = link;
    }
    return ctx;
  }

  /**
   * Adds a session (`DC_CTX_add_session`).
   *
   * @param id Session id, 1..64 bytes.
   * @param data Session data, 1 byte up to what fits in one command
   *   (32768 bytes less the id and 8 bytes of header).
   * @param timeoutMs Lifetime in milliseconds (at most 7 days).
   * @returns `true` when stored; `false` when the id is already cached or
   *   the cache could not be reached.
   * @throws {DcArgumentError} for an argument out of range (nothing is sent).
   */
  async addSession(
    id: DcBytes,
    data: DcBytes,
    timeoutMs: number,
  ): Promise<boolean> {
    const idBytes = checkId(id);
    const dataBytes = toBytes(data);
    if (dataBytes.length === 0) {
      throw new DcArgumentError("empty session data: must be at least 1 byte");
    }
    const room = DC_MAX_TOTAL_DATA - DC_ADD_HEADER_SIZE - idBytes.length;
    if (dataBytes.length > room) {
      throw new DcArgumentError(
        `session data of ${dataBytes.length} bytes too large: at most ${room} with a ${idBytes.length}-byte id`,
      );
    }
    if (
      !Number.isInteger(timeoutMs) || timeoutMs < 0 ||
      timeoutMs > DC_MAX_TIMEOUT_MS
    ) {
      throw new DcArgumentError(
        `invalid timeout ${timeoutMs} ms: must be 0..${DC_MAX_TIMEOUT_MS}`,
      );
    }
    const payload = encodeAddPayload(timeoutMs, idBytes, dataBytes);
    this.#begin();
    const reply = await this.#transact(DcCmd.ADD, payload);
    return reply !== null && reply.length === 1 && reply[0] === DcErr.OK;
  }

  /**
   * Removes a session (`DC_CTX_remove_session`).
   *
   * @returns `true` when it existed and was removed.
   * @throws {DcArgumentError} for an id of 0 or more than 64 bytes.
   */
  async removeSession(id: DcBytes): Promise<boolean> {
    return await this.#yesNo(DcCmd.REMOVE, checkId(id));
  }

  /**
   * Whether a session is cached, without fetching it (`DC_CTX_has_session`).
   *
   * @returns `false` also when the cache could not be reached.
   * @throws {DcArgumentError} for an id of 0 or more than 64 bytes.
   */
  async hasSession(id: DcBytes): Promise<boolean> {
    return await this.#yesNo(DcCmd.HAVE, checkId(id));
  }

  /**
   * Fetches a session (`DC_CTX_get_session`).
   *
   * @param id Session id, 1..64 bytes.
   * @param storage Where to copy the data: `min(length, storage.length)`
   *   bytes are copied; null copies nothing (ask the length, then
   *   `regetSession`).
   * @returns The session's full length, or null when it is not cached or the
   *   cache could not be reached.
   * @throws {DcArgumentError} for an id of 0 or more than 64 bytes.
   */
  async getSession(
    id: DcBytes,
    storage: Uint8Array | null = null,
  ): Promise<number | null> {
    const reply = await this.#fetch(checkId(id));
    if (reply === null) return null;
    if (storage !== null) {
      storage.set(reply.subarray(0, Math.min(reply.length, storage.length)));
    }
    return reply.length;
  }

  /**
   * Copies the session fetched by the previous operation again, without any
   * network traffic (`DC_CTX_reget_session`): only when that operation was a
   * successful `getSession` of the very same id.
   *
   * @returns The full length, or null when there is nothing to re-read.
   */
  regetSession(id: DcBytes, storage: Uint8Array | null = null): number | null {
    const last = this.#lastGet;
    if (last === null || last.seq !== this.#opSeq) return null;
    const idBytes = toBytes(id);
    if (!bytesEqual(idBytes, last.id)) return null;
    if (storage !== null) {
      storage.set(
        last.data.subarray(0, Math.min(last.data.length, storage.length)),
      );
    }
    return last.data.length;
  }

  /**
   * Fetches a session's data as a new array.
   *
   * @example
   * ```ts
   * import { DcCtx } from "@distcache/distcache/dc_client";
   *
   * const ctx = await DcCtx.create("UNIX:/tmp/scache");
   * const data = await ctx.get("user:42");
   * console.log(data === null ? "not cached" : new TextDecoder().decode(data));
   * ctx.close();
   * ```
   *
   * @returns The data, or null when not cached or unreachable.
   */
  async get(id: DcBytes): Promise<Uint8Array | null> {
    const reply = await this.#fetch(checkId(id));
    return reply === null ? null : reply.slice();
  }

  /** Closes the context and its connection (`DC_CTX_free`). */
  close(): void {
    this.#closed = true;
    this.#link?.close();
    this.#link = null;
    this.#lastGet = null;
  }

  /** Same as {@linkcode DcCtx.prototype.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  async #yesNo(cmd: DcCmd, id: Uint8Array): Promise<boolean> {
    this.#begin();
    const reply = await this.#transact(cmd, id);
    return reply !== null && reply.length === 1 && reply[0] === DcErr.OK;
  }

  // A GET; its answer stays re-readable while no other operation starts.
  async #fetch(id: Uint8Array): Promise<Uint8Array | null> {
    const seq = this.#begin();
    const reply = await this.#transact(DcCmd.GET, id);
    // A one-byte answer is an error code; the C client also refuses 2..4.
    if (reply === null || reply.length < 5) return null;
    if (this.#opSeq === seq) {
      this.#lastGet = { seq, id: id.slice(), data: reply };
    }
    return reply;
  }

  // Every operation starts here: it cancels a pending reget.
  #begin(): number {
    this.#lastGet = null;
    return ++this.#opSeq;
  }

  // One request and its answer; null on any failure. An empty answer or a
  // lone DC_ERR_DISCONNECTED (a proxy without its server) is a failure.
  async #transact(cmd: DcCmd, payload: Uint8Array): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    const deadline = Date.now() + this.#timeoutMs;
    const persistent = (this.#flags & DC_CTX_FLAG_PERSISTENT) !== 0;
    const retry = persistent &&
      (this.#flags & DC_CTX_FLAG_PERSISTENT_RETRY) !== 0;
    for (let attempt = 0;; attempt++) {
      const link = this.#linkFor(persistent);
      if (link === null) return null;
      let outcome: Outcome;
      try {
        outcome = await link.request(cmd, payload, deadline);
      } finally {
        if (!persistent) link.close();
      }
      if (outcome.ok) {
        const reply = outcome.reply;
        if (reply.length === 0) return null;
        if (reply.length === 1 && reply[0] === DcErr.DISCONNECTED) return null;
        return reply;
      }
      if (persistent && this.#link === link) this.#link = null;
      if (!(retry && attempt === 0 && outcome.reason === "disconnected")) {
        return null;
      }
    }
  }

  #linkFor(persistent: boolean): Link | null {
    if (!persistent) return Link.open(this.#addr, this.#adapter);
    if ((this.#flags & DC_CTX_FLAG_PERSISTENT_PIDCHECK) !== 0) {
      const pid = this.#readPid();
      if (pid !== this.#pid) {
        // A forked child must not share its parent's connection.
        this.#pid = pid;
        this.#link?.close();
        this.#link = null;
      }
    }
    if (this.#link === null || this.#link.dead) {
      this.#link = Link.open(this.#addr, this.#adapter);
    }
    return this.#link;
  }
}

function checkId(id: DcBytes): Uint8Array {
  const bytes = toBytes(id);
  if (bytes.length === 0 || bytes.length > DC_MAX_ID_LEN) {
    throw new DcArgumentError(
      `invalid session id of ${bytes.length} bytes: must be 1..${DC_MAX_ID_LEN}`,
    );
  }
  return bytes;
}
