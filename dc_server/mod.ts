/**
 * libdistcacheserver: the cache server framework (`DcServer`), the cache
 * interface and its default store, and `serve()`, a whole server in one call.
 *
 * @example Start a server, stop it
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCtx } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0", sessions: 10_000 });
 * assert.match(server.addr, /^IP:127\.0\.0\.1:\d+$/); // the port the system chose
 * const ctx = await DcCtx.create(server.addr);
 * assert.equal(await ctx.addSession("id", "session data", 60_000), true);
 * assert.equal(server.stats().items, 1);
 * ctx.close();
 * await server.close();
 * ```
 *
 * @module
 */

export type {
  DcCache,
  DcCacheFactory,
  DcCacheOptions,
  DcCacheStats,
  DcSessionVisitor,
  MaybePromise,
} from "./cache.ts";
export {
  createDefaultCache,
  DcCacheRangeError,
  DefaultCache,
  MAX_SESSIONS,
  MIN_MAX_BYTES,
  MIN_SESSIONS,
} from "./cache_default.ts";
export { DcOptionError } from "./errors.ts";
export {
  DcMetricError,
  type MetricDefinition,
  type MetricFamily,
  type MetricLabels,
  type MetricSample,
  MetricsRegistry,
  type MetricType,
} from "./metrics.ts";
export {
  type ClientWhere,
  DEFAULT_SERVER_ADDRESS,
  DEFAULT_SESSIONS,
  serve,
  type ServeOptions,
  type Server,
} from "./serve.ts";
export {
  DC_CLIENT_FLAG_IN_SERVER,
  DC_CLIENT_FLAG_NOFREE_CONN,
  DC_MAX_EXPIRY_MS,
  DcServer,
  DcServerClient,
  type DcServerOptions,
} from "./server.ts";
export {
  registerServerMetrics,
  registerServiceMetrics,
  type ServerLimits,
  type ServiceInfo,
  type StatsSource,
} from "./server_metrics.ts";
export {
  loadSnapshot,
  readSnapshotKey,
  type SnapshotEvent,
  type SnapshotOptions,
  Snapshotter,
  writeSnapshot,
} from "./snapshot.ts";
export {
  DcSnapshotError,
  type OpenedSnapshot,
  openSnapshot,
  sealSnapshot,
  SNAPSHOT_HEADER_BYTES,
  SNAPSHOT_KEY_BYTES,
  SNAPSHOT_VERSION,
  SnapshotPacker,
  type SnapshotSession,
  type SnapshotSource,
} from "./snapshot_format.ts";
export type { DcServerStats } from "./stats.ts";
export {
  PROMETHEUS_CONTENT_TYPE,
  serveStats,
  type ServeStatsOptions,
  type StatsDocument,
  statsReply,
} from "./stats_endpoint.ts";
