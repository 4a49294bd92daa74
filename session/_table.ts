// Sessions as JSON under "<prefix><sid>" in the cache, for both stores.
//
// The cache has no "replace": a write is REMOVE then ADD. Writes to one
// id from this process go one after the other (a later one never lands
// before an earlier one), and a read waits for this process's pending write
// of that id. Another host reading in the gap between REMOVE and ADD would
// see nothing, so a miss is looked up once more a moment later before it
// counts.

import { DC_CTX_MIN_DATA_LEN, type DcCtx } from "../dc_client/mod.ts";
import {
  DC_ADD_HEADER_SIZE,
  DC_MAX_TIMEOUT_MS,
  DC_MAX_TOTAL_DATA,
} from "../dc_enc/mod.ts";
import { DistcacheSessionError } from "./errors.ts";

/** The `DcCtx` calls the stores use. */
export type SessionCtx = Pick<DcCtx, "get" | "addSession" | "removeSession">;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A session encoded for the cache: its id and JSON bytes. */
export interface Encoded {
  id: Uint8Array;
  data: Uint8Array;
}

export class SessionTable {
  readonly #ctx: () => Promise<SessionCtx>;
  readonly #prefix: string;
  readonly #missRetryMs: number;
  readonly #pending = new Map<string, Promise<void>>();

  constructor(
    ctx: () => Promise<SessionCtx>,
    prefix: string,
    missRetryMs: number,
  ) {
    this.#ctx = ctx;
    this.#prefix = prefix;
    this.#missRetryMs = missRetryMs;
  }

  /**
   * The session as bytes for the cache; throws ERR_SESSION_TOO_LARGE when
   * it cannot fit (checked before anything is removed).
   */
  encode(sid: string, value: unknown): Encoded {
    const id = this.#id(sid);
    // JSON.parse ignores trailing spaces: pad to the cache's 5-byte floor.
    const json = JSON.stringify(value).padEnd(DC_CTX_MIN_DATA_LEN, " ");
    const data = encoder.encode(json);
    const room = DC_MAX_TOTAL_DATA - DC_ADD_HEADER_SIZE - id.length;
    if (data.length > room) {
      throw new DistcacheSessionError(
        "ERR_SESSION_TOO_LARGE",
        `session "${sid}" is ${data.length} bytes of JSON; with its ${id.length}-byte id at most ${room} fit in one cache entry (${DC_MAX_TOTAL_DATA} bytes with the header)`,
      );
    }
    return { id, data };
  }

  /** The session stored under `sid`, or null. */
  async read(sid: string): Promise<unknown | null> {
    await this.#pending.get(sid);
    const id = this.#id(sid);
    const ctx = await this.#ctx();
    let raw = await ctx.get(id);
    if (raw === null && this.#missRetryMs > 0) {
      await new Promise((r) => setTimeout(r, this.#missRetryMs));
      raw = await ctx.get(id);
    }
    if (raw === null) return null;
    try {
      return JSON.parse(decoder.decode(raw));
    } catch (err) {
      throw new DistcacheSessionError(
        "ERR_SESSION_DATA",
        `session "${sid}": the cached value is not JSON (${raw.length} bytes)`,
        { cause: err },
      );
    }
  }

  /** Stores an encoded session for `ttlMs` (replacing what was there). */
  write(sid: string, encoded: Encoded, ttlMs: number): Promise<void> {
    const ttl = Math.max(1, Math.min(Math.ceil(ttlMs), DC_MAX_TIMEOUT_MS));
    return this.#queue(sid, async () => {
      const ctx = await this.#ctx();
      // Twice: another host may ADD between our REMOVE and ADD.
      for (let attempt = 0; attempt < 2; attempt++) {
        await ctx.removeSession(encoded.id);
        if (await ctx.addSession(encoded.id, encoded.data, ttl)) return;
      }
      throw new DistcacheSessionError(
        "ERR_SESSION_CACHE",
        `session "${sid}" not stored: the cache refused it or could not be reached`,
      );
    });
  }

  /** Removes the session stored under `sid`, if any. */
  remove(sid: string): Promise<void> {
    const id = this.#id(sid);
    return this.#queue(sid, async () => {
      await (await this.#ctx()).removeSession(id);
    });
  }

  #id(sid: string): Uint8Array {
    if (typeof sid !== "string" || sid.length === 0) {
      throw new DistcacheSessionError(
        "ERR_ARGUMENT",
        `invalid session id: ${
          typeof sid === "string" ? "empty" : typeof sid
        }; must be a non-empty string`,
      );
    }
    const id = encoder.encode(this.#prefix + sid);
    if (id.length > 64) {
      throw new DistcacheSessionError(
        "ERR_ARGUMENT",
        `invalid session id "${sid}": ${id.length} bytes with the prefix "${this.#prefix}"; cache ids are at most 64`,
      );
    }
    return id;
  }

  #queue(sid: string, job: () => Promise<void>): Promise<void> {
    const before = this.#pending.get(sid) ?? Promise.resolve();
    const run = before.then(job);
    const settled = run.catch(() => {});
    this.#pending.set(sid, settled);
    settled.then(() => {
      if (this.#pending.get(sid) === settled) this.#pending.delete(sid);
    });
    return run;
  }
}
