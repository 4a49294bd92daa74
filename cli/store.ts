/**
 * `-store <url>` and its flags: sessions kept in Redis rather than in the
 * process, for `distcache server` (and later the proxy).
 *
 * @module
 */

import * as fs from "node:fs";
import process from "node:process";
import type { DcCache } from "@distcache/distcache/dc_server";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";

/** Environment variable holding the store's password (kept off `ps`). */
export const STORE_PASSWORD_ENV = "DISTCACHE_STORE_PASSWORD";

/** Flags of a Redis store. */
export const STORE_FLAGS: FlagSpec[] = [
  {
    name: "store",
    kind: "string",
    arg: "<url>",
    help:
      "keep sessions in Redis: redis://[user[:pass]@]host:port[/db], rediss:// (TLS), redis+cluster://h1:p1,h2:p2, redis+sentinel://h1:p1/master",
  },
  {
    name: "store-prefix",
    kind: "string",
    arg: "<text>",
    help: "key prefix in Redis (default dc:)",
  },
  {
    name: "store-connect-timeout",
    kind: "int",
    arg: "<ms>",
    min: 1,
    help: "milliseconds a connection to Redis may take (default 2000)",
  },
  {
    name: "store-timeout",
    kind: "int",
    arg: "<ms>",
    min: 1,
    help:
      "milliseconds a Redis command may take before the request fails (default 1000)",
  },
  {
    name: "store-ca",
    kind: "string",
    arg: "<file>",
    help:
      "PEM file of the CA certificates to trust for rediss:// (default: the system's)",
  },
];

/**
 * Makes the store `-store` asks for, or returns null without `-store`. The
 * password comes from the URL or `DISTCACHE_STORE_PASSWORD`. The Redis
 * client library is loaded only here, only with `-store`.
 *
 * @param flags Parsed flags.
 * @param log Where the store's status lines go (unreachable, back).
 * @throws {UsageError} for a bad URL, a store flag without `-store`, or a
 *   CA file that cannot be read.
 */
export async function openStore(
  flags: FlagValues,
  log: (line: string) => void,
): Promise<{ cache: DcCache; address: string } | null> {
  const url = flags.store as string | undefined;
  if (url === undefined) {
    const stray = STORE_FLAGS.find((f) => flags[f.name] !== undefined);
    if (stray !== undefined) {
      throw new UsageError(`flag -${stray.name} needs -store <url>`);
    }
    return null;
  }
  const { RedisCache, RedisUrlError } = await import(
    "@distcache/distcache/dc_store_redis"
  );
  const caFile = flags["store-ca"] as string | undefined;
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = fs.readFileSync(caFile, "utf8");
    } catch (err) {
      throw new UsageError(
        `flag -store-ca: cannot read "${caFile}": ${(err as Error).message}`,
      );
    }
  }
  try {
    const cache = new RedisCache({
      url,
      prefix: flags["store-prefix"] as string | undefined,
      connectTimeoutMs: flags["store-connect-timeout"] as number | undefined,
      commandTimeoutMs: flags["store-timeout"] as number | undefined,
      password: process.env[STORE_PASSWORD_ENV] || undefined,
      tls: ca === undefined ? undefined : { ca },
      onStatus: (status) => log(status.message),
    });
    return { cache, address: cache.address };
  } catch (err) {
    if (err instanceof RedisUrlError) {
      throw new UsageError(`flag -store: ${err.message}`);
    }
    throw err;
  }
}
