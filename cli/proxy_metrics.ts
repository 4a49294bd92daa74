/**
 * The metrics of `distcache client` (the local proxy): its link to the
 * server (up, reconnects, requests answered `2`), its queue, and its local
 * clients under the names the server uses for its own.
 *
 * @module
 */

import type { DcProxyStats } from "@distcache/distcache/dc_client";
import type { MetricsRegistry } from "@distcache/distcache/dc_server";

/** A proxy, as far as its metrics go. */
export interface ProxyStatsSource {
  /** Its counters now. */
  stats(): DcProxyStats;
  /** Connections refused at accept over `-maxconns`. */
  connectionsRefused(): number;
  /** Connections refused at accept because the peer is outside `-allow`. */
  connectionsDenied(): number;
}

/**
 * Registers a proxy's figures on `registry`; every metric of one scrape
 * reads the same `stats()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startProxy } from "@distcache/distcache/dc_client";
 * import { MetricsRegistry, serve } from "@distcache/distcache/dc_server";
 * import { registerProxyMetrics } from "./proxy_metrics.ts";
 *
 * await using server = await serve({ listen: "IP:127.0.0.1:0" });
 * await using proxy = await startProxy({ listen: "IP:127.0.0.1:0", server: server.addr });
 * const registry = new MetricsRegistry();
 * registerProxyMetrics(registry, proxy);
 * assert.match(registry.renderPrometheus(), /^distcache_proxy_queue_depth 0$/m);
 * ```
 */
export function registerProxyMetrics(
  registry: MetricsRegistry,
  proxy: ProxyStatsSource,
): void {
  let taken: DcProxyStats | null = null;
  registry.beforeCollect(() => taken = proxy.stats());
  const stats = (): DcProxyStats => taken ??= proxy.stats();
  registry.gauge(
    "distcache_server_up",
    "Whether the link to the cache server is up and answering (1) or not (0).",
    () => stats().upstream.established ? 1 : 0,
  );
  registry.counter(
    "distcache_proxy_reconnects_total",
    "Times the link to the server came back after being lost.",
    () => stats().upstream.reconnects,
  );
  registry.counter(
    "distcache_proxy_link_lost_total",
    "Times the link to the server was lost, by cause (timeout: no answer within -timeout).",
    () => {
      const u = stats().upstream;
      return [
        { labels: { cause: "timeout" }, value: u.timeouts },
        { labels: { cause: "closed" }, value: u.lost - u.timeouts },
      ];
    },
  );
  registry.counter(
    "distcache_proxy_connect_attempts_total",
    "Attempts to connect to the server, the first one included.",
    () => stats().upstream.attempts,
  );
  registry.counter(
    "distcache_proxy_requests_total",
    "Requests read from local clients, by what became of them: forwarded to the server, answered 2 (disconnected: server down or lost with them in flight), refused by the proxy as the server would.",
    () => {
      const s = stats();
      return [
        { labels: { result: "forwarded" }, value: s.forwarded },
        { labels: { result: "disconnected" }, value: s.disconnected },
        { labels: { result: "refused" }, value: s.refused },
      ];
    },
  );
  registry.gauge(
    "distcache_proxy_in_flight",
    "Requests sent to the server and not answered yet.",
    () => stats().upstream.inFlight,
  );
  registry.gauge(
    "distcache_proxy_queue_depth",
    "Local clients waiting for room toward the server.",
    () => stats().waiting,
  );
  registry.gauge(
    "distcache_proxy_held_bytes",
    "Bytes of answers held for local clients that have not read them.",
    () => stats().heldBytes,
  );
  registry.gauge(
    "distcache_connections",
    "Local clients connected now.",
    () => stats().clients,
  );
  registry.counter(
    "distcache_connections_total",
    "Local clients accepted since start.",
    () => stats().clientsTotal,
  );
  registry.counter(
    "distcache_connections_refused_total",
    "Local connections refused at accept, by reason (maxconns: over -maxconns; allow: a peer outside -allow).",
    () => [{
      labels: { reason: "maxconns" },
      value: proxy.connectionsRefused(),
    }, {
      labels: { reason: "allow" },
      value: proxy.connectionsDenied(),
    }],
  );
  registry.counter(
    "distcache_idle_closed_total",
    "Local clients dropped for sending nothing for -idle.",
    () => stats().idleDrops,
  );
  registry.counter(
    "distcache_protocol_errors_total",
    "Local clients dropped for breaking the protocol.",
    () => stats().protocolErrors,
  );
}
