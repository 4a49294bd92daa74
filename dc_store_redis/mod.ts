/**
 * A session store on Redis or Valkey, for a cache server (or a proxy) whose
 * sessions must outlive it: several servers on several hosts share one
 * Redis (standalone, Cluster, or behind Sentinel), so any of them can die
 * without losing a session.
 *
 * This entry point is apart from `dc_server` so that the rest of the
 * library keeps no runtime dependency: the Redis client (ioredis) is
 * imported only when a {@linkcode RedisCache} is made.
 *
 * @example A server on Redis (needs a Redis on 127.0.0.1:6379)
 * ```ts ignore
 * import { serve } from "@distcache/distcache/dc_server";
 * import { redisCache } from "@distcache/distcache/dc_store_redis";
 *
 * const server = await serve({
 *   listen: "IP:0.0.0.0:9001",
 *   cache: redisCache("redis://127.0.0.1:6379"),
 * });
 * await server.close();
 * ```
 *
 * @module
 */

export {
  REDIS_DEFAULT_COMMAND_TIMEOUT_MS,
  REDIS_DEFAULT_CONNECT_TIMEOUT_MS,
  REDIS_DEFAULT_PREFIX,
  RedisCache,
  redisCache,
  type RedisCacheOptions,
  type RedisCacheStats,
  type RedisStatus,
  type RedisTlsOptions,
} from "./cache.ts";
export {
  parseRedisUrl,
  redactUrl,
  REDIS_DEFAULT_PORT,
  type RedisNode,
  type RedisTarget,
  RedisUrlError,
} from "./url.ts";
