/**
 * Session tickets across hosts: every host's `node:tls` / `node:https`
 * server encrypts tickets with the same keys, kept in the cache and
 * rotated on a schedule, so that a ticket from one host resumes on another
 * (TLS 1.3 resumes only with tickets).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type { Server } from "node:tls";
import type { DcCtx } from "../dc_client/mod.ts";
import { argError, intOption, needMethods } from "./_args.ts";
import { DistcacheTlsError } from "./errors.ts";

/** Options of {@linkcode shareTicketKeys}. */
export interface TicketKeyOptions {
  /**
   * How long one key is used to issue tickets, in milliseconds; tickets
   * issued with it are accepted for one more period (keep it above the
   * server's `sessionTimeout`). Every host must use the same value.
   * 1 s .. 2 days. @default {3_600_000} (1 hour)
   */
  rotateMs?: number;
  /**
   * How often each host reads the cache for the keys of this, the previous
   * and the next period. @default rotateMs / 10, at most 60 s
   */
  pollMs?: number;
  /**
   * Start of the cache ids of the keys (the id is the prefix, `rotateMs`
   * and the period number). Different prefixes keep different farms
   * apart. @default {"distcache:tls-ticket-key:"}
   */
  prefix?: string;
  /** Told of each cache failure (logging, metrics); never thrown. */
  onError?: (error: DistcacheTlsError) => void;
  /** The clock, in milliseconds since the epoch (tests). @default Date.now */
  now?: () => number;
}

/** What {@linkcode shareTicketKeys} resolves to. */
export interface TicketKeyHandle {
  /**
   * The period whose key issues tickets now, and how the server accepts
   * the others: `"callback"` (the previous and next periods' keys too) or
   * `"single"` (only the current key: `setTicketKeys`).
   */
  readonly state: { period: number; keys: number; mode: "callback" | "single" };
  /** Reads the cache now (the helper also does on its own schedule). */
  refresh(): Promise<void>;
  /** Stops polling; the server keeps the keys it has. */
  close(): void;
  /** Same as {@linkcode TicketKeyHandle.close}. */
  [Symbol.dispose](): void;
}

/** The `DcCtx` calls the helper uses. */
export type TicketKeyClient = Pick<DcCtx, "addSession" | "get">;

// name (16) | HMAC secret (16) | AES key (16), as Node's setTicketKeys.
const KEY_LEN = 48;
const MAX_TIMEOUT_MS = 604_800_000;

interface Key {
  period: number;
  bytes: Buffer;
  local: boolean;
}

// Node's ticket key callback on a server's secure context: not documented,
// used by Node's own tests; present on Node 20..24 and nowhere else.
interface TicketCallbackContext {
  enableTicketKeyCallback(): void;
  onticketkeycallback: (
    name: Buffer,
    iv: Buffer,
    enc: boolean,
  ) => (number | Buffer)[];
}

function callbackContext(server: Server): TicketCallbackContext | null {
  const creds = (server as unknown as { _sharedCreds?: { context?: unknown } })
    ._sharedCreds;
  const context = creds?.context as Partial<TicketCallbackContext> | undefined;
  return typeof context?.enableTicketKeyCallback === "function"
    ? context as TicketCallbackContext
    : null;
}

/**
 * Keeps `server`'s ticket keys in step with every other host's through the
 * cache. Time is cut in periods of `rotateMs`; the key of period _n_ is
 * stored under `prefix + rotateMs + ":" + n`. The first host that needs a
 * key generates it and stores it with ADD; when two race, the cache keeps
 * the first and refuses the other (the duplicate answer), and the loser
 * reads the winner's key. Each host polls for the keys of the previous,
 * current and next period, issues tickets with the current one and
 * accepts all three, so that a rotation (or hosts' clocks a little apart)
 * breaks no resumption; a decrypted ticket of another period is renewed.
 *
 * Ticket keys are secrets: whoever has them can decrypt the sessions of
 * recorded traffic. The link to the cache must be a local UNIX socket (to
 * the local proxy) or TLS, never plain TCP to another host.
 *
 * When the cache cannot be reached, the host makes a key of its own
 * (tickets then resume on this host only) and reports the failure to
 * `onError`; it joins the shared keys as soon as the cache answers.
 *
 * Runtimes: on Node the server accepts the previous and next keys through
 * Node's ticket key callback (an undocumented hook of its secure context,
 * which Node's own tests use; `state.mode` is `"callback"`). Without that
 * hook the server gets `setTicketKeys(current)` only (`"single"`): a
 * rotation then costs clients one full handshake. Bun 1.4's server has no
 * `setTicketKeys` (this throws `ERR_TLS_UNSUPPORTED`); Deno 2.9 accepts
 * `setTicketKeys` but does not use the keys, so tickets resume on the
 * issuing host only. A `setSecureContext()` call on the server drops the
 * callback: call this again after it.
 *
 * @param server A `node:tls` or `node:https` server.
 * @param ctx The cache: a persistent {@linkcode DcCtx} over a UNIX socket
 *   or TLS.
 * @returns A handle; close it when the server stops.
 * @throws {DistcacheTlsError} `ERR_TLS_UNSUPPORTED` when the server has no
 *   `setTicketKeys`, `ERR_ARGUMENT` for a bad option.
 *
 * @example
 * Needs a key pair and a cache server to reach, so the doc tests do not run
 * it (marked `ignore`); tests/tls/ run the same with real certificates.
 *
 * ```ts ignore
 * import * as https from "node:https";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
 * import { shareTicketKeys } from "@distcache/distcache/tls";
 *
 * const cache = await DcCtx.create("UNIX:/tmp/scache", DC_CTX_FLAG_PERSISTENT);
 * const server = https.createServer({
 *   key: "...", cert: "...", sessionIdContext: "my-web-farm",
 * }, (_req, res) => res.end("hello\n"));
 * const keys = await shareTicketKeys(server, cache, { rotateMs: 3_600_000 });
 * server.on("close", () => keys.close());
 * ```
 */
export async function shareTicketKeys(
  server: Server,
  ctx: TicketKeyClient,
  options: TicketKeyOptions = {},
): Promise<TicketKeyHandle> {
  needMethods(ctx, "ctx", ["addSession", "get"]);
  if (typeof (server as Partial<Server>)?.setTicketKeys !== "function") {
    throw new DistcacheTlsError(
      "ERR_TLS_UNSUPPORTED",
      "this TLS server has no setTicketKeys(): its runtime cannot share ticket keys (Bun's node:tls server, for one)",
    );
  }
  const rotateMs = intOption(options.rotateMs, "rotateMs", {
    min: 1000,
    max: 2 * 86_400_000,
    fallback: 3_600_000,
  }, argError);
  const pollMs = intOption(options.pollMs, "pollMs", {
    min: 10,
    max: rotateMs,
    fallback: Math.min(Math.floor(rotateMs / 10), 60_000),
  }, argError);
  const prefix = options.prefix ?? "distcache:tls-ticket-key:";
  if (typeof prefix !== "string") {
    throw new DistcacheTlsError(
      "ERR_ARGUMENT",
      `invalid prefix: ${typeof prefix}; must be a string`,
    );
  }
  const now = options.now ?? Date.now;
  const report = options.onError ?? (() => {});
  const idOf = (period: number) => `${prefix}${rotateMs}:${period}`;
  if (new TextEncoder().encode(idOf(2 ** 40)).length > 64) {
    throw new DistcacheTlsError(
      "ERR_ARGUMENT",
      `invalid prefix: "${prefix}" is too long for a 64-byte cache id`,
    );
  }

  // The key of each period (from the cache, or made here while the cache
  // was away: `local`), local keys replaced by the shared one (still
  // accepted until their period is over), and the key issuing tickets.
  const byPeriod = new Map<number, Key>();
  let retired: Key[] = [];
  let issuing: Key | null = null;
  const periodNow = () => Math.floor(now() / rotateMs);

  const put = (period: number, bytes: Uint8Array, local: boolean): void => {
    const old = byPeriod.get(period);
    if (old !== undefined && old.bytes.equals(bytes)) {
      old.local &&= local;
      return;
    }
    if (old !== undefined) retired.push(old);
    byPeriod.set(period, { period, bytes: Buffer.from(bytes), local });
  };

  const fail = (what: string, err?: Error) =>
    report(
      new DistcacheTlsError(
        "ERR_TLS_CACHE",
        `ticket key ${what}${err ? `: ${err.message}` : ""}`,
        err ? { cause: err } : undefined,
      ),
    );

  // Brings the key of `period` in step with the cache: the cache's key wins;
  // where the cache has none (first host, or a restarted cache), ours (or a
  // fresh one when `create`) is added, and a refused ADD means another host
  // was first: read its key.
  const sync = async (period: number, create: boolean): Promise<void> => {
    const id = idOf(period);
    try {
      const found = await ctx.get(id);
      if (found !== null && found.length === KEY_LEN) {
        put(period, found, false);
        return;
      }
      if (found !== null) {
        fail(`${id} in the cache is ${found.length} bytes, not ${KEY_LEN}`);
        return;
      }
      const mine = byPeriod.get(period)?.bytes;
      if (!create && mine === undefined) return;
      const proposal = mine ?? randomBytes(KEY_LEN);
      // Alive through the period after it (when it is the previous one),
      // and one more for clocks a little apart.
      const ttl = Math.min((period + 3) * rotateMs - now(), MAX_TIMEOUT_MS);
      if (await ctx.addSession(id, proposal, ttl)) {
        put(period, proposal, false);
        return;
      }
      const winner = await ctx.get(id);
      if (winner !== null && winner.length === KEY_LEN) {
        put(period, winner, false);
        return;
      }
      fail(`${id} neither stored in the cache nor found there`);
    } catch (err) {
      fail(`${id} not read from the cache`, err as Error);
    }
  };

  // Picks the issuing key for the present period and hands it to the
  // server; drops keys too old to accept.
  const apply = (): void => {
    const current = periodNow();
    for (const period of byPeriod.keys()) {
      if (period < current - 1) byPeriod.delete(period);
    }
    retired = retired.filter((k) => k.period >= current - 1);
    let best = byPeriod.get(current);
    if (best === undefined) {
      // The cache was away at the turn: the newest key still accepted
      // everywhere, else one of our own.
      best = byPeriod.get(current - 1);
      if (best === undefined) {
        put(current, randomBytes(KEY_LEN), true);
        best = byPeriod.get(current)!;
      }
    }
    if (issuing !== best) {
      issuing = best;
      server.setTicketKeys(best.bytes);
    }
  };

  const accepting = (name: Uint8Array): Key | undefined => {
    const current = periodNow();
    for (const key of [...byPeriod.values(), ...retired]) {
      if (key.period >= current - 1 && key.bytes.subarray(0, 16).equals(name)) {
        return key;
      }
    }
    return undefined;
  };

  let refreshing: Promise<void> | null = null;
  const refresh = (): Promise<void> => {
    refreshing ??= (async () => {
      try {
        const current = periodNow();
        if (!byPeriod.has(current - 1)) await sync(current - 1, false);
        await sync(current, true);
        await sync(current + 1, true);
        apply();
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  };

  await refresh();

  const context = callbackContext(server);
  const zero = Buffer.alloc(16);
  if (context !== null) {
    context.enableTicketKeyCallback();
    context.onticketkeycallback = (name, _iv, enc) => {
      if (enc) {
        apply();
        const key = issuing!.bytes;
        return [
          1,
          key.subarray(16, 32),
          key.subarray(32, 48),
          key.subarray(0, 16),
          randomBytes(16),
        ];
      }
      const key = accepting(name);
      if (key === undefined) return [0, zero, zero];
      // 2: accepted, and the client gets a fresh ticket under the current key.
      return [
        key === issuing ? 1 : 2,
        key.bytes.subarray(16, 32),
        key.bytes.subarray(32, 48),
      ];
    };
  }

  const timer = setInterval(() => {
    refresh().catch(() => {});
  }, pollMs);
  (timer as { unref?: () => void }).unref?.();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
  };
  return {
    get state() {
      return {
        period: issuing!.period,
        keys: byPeriod.size + retired.length,
        mode: context !== null ? "callback" as const : "single" as const,
      };
    },
    refresh,
    close,
    [Symbol.dispose]: close,
  };
}
