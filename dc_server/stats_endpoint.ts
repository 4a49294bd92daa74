/**
 * The HTTP monitoring endpoint of a service (`-stats ADDR`): `/metrics` in
 * the Prometheus text format, `/stats` as JSON, both read from one
 * {@linkcode MetricsRegistry}.
 *
 * @module
 */

import {
  type HttpAdapter,
  type HttpReply,
  type HttpRequestHead,
  NalHttpServer,
} from "../nal/mod.ts";
import type { MetricFamily, MetricsRegistry } from "./metrics.ts";

/** The JSON `/stats` answers: every metric by name. */
export interface StatsDocument {
  /** Each metric: its type, help and series. */
  metrics: Record<string, MetricFamily>;
}

/** Content type of `/metrics`: the Prometheus text format, version 0.0.4. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

const TEXT = "text/plain; charset=utf-8";
const INDEX = "distcache: /metrics (Prometheus text format), /stats (JSON)\n";

/**
 * Answers one request to the endpoint: GET (or HEAD) of `/metrics`,
 * `/stats` or `/`; 404 for other paths, 405 for other methods.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, statsReply } from "@distcache/distcache/dc_server";
 *
 * const registry = new MetricsRegistry();
 * registry.gauge("app_items", "Items.", () => 2);
 * const reply = statsReply(registry, { method: "GET", path: "/stats" });
 * assert.equal(JSON.parse(reply.body).metrics.app_items.samples[0].value, 2);
 * ```
 */
export function statsReply(
  registry: MetricsRegistry,
  request: HttpRequestHead,
): HttpReply {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return {
      status: 405,
      contentType: TEXT,
      body: "only GET and HEAD\n",
      headers: { allow: "GET, HEAD" },
    };
  }
  switch (request.path) {
    case "/metrics":
      return {
        status: 200,
        contentType: PROMETHEUS_CONTENT_TYPE,
        body: registry.renderPrometheus(),
      };
    case "/stats": {
      const doc: StatsDocument = { metrics: registry.collect() };
      return {
        status: 200,
        contentType: "application/json",
        body: JSON.stringify(doc) + "\n",
      };
    }
    case "/":
      return { status: 200, contentType: TEXT, body: INDEX };
    default:
      return {
        status: 404,
        contentType: TEXT,
        body: `no ${request.path}\n${INDEX}`,
      };
  }
}

/** Options for {@linkcode serveStats}. */
export interface ServeStatsOptions {
  /** The runtime's HTTP implementation. @default {defaultHttpAdapter()} */
  adapter?: HttpAdapter;
}

/**
 * Serves `registry` over HTTP on `listen` (libnal syntax, TCP or UNIX).
 * It shows counts, never session ids or data; still, bind it to loopback
 * or a private interface.
 *
 * @example Serve a server's metrics on a loopback port
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, registerServerMetrics, serve, serveStats } from "@distcache/distcache/dc_server";
 * import { nalHttpGet } from "@distcache/distcache/nal";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const registry = new MetricsRegistry();
 * registerServerMetrics(registry, server);
 * const http = await serveStats("IP:127.0.0.1:0", registry);
 * const scrape = await nalHttpGet(http.addr, "/metrics");
 * assert.match(scrape.body, /^distcache_sessions 0$/m);
 * await http.close();
 * await server.close();
 * ```
 *
 * @throws {NalAddressError} for a bad address.
 * @throws {NalSocketError} when it cannot listen.
 */
export function serveStats(
  listen: string,
  registry: MetricsRegistry,
  options: ServeStatsOptions = {},
): Promise<NalHttpServer> {
  return NalHttpServer.listen(
    listen,
    (request) => statsReply(registry, request),
    { adapter: options.adapter },
  );
}
