/**
 * DC_CTX: the client API applications use to add, get, remove and test
 * sessions in a distributed cache (through a local proxy or a server).
 *
 * @module
 */

import {
  DC_ADD_HEADER_SIZE,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
  DcCmd,
  DcErr,
  encodeAddPayload,
} from "../dc_enc/mod.ts";
import { NalAddress } from "../nal/address.ts";
import { bytesEqual } from "../nal/_util.ts";
import type { NalTlsConnectOptions } from "../nal/tls_options.ts";
import { currentPid } from "../nal/runtime/process.ts";
import type { RuntimeAdapter } from "../nal/runtime/types.ts";
import { bytesArg, describeValue, idArg, intArg, storageArg } from "./_args.ts";
import { checkTls } from "./_tls.ts";
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

/** Every `DC_CTX_FLAG_*` OR'ed: other bits are refused. */
const ALL_FLAGS = 0x000f;

/** Default operation timeout of a {@linkcode DcCtx}, in milliseconds. */
export const DC_CTX_DEFAULT_TIMEOUT_MS = 5000;

/**
 * Default bound on the requests a persistent {@linkcode DcCtx} keeps in
 * flight on its connection; the rest wait in the context, in order.
 *
 * Why 16: the C `dc_server` serves one request per loop through 4096-byte
 * connection buffers, and drops a connection when a request is waiting
 * while an earlier answer has not yet all gone into its send buffer: with
 * ~250 small requests unanswered, with ~200 answers of 1000 bytes, or as
 * soon as anything waits behind a GET answer over ~4 KB. With 16 in
 * flight, 1,000 concurrent GETs and ADDs of sessions up to 4000 bytes
 * through one context all succeed against a C server (measured; 1000-byte
 * sessions still did at 128), while against our server and proxy one
 * context keeps most of the rate of an unbounded pipeline (about 0.8x of
 * it on the bench machine). Against a C server with sessions over 4 KB,
 * use `maxInFlight: 1`; against ours, a larger bound (e.g. 64) pipelines
 * deeper.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_DEFAULT_MAX_IN_FLIGHT } from "@distcache/distcache/dc_client";
 *
 * assert.equal(DC_CTX_DEFAULT_MAX_IN_FLIGHT, 16);
 * ```
 */
export const DC_CTX_DEFAULT_MAX_IN_FLIGHT = 16;

/**
 * Shortest session data `addSession` accepts: a GET answer under 5 bytes
 * cannot be told from an error code (the C client's rule, which `get` and
 * `getSession` keep), so data of 1 to 4 bytes could be stored but never
 * read back.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_MIN_DATA_LEN } from "@distcache/distcache/dc_client";
 *
 * assert.equal(DC_CTX_MIN_DATA_LEN, 5);
 * ```
 */
export const DC_CTX_MIN_DATA_LEN = 5;

// setTimeout's largest delay: a longer operation timeout would fire at once.
const MAX_OP_TIMEOUT_MS = 0x7fffffff;

/** An id or session value: bytes, or a string sent as UTF-8. */
export type DcBytes = Uint8Array | string;

/** Options for {@linkcode DcCtx.create}. */
export interface DcCtxOptions {
  /**
   * Most milliseconds one operation may take, connecting and waiting its
   * turn included; past it the operation fails (and a persistent
   * connection is dropped, as its late answer could not be told apart).
   * 1 .. 2147483647. @default {5000}
   */
  timeoutMs?: number;
  /**
   * Most requests a persistent context keeps unanswered on its connection
   * at once; later calls wait their turn in the context (see
   * {@linkcode DC_CTX_DEFAULT_MAX_IN_FLIGHT} for why 16). An integer from 1.
   * @default {16}
   */
  maxInFlight?: number;
  /** Socket adapter. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /**
   * Connect over TLS (a TCP target only: a server or proxy listening with
   * `-tls-cert`/`-tls-key`): `ca` is the only CA trusted for the server's
   * certificate (default: the runtime's roots), `cert` and `key` a client
   * certificate for a server that asks for one (`-tls-ca`), `serverName`
   * the name the server's certificate must be for (default: the target's
   * host). The certificate is always verified, chain and name, unless
   * `insecureSkipVerify` (for tests only). @default {plain TCP}
   */
  tls?: NalTlsConnectOptions;
  /**
   * Reads the current process id, for `DC_CTX_FLAG_PERSISTENT_PIDCHECK`.
   * @default {currentPid}
   */
  pid?: () => number;
}

/**
 * A client context (the C API's `DC_CTX`) bound to one target address.
 *
 * Every call may be made concurrently: on a persistent context requests are
 * pipelined over the one connection (at most `maxInFlight` unanswered at
 * once, 16 unless told; later calls wait their turn) and answers matched
 * by request_uid.
 *
 * Arguments are checked before anything is sent: ids and data are a
 * `Uint8Array` (any view of bytes, Node's `Buffer` included) or a string
 * (sent as UTF-8), nothing else; anything else, or a value out of range,
 * throws a {@linkcode DcArgumentError} naming the argument.
 *
 * Compatibility rule kept from the C client: a GET answer shorter than 5
 * bytes is a failure (it cannot be told from a one-byte error code), so
 * `addSession` refuses data under 5 bytes, which could never be read back.
 *
 * @example Store and read a session through a local proxy
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * // Usually the local proxy, e.g. "UNIX:/tmp/scache"; here a server of our own.
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
 * assert.equal(await ctx.addSession("session-id", "the session data", 60_000), true);
 * const data = await ctx.get("session-id"); // Uint8Array, or null
 * assert.equal(new TextDecoder().decode(data!), "the session data");
 * ctx.close();
 * await server.close();
 * ```
 */
export class DcCtx {
  readonly #addr: NalAddress;
  readonly #flags: number;
  readonly #timeoutMs: number;
  readonly #maxInFlight: number;
  readonly #adapter: RuntimeAdapter | undefined;
  readonly #tls: NalTlsConnectOptions | undefined;
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
    this.#maxInFlight = options.maxInFlight ?? DC_CTX_DEFAULT_MAX_IN_FLIGHT;
    this.#adapter = options.adapter;
    this.#tls = options.tls;
    this.#readPid = options.pid ?? currentPid;
    this.#pid = this.#readPid();
  }

  /**
   * Makes a context for `target` (`DC_CTX_new`).
   *
   * @param target Address of the proxy or server, e.g. `"UNIX:/tmp/scache"`.
   * @param flags `DC_CTX_FLAG_*`, OR'ed.
   * @param options Operation timeout, requests in flight, socket adapter,
   *   TLS.
   * @throws {DcArgumentError} for arguments of the wrong type or out of
   *   range (a target that is not a string, unknown flags, a timeout or
   *   `maxInFlight` that is not a positive integer, TLS options that are
   *   not PEM or are given for a UNIX target...).
   * @throws {NalAddressError} for a bad or listen-only address.
   * @throws {DcConnectError} for a persistent context (without
   *   `DC_CTX_FLAG_PERSISTENT_LATE`) that cannot connect.
   */
  static async create(
    target: string,
    flags: number = 0,
    options: DcCtxOptions = {},
  ): Promise<DcCtx> {
    if (typeof target !== "string") {
      throw new DcArgumentError(
        `invalid target: ${
          describeValue(target)
        }; must be an address string such as "UNIX:/tmp/scache"`,
      );
    }
    if (!Number.isInteger(flags) || flags < 0 || flags > ALL_FLAGS) {
      throw new DcArgumentError(
        `invalid flags: ${
          describeValue(flags)
        }; must be DC_CTX_FLAG_* values OR'ed (0..${ALL_FLAGS})`,
      );
    }
    checkOptions(options);
    const addr = NalAddress.parse(target);
    if (!addr.canConnect()) {
      throw new DcConnectError(
        `cannot connect to "${target}": a listen-only address`,
      );
    }
    checkTls(options.tls, addr, target);
    const timeoutMs = options.timeoutMs ?? DC_CTX_DEFAULT_TIMEOUT_MS;
    const ctx = new DcCtx(addr, flags, options);
    if (
      (flags & DC_CTX_FLAG_PERSISTENT) !== 0 &&
      (flags & DC_CTX_FLAG_PERSISTENT_LATE) === 0
    ) {
      const link = ctx.#open();
      if (link === null || !(await link.established(Date.now() + timeoutMs))) {
        const cause = link?.error ?? undefined;
        link?.close();
        // The socket layer's message already names the address.
        throw new DcConnectError(
          cause?.message.startsWith("cannot connect to ")
            ? cause.message
            : `cannot connect to "${target}": ${
              cause?.message ?? `no connection within ${timeoutMs} ms`
            }`,
          { cause },
        );
      }
      ctx.#link = link;
    }
    return ctx;
  }

  /**
   * Adds a session (`DC_CTX_add_session`).
   *
   * @param id Session id, 1..64 bytes (a `Uint8Array` or a string, sent as
   *   UTF-8).
   * @param data Session data, 5 bytes (see
   *   {@linkcode DC_CTX_MIN_DATA_LEN}: shorter data could never be read
   *   back) up to what fits in one command (32768 bytes less the id and 8
   *   bytes of header).
   * @param timeoutMs Lifetime in milliseconds, an integer 0..604800000
   *   (7 days).
   * @returns `true` when stored; `false` when the id is already cached or
   *   the cache could not be reached.
   * @throws {DcArgumentError} for an argument of the wrong type or out of
   *   range (nothing is sent).
   */
  async addSession(
    id: DcBytes,
    data: DcBytes,
    timeoutMs: number,
  ): Promise<boolean> {
    const idBytes = idArg(id);
    const dataBytes = bytesArg(data, "data");
    if (dataBytes.length < DC_CTX_MIN_DATA_LEN) {
      throw new DcArgumentError(
        `session data of ${dataBytes.length} bytes too short: must be at least ${DC_CTX_MIN_DATA_LEN}, since a GET answer under ${DC_CTX_MIN_DATA_LEN} bytes cannot be told from an error code and could never be read back`,
      );
    }
    const room = DC_MAX_TOTAL_DATA - DC_ADD_HEADER_SIZE - idBytes.length;
    if (dataBytes.length > room) {
      throw new DcArgumentError(
        `session data of ${dataBytes.length} bytes too large: at most ${room} with a ${idBytes.length}-byte id`,
      );
    }
    intArg(timeoutMs, "timeoutMs", 0, DC_MAX_TIMEOUT_MS);
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
    return await this.#yesNo(DcCmd.REMOVE, idArg(id));
  }

  /**
   * Whether a session is cached, without fetching it (`DC_CTX_has_session`).
   *
   * @returns `false` also when the cache could not be reached.
   * @throws {DcArgumentError} for an id of 0 or more than 64 bytes.
   */
  async hasSession(id: DcBytes): Promise<boolean> {
    return await this.#yesNo(DcCmd.HAVE, idArg(id));
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
   * @throws {DcArgumentError} for an id of 0 or more than 64 bytes, or
   *   arguments of the wrong type.
   */
  async getSession(
    id: DcBytes,
    storage: Uint8Array | null = null,
  ): Promise<number | null> {
    const idBytes = idArg(id);
    storage = storageArg(storage);
    const reply = await this.#fetch(idBytes);
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
   * @throws {DcArgumentError} for arguments of the wrong type.
   */
  regetSession(id: DcBytes, storage: Uint8Array | null = null): number | null {
    const idBytes = bytesArg(id, "id");
    storage = storageArg(storage);
    const last = this.#lastGet;
    if (last === null || last.seq !== this.#opSeq) return null;
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
   * import assert from "node:assert/strict";
   * import { DcCtx } from "@distcache/distcache/dc_client";
   * import { serve } from "@distcache/distcache/dc_server";
   *
   * const server = await serve({ listen: "IP:127.0.0.1:0" });
   * const ctx = await DcCtx.create(server.addr);
   * assert.equal(await ctx.get("user:42"), null); // not cached
   * await ctx.addSession("user:42", "Ada Lovelace", 60_000);
   * assert.equal(new TextDecoder().decode((await ctx.get("user:42"))!), "Ada Lovelace");
   * ctx.close();
   * await server.close();
   * ```
   *
   * @returns The data, or null when not cached or unreachable.
   * @throws {DcArgumentError} for an id of 0 or more than 64 bytes, or not
   *   a `Uint8Array` or string.
   */
  async get(id: DcBytes): Promise<Uint8Array | null> {
    const reply = await this.#fetch(idArg(id));
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

  #open(): Link | null {
    return Link.open(this.#addr, this.#adapter, this.#maxInFlight, this.#tls);
  }

  #linkFor(persistent: boolean): Link | null {
    if (!persistent) return this.#open();
    if ((this.#flags & DC_CTX_FLAG_PERSISTENT_PIDCHECK) !== 0) {
      const pid = this.#readPid();
      if (pid !== this.#pid) {
        // A forked child must not share its parent's connection.
        this.#pid = pid;
        this.#link?.close();
        this.#link = null;
      }
    }
    if (this.#link === null || this.#link.dead) this.#link = this.#open();
    return this.#link;
  }
}

function checkOptions(options: unknown): void {
  if (typeof options !== "object" || options === null) {
    throw new DcArgumentError(
      `invalid options: ${describeValue(options)}; must be an object`,
    );
  }
  const o = options as Record<string, unknown>;
  if (o.timeoutMs !== undefined) {
    intArg(o.timeoutMs, "timeoutMs", 1, MAX_OP_TIMEOUT_MS);
  }
  if (o.maxInFlight !== undefined) {
    intArg(o.maxInFlight, "maxInFlight", 1, Number.MAX_SAFE_INTEGER);
  }
  if (o.pid !== undefined && typeof o.pid !== "function") {
    throw new DcArgumentError(
      `invalid pid: ${describeValue(o.pid)}; must be a function`,
    );
  }
  if (
    o.adapter !== undefined &&
    (typeof o.adapter !== "object" || o.adapter === null)
  ) {
    throw new DcArgumentError(
      `invalid adapter: ${describeValue(o.adapter)}; must be a RuntimeAdapter`,
    );
  }
}
