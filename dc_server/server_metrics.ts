/**
 * The metrics of a cache server and of any long-running distcache service
 * (its build and uptime), registered on a {@linkcode MetricsRegistry}.
 *
 * @module
 */

import { DcAddErr } from "../dc_enc/mod.ts";
import { detectRuntime, DISTCACHE_VERSION } from "../nal/mod.ts";
import type { MetricSample, MetricsRegistry } from "./metrics.ts";
import type { DcServerStats } from "./stats.ts";

/** What {@linkcode registerServiceMetrics} says of the service. */
export interface ServiceInfo {
  /** What runs: `"server"`, `"proxy"`... */
  role: string;
  /** When it started, in the clock's milliseconds. @default {clock()} */
  startedAt?: number;
  /** Clock in milliseconds. @default {Date.now} */
  clock?: () => number;
}

/**
 * Registers `distcache_build_info` (version, runtime and role as labels,
 * value 1) and `distcache_uptime_seconds`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, registerServiceMetrics } from "@distcache/distcache/dc_server";
 *
 * const registry = new MetricsRegistry();
 * registerServiceMetrics(registry, { role: "server" });
 * assert.match(registry.renderPrometheus(), /^distcache_build_info\{.*role="server".*\} 1$/m);
 * ```
 */
export function registerServiceMetrics(
  registry: MetricsRegistry,
  info: ServiceInfo,
): void {
  const clock = info.clock ?? Date.now;
  const startedAt = info.startedAt ?? clock();
  const labels = {
    version: DISTCACHE_VERSION,
    runtime: detectRuntime(),
    role: info.role,
  };
  registry.gauge(
    "distcache_build_info",
    "The distcache version, runtime and role of this process (always 1).",
    () => [{ labels, value: 1 }],
  );
  registry.gauge(
    "distcache_uptime_seconds",
    "Seconds since the service started.",
    () => Math.max(0, clock() - startedAt) / 1000,
  );
}

/** A server, as far as its metrics go. */
export interface StatsSource {
  /** Its counters now. */
  stats(): DcServerStats;
}

/** Limits reported beside a server's figures. */
export interface ServerLimits {
  /** The session bound (`-sessions`). */
  sessions?: number;
  /** The byte budget (`-maxbytes`), when there is one. */
  maxBytes?: number;
}

// Result label of each ADD error code: DC_ADD_ERR_MATCHING_SESSION is
// "matching_session".
const ADD_RESULTS: [number, string][] = Object.entries(DcAddErr).map((
  [name, code],
) => [code, name.toLowerCase()]);

/**
 * Registers a server's figures: operations by command and result,
 * sessions and bytes stored, evictions, expirations, connections, clients
 * dropped for protocol errors, requests an (asynchronous) store failed,
 * and the limits given. Every metric of one
 * scrape reads the same `stats()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, registerServerMetrics, serve } from "@distcache/distcache/dc_server";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const registry = new MetricsRegistry();
 * registerServerMetrics(registry, server, { sessions: 512 });
 * assert.match(registry.renderPrometheus(), /^distcache_sessions 0$/m);
 * await server.close();
 * ```
 */
export function registerServerMetrics(
  registry: MetricsRegistry,
  server: StatsSource,
  limits: ServerLimits = {},
): void {
  // One reading of the server per scrape, which every metric reads.
  let taken: DcServerStats | null = null;
  registry.beforeCollect(() => taken = server.stats());
  const stats = (): DcServerStats => taken ??= server.stats();
  registry.counter(
    "distcache_operations_total",
    "Requests served, by command and result.",
    () => operations(stats()),
  );
  registry.gauge(
    "distcache_sessions",
    "Live sessions stored.",
    () => stats().items,
  );
  registry.gauge(
    "distcache_stored_bytes",
    "Bytes of session ids and data stored.",
    () => stats().bytes,
  );
  if (limits.sessions !== undefined) {
    const sessions = limits.sessions;
    registry.gauge(
      "distcache_sessions_limit",
      "Most sessions stored (-sessions).",
      () => sessions,
    );
  }
  if (limits.maxBytes !== undefined && Number.isFinite(limits.maxBytes)) {
    const maxBytes = limits.maxBytes;
    registry.gauge(
      "distcache_stored_bytes_limit",
      "Most bytes of ids and data stored (-maxbytes).",
      () => maxBytes,
    );
  }
  registry.counter(
    "distcache_evictions_total",
    "Sessions evicted before their time to make room.",
    () => stats().evictions,
  );
  registry.counter(
    "distcache_expirations_total",
    "Sessions dropped because their time was up.",
    () => stats().expirations,
  );
  registry.gauge(
    "distcache_connections",
    "Clients connected now.",
    () => stats().connections,
  );
  registry.counter(
    "distcache_connections_total",
    "Clients accepted since start.",
    () => stats().connectionsTotal,
  );
  registry.counter(
    "distcache_connections_refused_total",
    "Connections refused at accept, by reason (maxconns: over -maxconns; allow: a peer outside -allow).",
    () => [{
      labels: { reason: "maxconns" },
      value: stats().connectionsRefused,
    }, {
      labels: { reason: "allow" },
      value: stats().connectionsDenied,
    }],
  );
  registry.counter(
    "distcache_idle_closed_total",
    "Clients dropped for sending nothing for -idle-timeout.",
    () => stats().idleClosed,
  );
  registry.counter(
    "distcache_protocol_errors_total",
    "Clients dropped for breaking the protocol.",
    () => stats().protocolErrors,
  );
  registry.counter(
    "distcache_store_errors_total",
    "Requests answered 2 (disconnected) because the store failed them.",
    () => stats().storeErrors,
  );
}

function operations(s: DcServerStats): MetricSample[] {
  const out: MetricSample[] = [
    { labels: { command: "add", result: "ok" }, value: s.stored },
  ];
  for (const [code, result] of ADD_RESULTS) {
    out.push({
      labels: { command: "add", result },
      value: s.addErrorsByCode[code] ?? 0,
    });
  }
  out.push(
    { labels: { command: "get", result: "hit" }, value: s.hits },
    { labels: { command: "get", result: "miss" }, value: s.misses },
    { labels: { command: "remove", result: "ok" }, value: s.removed },
    {
      labels: { command: "remove", result: "not_found" },
      value: s.removeMisses,
    },
    { labels: { command: "have", result: "hit" }, value: s.haveHits },
    { labels: { command: "have", result: "miss" }, value: s.haveMisses },
  );
  return out;
}
