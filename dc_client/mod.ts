/**
 * The client API of distcache (`DC_CTX`): add, get, remove and test
 * sessions in the distributed cache, through a local proxy or a server.
 *
 * @example A Deno or Bun app caching a login session
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_FLAG_PERSISTENT, DC_CTX_FLAG_PERSISTENT_RETRY, DcCtx } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * // An app talks to its host's proxy ("UNIX:/tmp/scache"); here, a server.
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const cache = await DcCtx.create(
 *   server.addr,
 *   DC_CTX_FLAG_PERSISTENT | DC_CTX_FLAG_PERSISTENT_RETRY,
 * );
 * await cache.addSession("sid:1f2e3d", JSON.stringify({ user: 42 }), 30 * 60_000);
 * const raw = await cache.get("sid:1f2e3d");
 * assert.deepEqual(raw && JSON.parse(new TextDecoder().decode(raw)), { user: 42 });
 * cache.close();
 * await server.close();
 * ```
 *
 * @module
 */

export {
  DC_CTX_DEFAULT_MAX_IN_FLIGHT,
  DC_CTX_DEFAULT_TIMEOUT_MS,
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_LATE,
  DC_CTX_FLAG_PERSISTENT_PIDCHECK,
  DC_CTX_FLAG_PERSISTENT_RETRY,
  DC_CTX_MIN_DATA_LEN,
  type DcBytes,
  DcCtx,
  type DcCtxOptions,
} from "./ctx.ts";
export { DcArgumentError, DcConnectError } from "./errors.ts";
export {
  DC_PROXY_CLIENT_BYTES,
  DcProxy,
  type DcProxyClient,
  type DcProxyOptions,
  type DcProxyStats,
} from "./proxy.ts";
export {
  DC_LINK_DEFAULT_PIPELINE,
  DC_LINK_DEFAULT_RETRY_MS,
  DC_LINK_DEFAULT_TIMEOUT_MS,
  DC_LINK_PIPELINE_BYTES,
  DcServerLink,
  type DcServerLinkOptions,
} from "./server_link.ts";
export {
  DC_PROXY_DEFAULT_ADDRESS,
  type DcProxyHandle,
  startProxy,
  type StartProxyOptions,
} from "./start_proxy.ts";
export {
  type DcProxyUpstream,
  DcUpstreamBackEvent,
  type DcUpstreamEventMap,
  DcUpstreamLostEvent,
  DcUpstreamRetryEvent,
  type DcUpstreamSink,
  type DcUpstreamStats,
  type DcUpstreamTicket,
} from "./upstream.ts";
