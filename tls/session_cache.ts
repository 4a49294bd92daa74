/**
 * TLS session resumption by session id across hosts: a `node:tls` or
 * `node:https` server's `newSession` / `resumeSession` events wired to a
 * {@linkcode DcCtx}, so that a client resumes its session on whichever host
 * it reaches.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Server } from "node:tls";
import type { DcCtx } from "../dc_client/mod.ts";
import { argError, intOption, needMethods, prefixOption } from "./_args.ts";
import { sessionVersion, TLS1_3_VERSION } from "./_session_der.ts";
import { DistcacheTlsError } from "./errors.ts";

/** Options of {@linkcode useSessionCache}. */
export interface SessionCacheOptions {
  /**
   * Lifetime of a stored session, in milliseconds. @default the server's
   * `sessionTimeout` (seconds), else 300 s, Node's default
   */
  timeoutMs?: number;
  /**
   * Longest wait for the cache when a client asks to resume, in
   * milliseconds: past it the handshake goes on as a full one, and the late
   * answer is dropped. @default {50}
   */
  lookupTimeoutMs?: number;
  /**
   * Put before each session id to make the cache id. The default (none)
   * stores the raw id, as servers using the C distcache do, so that they
   * can share sessions with Node. @default {""}
   */
  prefix?: string | Uint8Array;
  /** Told of each cache failure (logging, metrics); never thrown. */
  onError?: (error: DistcacheTlsError) => void;
}

/** The `DcCtx` calls the helper uses (a `DcCtx`, or a stand-in for tests). */
export type SessionCacheClient = Pick<DcCtx, "addSession" | "get">;

type NewSession = (id: Buffer, data: Buffer, done: () => void) => void;
type ResumeSession = (
  id: Buffer,
  done: (err: Error | null, data: Buffer | null) => void,
) => void;

// Node's default lifetime of a server's TLS sessions, in seconds.
const NODE_SESSION_TIMEOUT_S = 300;
const MAX_TIMEOUT_MS = 604_800_000;

/**
 * Stores the TLS sessions `server` makes in the cache and resumes the ones
 * clients bring back from it (TLS 1.2 and earlier: session ids).
 *
 * - `newSession` stores the session (its id and DER data) with the TLS
 *   session lifetime as timeout. The handshake does not wait for the store.
 * - `resumeSession` fetches it. A miss, a cache failure or an answer slower
 *   than `lookupTimeoutMs` resumes nothing: the handshake goes on as a full
 *   one.
 * - Node tells no one when the TLS layer drops a session (OpenSSL's remove
 *   callback is not exposed), so sessions leave the cache by their timeout.
 *
 * Session ids serve TLS 1.2 and below. TLS 1.3 resumes with tickets only
 * (its sessions are not stored here; Node still asks for the random
 * legacy id a TLS 1.3 client sends, which is one cache miss); share the
 * ticket keys with {@linkcode shareTicketKeys} for TLS 1.3. Every host
 * must use the same certificate and the same `sessionIdContext` (Node
 * derives a default one from the command line, which may differ between
 * hosts), or OpenSSL refuses the sessions of the others.
 *
 * Only Node's TLS server fires these events: under Bun 1.4 and Deno 2.9
 * they never fire, and this does nothing.
 *
 * @param server A `node:tls` or `node:https` server.
 * @param ctx The cache: a persistent {@linkcode DcCtx}, best to the local
 *   proxy over a UNIX socket (session data are secrets: never over a
 *   plain TCP link to another host).
 * @returns A function that detaches the helper from the server.
 *
 * @example Two hosts resume each other's sessions
 * Needs a key pair and a cache server to reach, so the doc tests do not run
 * it (marked `ignore`); tests/tls/ run the same with real certificates.
 *
 * ```ts ignore
 * import * as https from "node:https";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
 * import { useSessionCache } from "@distcache/distcache/tls";
 *
 * const cache = await DcCtx.create("UNIX:/tmp/scache", DC_CTX_FLAG_PERSISTENT);
 * const server = https.createServer({
 *   key: "...", cert: "...",
 *   sessionIdContext: "my-web-farm", // the same on every host
 * }, (_req, res) => res.end("hello\n"));
 * const detach = useSessionCache(server, cache);
 * // ... later
 * detach();
 * ```
 */
export function useSessionCache(
  server: Server,
  ctx: SessionCacheClient,
  options: SessionCacheOptions = {},
): () => void {
  needMethods(server, "server", ["on", "off"]);
  needMethods(ctx, "ctx", ["addSession", "get"]);
  const serverTimeout = (server as { sessionTimeout?: unknown })
    .sessionTimeout;
  const timeoutMs = intOption(options.timeoutMs, "timeoutMs", {
    min: 1,
    max: MAX_TIMEOUT_MS,
    fallback: typeof serverTimeout === "number" && serverTimeout > 0
      ? Math.min(serverTimeout * 1000, MAX_TIMEOUT_MS)
      : NODE_SESSION_TIMEOUT_S * 1000,
  }, argError);
  const lookupTimeoutMs = intOption(
    options.lookupTimeoutMs,
    "lookupTimeoutMs",
    { min: 1, max: 60_000, fallback: 50 },
    argError,
  );
  const prefix = prefixOption(options.prefix, "");
  const report = options.onError ?? (() => {});
  const key = (id: Uint8Array): Uint8Array => {
    if (prefix.length === 0) return id;
    const out = new Uint8Array(prefix.length + id.length);
    out.set(prefix);
    out.set(id, prefix.length);
    return out;
  };
  const hex = (id: Uint8Array) => Buffer.from(id).toString("hex");

  const onNewSession: NewSession = (id, data, done) => {
    // The handshake waits for done(): never for the cache.
    done();
    if (sessionVersion(data) === TLS1_3_VERSION) return;
    ctx.addSession(key(id), data, timeoutMs).then((stored) => {
      if (!stored) {
        report(
          new DistcacheTlsError(
            "ERR_TLS_CACHE",
            `TLS session ${
              hex(id)
            } not stored: the cache refused it or could not be reached`,
          ),
        );
      }
    }, (err: Error) =>
      report(
        new DistcacheTlsError(
          "ERR_TLS_CACHE",
          `TLS session ${hex(id)} not stored: ${err.message}`,
          { cause: err },
        ),
      ));
  };

  const onResumeSession: ResumeSession = (id, done) => {
    let answered = false;
    const answer = (data: Uint8Array | null) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      done(null, data === null ? null : Buffer.from(data));
    };
    const timer = setTimeout(() => {
      answer(null);
      report(
        new DistcacheTlsError(
          "ERR_TLS_CACHE",
          `TLS session ${
            hex(id)
          }: no answer from the cache within ${lookupTimeoutMs} ms; resuming nothing`,
        ),
      );
    }, lookupTimeoutMs);
    let lookup: Promise<Uint8Array | null>;
    try {
      lookup = ctx.get(key(id));
    } catch (err) {
      lookup = Promise.reject(err);
    }
    lookup.then(answer, (err: Error) => {
      answer(null);
      report(
        new DistcacheTlsError(
          "ERR_TLS_CACHE",
          `TLS session ${hex(id)} not fetched: ${err.message}`,
          { cause: err },
        ),
      );
    });
  };

  server.on("newSession", onNewSession);
  server.on("resumeSession", onResumeSession);
  return () => {
    server.off("newSession", onNewSession);
    server.off("resumeSession", onResumeSession);
  };
}
