/**
 * `distcache stats ADDR`: a running server's or proxy's figures, read from
 * its `-stats` endpoint (`/stats`), as a table or (`--json`) as served.
 *
 * @module
 */

import type {
  MetricFamily,
  StatsDocument,
} from "@distcache/distcache/dc_server";
import { DistcacheError, nalHttpGet } from "@distcache/distcache/nal";
import { type FlagSpec, parseFlags, usage, UsageError } from "./flags.ts";

/** Flags of `distcache stats`. */
export const STATS_FLAGS: FlagSpec[] = [
  {
    name: "json",
    kind: "bool",
    help: "print the figures as the endpoint's JSON",
  },
  {
    name: "timeout",
    kind: "int",
    arg: "<msecs>",
    min: 1,
    help: "give up after this long (default 5000)",
  },
];

const SUMMARY =
  "Prints the figures of a server or proxy started with -stats ADDR, e.g.\n" +
  "  distcache stats IP:127.0.0.1:9101";

/**
 * The endpoint could not be read, or did not answer as a distcache
 * endpoint does (code `ERR_STATS`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatsError } from "./stats.ts";
 *
 * assert.equal(new StatsError("no answer").code, "ERR_STATS");
 * ```
 */
export class StatsError extends DistcacheError {
  /**
   * Makes a stats error.
   *
   * @param message The address and what went wrong.
   */
  constructor(message: string) {
    super("ERR_STATS", message);
  }
}

/**
 * Runs `distcache stats`; resolves with the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, serveStats } from "@distcache/distcache/dc_server";
 * import { runStats } from "./stats.ts";
 *
 * const http = await serveStats("IP:127.0.0.1:0", new MetricsRegistry());
 * assert.equal(await runStats([http.addr, "--json"]), 0); // prints the JSON
 * await http.close();
 * ```
 */
export async function runStats(args: readonly string[]): Promise<number> {
  const { addresses, flagArgs } = splitArgs(args);
  const flags = parseFlags(flagArgs, STATS_FLAGS);
  if (flags.help) {
    console.log(
      usage("stats", SUMMARY, STATS_FLAGS).replace(
        "[flags]",
        "[flags] <addr>",
      ),
    );
    return 0;
  }
  if (addresses.length !== 1) {
    throw new UsageError(
      addresses.length === 0
        ? "give the address of a -stats endpoint, e.g. IP:127.0.0.1:9101"
        : `one address only (got ${addresses.join(", ")})`,
    );
  }
  const doc = await fetchStats(
    addresses[0],
    flags.timeout as number | undefined,
  );
  console.log(
    flags.json ? JSON.stringify(doc, null, 2) : formatStats(addresses[0], doc),
  );
  return 0;
}

// The address is the one argument that is neither a flag nor a flag's value.
function splitArgs(
  args: readonly string[],
): { addresses: string[]; flagArgs: string[] } {
  const addresses: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith("-")) {
      addresses.push(arg);
      continue;
    }
    flagArgs.push(arg);
    const name = arg.replace(/^--?/, "");
    const spec = STATS_FLAGS.find((f) => f.name === name);
    if (spec !== undefined && spec.kind !== "bool" && i + 1 < args.length) {
      flagArgs.push(args[++i]);
    }
  }
  return { addresses, flagArgs };
}

/**
 * Reads `/stats` from the endpoint at `address`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MetricsRegistry, serveStats } from "@distcache/distcache/dc_server";
 * import { fetchStats } from "./stats.ts";
 *
 * const registry = new MetricsRegistry();
 * registry.gauge("app_queue_depth", "Requests waiting.", () => 3);
 * const http = await serveStats("IP:127.0.0.1:0", registry);
 * const doc = await fetchStats(http.addr);
 * assert.equal(doc.metrics.app_queue_depth.samples[0].value, 3);
 * await http.close();
 * ```
 *
 * @throws {StatsError} when nothing answered, or not with distcache stats.
 */
export async function fetchStats(
  address: string,
  timeoutMs = 5000,
): Promise<StatsDocument> {
  let answer;
  try {
    answer = await nalHttpGet(address, "/stats", { timeoutMs });
  } catch (err) {
    throw new StatsError((err as Error).message);
  }
  if (answer.status !== 200) {
    throw new StatsError(
      `${address} answered /stats with HTTP ${answer.status}: not a distcache -stats endpoint?`,
    );
  }
  try {
    const doc = JSON.parse(answer.body) as StatsDocument;
    if (typeof doc.metrics === "object" && doc.metrics !== null) return doc;
  } catch {
    // Reported below.
  }
  throw new StatsError(
    `${address} answered /stats with something other than distcache stats`,
  );
}

/**
 * The figures as a table for people: a header of what runs and for how
 * long, then each metric (labelled ones one row per series).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatStats } from "./stats.ts";
 *
 * const text = formatStats("IP:127.0.0.1:9101", {
 *   metrics: {
 *     distcache_sessions: { type: "gauge", help: "Live sessions stored.", samples: [{ labels: {}, value: 3 }] },
 *   },
 * });
 * assert.match(text, /^sessions +3$/m);
 * ```
 */
export function formatStats(address: string, doc: StatsDocument): string {
  const metrics = { ...doc.metrics };
  const info = metrics.distcache_build_info?.samples[0]?.labels;
  const uptime = metrics.distcache_uptime_seconds?.samples[0]?.value;
  delete metrics.distcache_build_info;
  delete metrics.distcache_uptime_seconds;
  const head = info === undefined
    ? `distcache at ${address}`
    : `distcache ${info.role} ${info.version} (${info.runtime}) at ${address}`;
  const lines = [
    uptime === undefined ? head : `${head}, up ${duration(uptime)}`,
    "",
  ];
  const rows: [string, string][] = [];
  for (const [name, family] of Object.entries(metrics)) {
    rows.push(...rowsOf(name, family));
  }
  const width = Math.max(...rows.map(([k]) => k.length), 10) + 2;
  for (const [key, value] of rows) {
    lines.push(key === "" ? "" : `${key.padEnd(width)}${value.padStart(12)}`);
  }
  return lines.join("\n").replace(/\n+$/, "");
}

function rowsOf(name: string, family: MetricFamily): [string, string][] {
  const label = name.replace(/^distcache_/, "").replace(/_/g, " ");
  const samples = family.samples;
  if (samples.length === 1 && Object.keys(samples[0].labels).length === 0) {
    return [[label, figure(samples[0].value)]];
  }
  return [
    [label, ""],
    ...samples.map((s): [string, string] => [
      `  ${Object.values(s.labels).join(" ")}`,
      figure(s.value),
    ]),
  ];
}

function figure(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function duration(seconds: number): string {
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = d > 0
    ? [`${d}d`, `${h}h`, `${m}m`]
    : h > 0
    ? [`${h}h`, `${m}m`, `${s}s`]
    : m > 0
    ? [`${m}m`, `${s}s`]
    : [`${s}s`];
  return parts.join(" ");
}
