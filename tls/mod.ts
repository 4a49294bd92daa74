/**
 * TLS session resumption across a web farm, for `node:tls` and
 * `node:https` servers: {@linkcode useSessionCache} shares TLS 1.2
 * sessions (by session id) through the cache, {@linkcode shareTicketKeys}
 * shares the keys that encrypt session tickets (TLS 1.3 and 1.2), so that
 * a client resumes on whichever host the load balancer picks.
 *
 * What works where: Node fires the session events and honours ticket
 * keys; under Bun 1.4 and Deno 2.9 the session events never fire, Bun has
 * no `setTicketKeys`, and Deno ignores the keys it is given.
 *
 * @example Both helpers on one server
 * Needs a key pair and a cache server to reach, so the doc tests do not run
 * it (marked `ignore`); tests/tls/ run the same with real certificates.
 *
 * ```ts ignore
 * import * as https from "node:https";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
 * import { shareTicketKeys, useSessionCache } from "@distcache/distcache/tls";
 *
 * const cache = await DcCtx.create("UNIX:/tmp/scache", DC_CTX_FLAG_PERSISTENT);
 * const server = https.createServer({
 *   key: "...", cert: "...", sessionIdContext: "my-web-farm",
 * }, (_req, res) => res.end("hello\n"));
 * const detach = useSessionCache(server, cache);
 * const keys = await shareTicketKeys(server, cache);
 * server.on("close", () => {
 *   detach();
 *   keys.close();
 * });
 * ```
 *
 * @module
 */

export { DistcacheTlsError } from "./errors.ts";
export {
  type SessionCacheClient,
  type SessionCacheOptions,
  useSessionCache,
} from "./session_cache.ts";
export {
  shareTicketKeys,
  type TicketKeyClient,
  type TicketKeyHandle,
  type TicketKeyOptions,
} from "./ticket_keys.ts";
