/**
 * The headline rows: throughput and latency of every server (ours under
 * Deno and Bun, memcached, Redis, the C server) at 1, 8 and 64 persistent
 * connections and a connection per operation, over UNIX and TCP, the
 * servers interleaved round by round, each pinned to one CPU and the loader
 * to the other.
 *
 * @module
 */

import {
  type Contender,
  interleave,
  loaderContender,
  type Series,
  seriesOf,
  showOps,
  withServers,
} from "../_interleave.ts";
import { load } from "../_procs.ts";
import {
  fmtGoal,
  fmtStats,
  type Goal,
  median,
  medianInt,
  ratioStats,
  targetRow,
} from "../_stats.ts";
import type { LoaderJob, LoaderResult } from "../loader.ts";
import type {
  BenchSection,
  ReportTable,
  SectionOutput,
  TargetRow,
} from "../section.ts";

/** Loads in display order. */
export const MODES: string[] = ["c1", "c8", "c64", "perop"];

/** How a load reads in tables. */
export const MODE_LABEL: Record<string, string> = {
  c1: "1 conn",
  c8: "8 conns",
  c64: "64 conns",
  perop: "conn per op (8)",
};

/** Ours, then the peers, in display order. */
export const OURS: string[] = ["ours-bun", "ours-deno"];
/** Ours of the `--baseline` checkout, when given: each against its `OURS`. */
export const BASES: string[] = ["base-bun", "base-deno"];
/** The peers, in display order. */
export const PEERS: string[] = ["memcached", "redis", "c-dc_server"];

const SHORT: Record<string, string> = {
  "ours-bun": "bun",
  "ours-deno": "deno",
  "base-bun": "base bun",
  "base-deno": "base deno",
  memcached: "mc",
  redis: "redis",
  "c-dc_server": "C",
};

/** One load over one transport: every server's rounds. */
export interface ThroughputPoint {
  /** `unix` or `tcp`. */
  transport: "unix" | "tcp";
  /** `c1`, `c8`, `c64`, `perop`. */
  mode: string;
  /** Whether server and loader were pinned to a CPU each. */
  pinned: boolean;
  /** Per server. */
  series: Record<string, Series>;
}

/** What the section keeps in `latest.json`. */
export interface ThroughputData {
  /** Every point measured. */
  points: ThroughputPoint[];
}

/** The loader's settings for a load. */
export function modeJob(mode: string): Partial<LoaderJob> {
  return mode === "perop"
    ? { conns: 8, mode: "perop" }
    : { conns: Number(mode.slice(1)), mode: "persistent" };
}

/** Targets of the Deno and Bun servers against memcached, per point. */
const GOALS: Record<string, Goal> = {
  "ours-deno": { atLeast: 0.9 },
  "ours-bun": { atLeast: 1.1 },
};
/** One-at-a-time p50 against memcached's. */
const LATENCY_GOAL: Goal = { atMost: 1.05 };

function servers(points: ThroughputPoint[]): string[] {
  const seen = new Set(points.flatMap((p) => Object.keys(p.series)));
  return [...OURS, ...BASES, ...PEERS].filter((s) => seen.has(s));
}

function opsTable(points: ThroughputPoint[], transport: string): ReportTable {
  const pts = points.filter((p) => p.transport === transport);
  const names = servers(pts);
  return {
    title:
      `Throughput, ops/s, ${transport.toUpperCase()} (90% GET / 10% ADD, 512 B): median of the rounds`,
    head: ["load", ...names],
    rows: pts.map((p) => [
      MODE_LABEL[p.mode],
      ...names.map((s) => {
        const wrong = p.series[s]?.wrong ?? 0;
        return medianInt(p.series[s]?.opsPerSec ?? []) +
          (wrong ? ` (${wrong} wrong)` : "");
      }),
    ]),
    note: pts.some((p) => p.pinned)
      ? "Each server pinned to CPU 0, the loader to CPU 1 (taskset)."
      : "Unpinned: the scheduler placed server and loader.",
  };
}

function ratioTable(points: ThroughputPoint[], transport: string): ReportTable {
  const pts = points.filter((p) => p.transport === transport);
  const names = servers(pts);
  const pairs = OURS.filter((o) => names.includes(o)).flatMap((o) =>
    [o.replace("ours-", "base-"), ...PEERS].filter((p) => names.includes(p))
      .map((p) => [o, p])
  );
  return {
    title:
      `Ours / peer per round, ${transport.toUpperCase()}: median (min-max)`,
    head: ["load", ...pairs.map(([o, p]) => `${SHORT[o]}/${SHORT[p]}`)],
    rows: pts.map((pt) => [
      MODE_LABEL[pt.mode],
      ...pairs.map(([o, p]) =>
        fmtStats(
          ratioStats(
            pt.series[o]?.opsPerSec ?? [],
            pt.series[p]?.opsPerSec ?? [],
          ),
        )
      ),
    ]),
    note:
      'A ratio is taken within each round (the servers of a round run one after the other), then the median and range over the rounds; "unsettled" marks a range wider than ±10% of the median.',
  };
}

// Server CPU per answer: what a neighbour's load moves least, so the
// steadiest way to compare two builds of ours on a shared machine.
function cpuTable(points: ThroughputPoint[], transport: string): ReportTable {
  const pts = points.filter((p) => p.transport === transport);
  const names = servers(pts);
  const cpu = (p: ThroughputPoint, s: string) => p.series[s]?.cpuUsPerOp ?? [];
  const pairs = OURS.filter((o) => names.includes(o)).flatMap((o) =>
    [o.replace("ours-", "base-"), "memcached"].filter((p) => names.includes(p))
      .map((p) => [o, p])
  );
  return {
    title:
      `Server CPU per operation, microseconds, ${transport.toUpperCase()} (every thread, warm-up included): median of the rounds; ours / peer per round`,
    head: [
      "load",
      ...names,
      ...pairs.map(([o, p]) => `${SHORT[o]}/${SHORT[p]}`),
    ],
    rows: pts.map((p) => [
      MODE_LABEL[p.mode],
      ...names.map((s) => {
        const m = median(cpu(p, s));
        return m === null ? "" : m.toFixed(1);
      }),
      ...pairs.map(([o, q]) => fmtStats(ratioStats(cpu(p, o), cpu(p, q)))),
    ]),
    note:
      "utime + stime from /proc/<pid>/stat (10 ms steps) around each loader run, divided by every answer of the run; lower is better. A contended CPU inflates it less than it deflates ops/s.",
  };
}

function latencyTable(points: ThroughputPoint[]): ReportTable {
  const rows: string[][] = [];
  for (const p of points.filter((p) => p.mode === "c1")) {
    for (const s of servers([p])) {
      rows.push([
        p.transport.toUpperCase(),
        s,
        medianInt(p.series[s].p50us),
        medianInt(p.series[s].p99us),
        medianInt(p.series[s].p999us),
      ]);
    }
  }
  return {
    title:
      "Latency of one-at-a-time operations (1 connection), microseconds: median of the rounds",
    head: ["transport", "server", "p50", "p99", "p99.9"],
    rows,
  };
}

// Servers' medians within this of each other: the point measured the
// loader, not the servers (over TCP with a connection per op, the loader's
// CPU also does the kernel's work for both ends of every handshake on
// loopback), so its ratios judge nothing.
const SAME_RATE = 0.03;

/**
 * Whether every server of a point (at least three) gave the same median
 * rate within ±3%: the limit was the loader's, not theirs.
 */
export function loaderBound(p: ThroughputPoint): boolean {
  const rates = Object.values(p.series)
    .map((s) => median(s.opsPerSec))
    .filter((x): x is number => x !== null && x > 0);
  if (rates.length < 3) return false;
  const lo = Math.min(...rates);
  const hi = Math.max(...rates);
  return hi <= lo * (1 + SAME_RATE) / (1 - SAME_RATE);
}

/** The targets of the throughput rows, judged on per-round ratios. */
export function throughputTargets(points: ThroughputPoint[]): TargetRow[] {
  const out: TargetRow[] = [];
  for (const [ours, goal] of Object.entries(GOALS)) {
    for (const p of points) {
      const a = p.series[ours];
      const b = p.series.memcached;
      if (!a || !b) continue;
      const row = targetRow(
        `${ours} ${fmtGoal(goal)} memcached, ${p.transport.toUpperCase()} ${
          MODE_LABEL[p.mode]
        }`,
        a.opsPerSec,
        b.opsPerSec,
        goal,
      );
      out.push(
        loaderBound(p)
          ? {
            ...row,
            status: "unsettled",
            verdict:
              "not judged: every server gave the same rate within ±3% (the loader's limit)",
          }
          : row,
      );
    }
    for (const p of points.filter((p) => p.mode === "c1")) {
      const a = p.series[ours];
      const b = p.series.memcached;
      if (!a || !b) continue;
      out.push(targetRow(
        `${ours} one-at-a-time p50 ${
          fmtGoal(LATENCY_GOAL)
        } memcached's, ${p.transport.toUpperCase()}`,
        a.p50us,
        b.p50us,
        LATENCY_GOAL,
      ));
    }
  }
  return out;
}

/** The tables of the throughput rows. */
export function throughputTables(points: ThroughputPoint[]): ReportTable[] {
  const out: ReportTable[] = [];
  for (const t of ["unix", "tcp"]) {
    if (!points.some((p) => p.transport === t)) continue;
    out.push(opsTable(points, t), ratioTable(points, t));
    if (points.some((p) => Object.values(p.series).some((s) => s.cpuUsPerOp))) {
      out.push(cpuTable(points, t));
    }
  }
  if (points.some((p) => p.mode === "c1")) out.push(latencyTable(points));
  return out;
}

function render(d: ThroughputData): Omit<SectionOutput, "data"> {
  return {
    tables: throughputTables(d.points),
    targets: throughputTargets(d.points),
  };
}

/** The section. */
export const throughput: BenchSection = {
  name: "throughput",
  summary:
    "every server at 1/8/64 conns and a conn per op, UNIX and TCP, interleaved, pinned",
  peers: true,
  async run(ctx): Promise<SectionOutput> {
    const points: ThroughputPoint[] = [];
    for (const transport of ["unix", "tcp"] as const) {
      ctx.log(`throughput over ${transport.toUpperCase()}`);
      await withServers(ctx, ctx.servers, transport, 200_000, async (up) => {
        for (const s of up) {
          await load(
            { action: "fill", proto: s.kind.proto, ids: 10_000 },
            s.at,
            ctx.pin?.loader,
          );
        }
        for (const mode of MODES) {
          const contenders: Contender<LoaderResult>[] = up.map((s) =>
            loaderContender(
              ctx,
              s.kind.name,
              {
                action: "run",
                proto: s.kind.proto,
                ...modeJob(mode),
              },
              s.at,
              true,
              s.server,
            )
          );
          const rounds = await interleave(
            ctx,
            `${transport} ${MODE_LABEL[mode]}`,
            contenders,
            showOps,
          );
          const series: Record<string, Series> = {};
          for (const [name, rs] of Object.entries(rounds)) {
            series[name] = seriesOf(rs);
          }
          points.push({ transport, mode, pinned: ctx.pin !== null, series });
        }
      });
    }
    const data: ThroughputData = { points };
    return { ...render(data), data };
  },
  render: (data) => render(data as ThroughputData),
};
