/**
 * Store URLs: where a Redis store connects, and how.
 *
 * @module
 */

import { DistcacheError } from "../nal/mod.ts";

/**
 * Port a store URL's host gets when it names none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl, REDIS_DEFAULT_PORT } from "@distcache/distcache/dc_store_redis";
 *
 * assert.equal(parseRedisUrl("redis://cache.internal").nodes[0].port, REDIS_DEFAULT_PORT);
 * ```
 */
export const REDIS_DEFAULT_PORT = 6379;

/**
 * A store URL that cannot be used (code `ERR_STORE_URL`). Its message
 * names the bad part and what is valid; a password in the URL is never
 * repeated in it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl, RedisUrlError } from "@distcache/distcache/dc_store_redis";
 *
 * assert.throws(() => parseRedisUrl("memcached://127.0.0.1:11211"), RedisUrlError);
 * ```
 */
export class RedisUrlError extends DistcacheError {
  /**
   * Makes a URL error.
   *
   * @param message The bad part of the URL and what would be valid.
   */
  constructor(message: string) {
    super("ERR_STORE_URL", message);
  }
}

/** One Redis node: a host (name or IP address) and a port. */
export interface RedisNode {
  /** Host name or IP address (an IPv6 address without brackets). */
  host: string;
  /** TCP port. */
  port: number;
}

/**
 * What a store URL says: the kind of deployment, its nodes, credentials
 * and options.
 */
export interface RedisTarget {
  /**
   * `standalone` (one server, `redis://`), `cluster` (`redis+cluster://`:
   * the nodes are seeds, the client finds the others) or `sentinel`
   * (`redis+sentinel://`: the nodes are sentinels watching `masterName`).
   */
  kind: "standalone" | "cluster" | "sentinel";
  /** TLS (`rediss://`, `rediss+cluster://`, `rediss+sentinel://`). */
  tls: boolean;
  /** The server, the Cluster's seed nodes, or the sentinels. */
  nodes: RedisNode[];
  /** ACL user name, when the URL names one. */
  username?: string;
  /** Password, when the URL holds one. */
  password?: string;
  /** Database number (standalone and sentinel only). @default {0} */
  db: number;
  /** The master set the sentinels watch (sentinel only). */
  masterName?: string;
  /** `?prefix=`: the key prefix. */
  prefix?: string;
  /** `?connectTimeout=`: milliseconds a connection attempt may take. */
  connectTimeoutMs?: number;
  /** `?commandTimeout=`: milliseconds a command may take. */
  commandTimeoutMs?: number;
}

const SCHEMES: Record<string, { kind: RedisTarget["kind"]; tls: boolean }> = {
  "redis": { kind: "standalone", tls: false },
  "rediss": { kind: "standalone", tls: true },
  "redis+cluster": { kind: "cluster", tls: false },
  "rediss+cluster": { kind: "cluster", tls: true },
  "redis+sentinel": { kind: "sentinel", tls: false },
  "rediss+sentinel": { kind: "sentinel", tls: true },
};

const OPTIONS = ["prefix", "connectTimeout", "commandTimeout"];

/**
 * Parses a store URL:
 *
 * - `redis://[user[:password]@]host[:port][/db]` (and `rediss://` for TLS);
 * - `redis+cluster://[user[:password]@]host:port,host:port,...` (seed
 *   nodes of a Cluster; `rediss+cluster://` for TLS);
 * - `redis+sentinel://[user[:password]@]host:port,.../masterName[/db]`
 *   (sentinels and the master set they watch).
 *
 * Any of them may end in `?prefix=dc:&connectTimeout=2000&commandTimeout=1000`.
 * A host may be an IPv6 address in brackets (`[::1]:6379`); the port
 * defaults to 6379; user, password and prefix are percent-decoded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseRedisUrl } from "@distcache/distcache/dc_store_redis";
 *
 * const t = parseRedisUrl("redis+cluster://10.0.0.1:7000,10.0.0.2:7000?prefix=app1:");
 * assert.equal(t.kind, "cluster");
 * assert.deepEqual(t.nodes[1], { host: "10.0.0.2", port: 7000 });
 * assert.equal(t.prefix, "app1:");
 * ```
 *
 * @param url The URL.
 * @returns What it says.
 * @throws {RedisUrlError} for an unknown scheme, a bad host, port,
 *   database or option.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (typeof url !== "string") {
    throw new RedisUrlError(
      `invalid store URL ${String(url)}: must be a string`,
    );
  }
  const shown = redactUrl(url);
  const bad = (why: string) =>
    new RedisUrlError(`invalid store URL "${shown}": ${why}`);
  const sep = url.indexOf("://");
  const scheme = sep < 0 ? "" : url.slice(0, sep).toLowerCase();
  const known = SCHEMES[scheme];
  if (known === undefined) {
    throw bad(`the scheme must be one of ${Object.keys(SCHEMES).join(", ")}`);
  }
  let rest = url.slice(sep + 3);
  const target: RedisTarget = { ...known, nodes: [], db: 0 };

  const q = rest.indexOf("?");
  if (q >= 0) {
    parseOptions(rest.slice(q + 1), target, bad);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? [] : rest.slice(slash + 1).split("/");
  if (path.at(-1) === "") path.pop();

  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const info = authority.slice(0, at);
    const colon = info.indexOf(":");
    const user = decode(colon < 0 ? info : info.slice(0, colon), bad);
    if (user !== "") target.username = user;
    if (colon >= 0) target.password = decode(info.slice(colon + 1), bad);
  }
  const hosts = authority.slice(at + 1);
  if (hosts === "") throw bad("it names no host");
  target.nodes = hosts.split(",").map((h) => parseNode(h, bad));
  if (known.kind === "standalone" && target.nodes.length > 1) {
    throw bad(
      "redis:// names one server; use redis+cluster:// for the nodes of a Cluster",
    );
  }

  if (known.kind === "sentinel") {
    const name = path.shift();
    if (name === undefined || name === "") {
      throw bad("a sentinel URL must name the master set: .../<masterName>");
    }
    target.masterName = decode(name, bad);
  }
  if (path.length > 0) {
    if (known.kind === "cluster") {
      throw bad("a Cluster has only database 0: remove the /<db> path");
    }
    if (path.length > 1 || !/^\d{1,5}$/.test(path[0])) {
      throw bad(`the database must be a number, not "/${path.join("/")}"`);
    }
    target.db = Number(path[0]);
  }
  return target;
}

/**
 * The URL with its password replaced by `***`, for messages and logs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "@distcache/distcache/dc_store_redis";
 *
 * assert.equal(redactUrl("redis://app:s3cret@10.0.0.5:6379"), "redis://app:***@10.0.0.5:6379");
 * ```
 *
 * @param url A store URL (or anything: what is not one is returned as is).
 * @returns The URL without its password.
 */
export function redactUrl(url: string): string {
  return url.replace(/^([^:/?]+:\/\/[^:@/?]*):[^/?]*@/, "$1:***@");
}

function parseNode(text: string, bad: (why: string) => Error): RedisNode {
  let host: string;
  let port: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) throw bad(`unclosed "[" in host "${text}"`);
    host = text.slice(1, end);
    const after = text.slice(end + 1);
    if (after !== "" && !after.startsWith(":")) {
      throw bad(`junk after the IPv6 address in "${text}"`);
    }
    port = after === "" ? undefined : after.slice(1);
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    port = colon < 0 ? undefined : text.slice(colon + 1);
  }
  if (host === "" || /[\s@/?#]/.test(host)) {
    throw bad(`bad host "${host}" in "${text}"`);
  }
  if (port === undefined) return { host, port: REDIS_DEFAULT_PORT };
  const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(n >= 1 && n <= 65535)) {
    throw bad(`bad port "${port}" in "${text}": must be 1..65535`);
  }
  return { host, port: n };
}

function parseOptions(
  query: string,
  target: RedisTarget,
  bad: (why: string) => Error,
): void {
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = decode(eq < 0 ? "" : pair.slice(eq + 1), bad);
    if (name === "prefix") {
      target.prefix = value;
    } else if (name === "connectTimeout" || name === "commandTimeout") {
      const ms = /^\d{1,9}$/.test(value) ? Number(value) : NaN;
      if (!(ms >= 1)) {
        throw bad(
          `${name} must be a number of milliseconds >= 1, not "${value}"`,
        );
      }
      if (name === "connectTimeout") target.connectTimeoutMs = ms;
      else target.commandTimeoutMs = ms;
    } else {
      throw bad(`unknown option "${name}" (known: ${OPTIONS.join(", ")})`);
    }
  }
}

function decode(text: string, bad: (why: string) => Error): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw bad("bad percent-encoding");
  }
}
