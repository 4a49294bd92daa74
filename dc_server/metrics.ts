/**
 * A registry of metrics read when scraped, rendered in the Prometheus text
 * exposition format (version 0.0.4) and as JSON: what the `-stats`
 * endpoints of the server and the proxy serve. Each metric is a callback
 * that reads a figure its owner already keeps, so registering costs the
 * owner nothing per request.
 *
 * @module
 */

import { DistcacheError } from "../nal/mod.ts";

/** Counter (only grows, reset by a restart) or gauge (goes up and down). */
export type MetricType = "counter" | "gauge";

/** Label names to values, e.g. `{ command: "get", result: "hit" }`. */
export type MetricLabels = Readonly<Record<string, string>>;

/** One series of a metric: its labels and its value now. */
export interface MetricSample {
  /** The series' labels (`{}` for a metric without labels). */
  readonly labels: MetricLabels;
  /** The value. */
  readonly value: number;
}

/** What a metric is, and how to read it. */
export interface MetricDefinition {
  /** Name, e.g. `distcache_sessions` (`[a-zA-Z_:][a-zA-Z0-9_:]*`). */
  readonly name: string;
  /** Counter or gauge. */
  readonly type: MetricType;
  /** One line saying what it counts. */
  readonly help: string;
  /** Reads the value now: a number, or one sample per series. */
  readonly collect: () => number | readonly MetricSample[];
}

/** A metric as read at one moment: the shape of `/stats`'s entries. */
export interface MetricFamily {
  /** Counter or gauge. */
  readonly type: MetricType;
  /** What it counts. */
  readonly help: string;
  /** Its series. */
  readonly samples: readonly MetricSample[];
}

/**
 * A metric that cannot be registered or read (code `ERR_METRIC`): a bad
 * name or label, a name registered twice, two series with the same labels.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcMetricError, MetricsRegistry } from "@distcache/distcache/dc_server";
 *
 * const registry = new MetricsRegistry();
 * assert.throws(() => registry.gauge("bad-name", "no dashes", () => 1), DcMetricError);
 * ```
 */
export class DcMetricError extends DistcacheError {
  /**
   * Makes a metric error.
   *
   * @param message The metric and what is wrong.
   */
  constructor(message: string) {
    super("ERR_METRIC", message);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Metrics by name, in registration order.
 *
 * @example Register, then render
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry } from "@distcache/distcache/dc_server";
 *
 * let hits = 0;
 * const registry = new MetricsRegistry();
 * registry.counter("app_hits_total", "Hits.", () => hits);
 * hits = 3;
 * assert.equal(
 *   registry.renderPrometheus(),
 *   "# HELP app_hits_total Hits.\n# TYPE app_hits_total counter\napp_hits_total 3\n",
 * );
 * ```
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, MetricDefinition>();
  readonly #before: (() => void)[] = [];

  /**
   * Calls `hook` at the start of every reading, before any metric is
   * collected: where an owner takes the one snapshot its metrics read.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MetricsRegistry } from "@distcache/distcache/dc_server";
   *
   * let reads = 0;
   * let snapshot = { a: 0, b: 0 };
   * const registry = new MetricsRegistry();
   * registry.beforeCollect(() => snapshot = { a: ++reads, b: reads });
   * registry.gauge("a", "A.", () => snapshot.a);
   * registry.gauge("b", "B.", () => snapshot.b);
   * registry.collect();
   * assert.equal(reads, 1);
   * ```
   */
  beforeCollect(hook: () => void): void {
    this.#before.push(hook);
  }

  /**
   * Adds a metric.
   *
   * @throws {DcMetricError} for a bad name or one already registered.
   */
  register(definition: MetricDefinition): void {
    const { name } = definition;
    if (!METRIC_NAME.test(name)) {
      throw new DcMetricError(
        `invalid metric name "${name}": must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
      );
    }
    if (this.#metrics.has(name)) {
      throw new DcMetricError(`metric "${name}" is already registered`);
    }
    this.#metrics.set(name, definition);
  }

  /**
   * Adds a counter.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MetricsRegistry } from "@distcache/distcache/dc_server";
   *
   * const registry = new MetricsRegistry();
   * registry.counter("app_requests_total", "Requests.", () => 7);
   * assert.match(registry.renderPrometheus(), /^# TYPE app_requests_total counter\napp_requests_total 7$/m);
   * ```
   */
  counter(
    name: string,
    help: string,
    collect: MetricDefinition["collect"],
  ): void {
    this.register({ name, type: "counter", help, collect });
  }

  /**
   * Adds a gauge.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MetricsRegistry } from "@distcache/distcache/dc_server";
   *
   * const registry = new MetricsRegistry();
   * registry.gauge("app_queue_depth", "Requests waiting.", () => 2);
   * assert.match(registry.renderPrometheus(), /^# TYPE app_queue_depth gauge\napp_queue_depth 2$/m);
   * ```
   */
  gauge(
    name: string,
    help: string,
    collect: MetricDefinition["collect"],
  ): void {
    this.register({ name, type: "gauge", help, collect });
  }

  /**
   * Reads every metric now.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MetricsRegistry } from "@distcache/distcache/dc_server";
   *
   * const registry = new MetricsRegistry();
   * registry.gauge("app_items", "Items.", () => 7);
   * assert.deepEqual(registry.collect().app_items.samples, [{ labels: {}, value: 7 }]);
   * ```
   *
   * @throws {DcMetricError} when a metric gives a bad label name or two
   *   series with the same labels.
   */
  collect(): Record<string, MetricFamily> {
    for (const hook of this.#before) hook();
    const out: Record<string, MetricFamily> = {};
    for (const [name, def] of this.#metrics) {
      const read = def.collect();
      const samples = typeof read === "number"
        ? [{ labels: {}, value: read }]
        : read;
      checkSeries(name, samples);
      out[name] = { type: def.type, help: def.help, samples };
    }
    return out;
  }

  /**
   * Every metric in the Prometheus text exposition format (0.0.4): for
   * each, its `# HELP` and `# TYPE` lines, then one line per series.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { MetricsRegistry } from "@distcache/distcache/dc_server";
   *
   * const registry = new MetricsRegistry();
   * registry.counter("app_ops_total", "Operations.", () => [
   *   { labels: { result: "ok" }, value: 2 },
   * ]);
   * assert.match(registry.renderPrometheus(), /^app_ops_total\{result="ok"\} 2$/m);
   * ```
   */
  renderPrometheus(): string {
    let text = "";
    for (const [name, family] of Object.entries(this.collect())) {
      text += `# HELP ${name} ${escapeHelp(family.help)}\n`;
      text += `# TYPE ${name} ${family.type}\n`;
      for (const sample of family.samples) {
        text += `${name}${renderLabels(sample.labels)} ${
          renderValue(sample.value)
        }\n`;
      }
    }
    return text;
  }
}

function checkSeries(name: string, samples: readonly MetricSample[]): void {
  const seen = new Set<string>();
  for (const sample of samples) {
    for (const label of Object.keys(sample.labels)) {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new DcMetricError(
          `metric "${name}": invalid label name "${label}"`,
        );
      }
    }
    const key = renderLabels(sample.labels);
    if (seen.has(key)) {
      throw new DcMetricError(`metric "${name}": two series ${key || "{}"}`);
    }
    seen.add(key);
  }
}

function renderLabels(labels: MetricLabels): string {
  const names = Object.keys(labels).sort();
  if (names.length === 0) return "";
  return `{${names.map((n) => `${n}="${escapeLabel(labels[n])}"`).join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(
    /"/g,
    '\\"',
  );
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function renderValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
