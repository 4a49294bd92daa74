/**
 * Scale and memory: each server once per store size (1,000, 100,000 and
 * 1,000,000 sessions of 512 bytes; `--quick` stops at 100,000), all up side
 * by side; the RSS each grew by while being filled, then 8 connections of
 * GETs spread over every stored id and ADDs, the (server, size) pairs
 * interleaved round by round, so that a large store's rate is compared with
 * the small one's of the same round.
 *
 * @module
 */

import {
  type Contender,
  interleave,
  loaderContender,
  seriesOf,
  showOps,
  type Started,
} from "../_interleave.ts";
import { load, start } from "../_procs.ts";
import {
  fmtGoal,
  fmtStats,
  type Goal,
  int,
  median,
  medianInt,
  ratioStats,
  targetRow,
} from "../_stats.ts";
import type { LoaderResult } from "../loader.ts";
import type {
  BenchSection,
  ReportTable,
  SectionOutput,
  TargetRow,
} from "../section.ts";
import { BASES, OURS, PEERS } from "./throughput.ts";

/** One server holding one store size. */
export interface ScalePoint {
  /** Server name. */
  server: string;
  /** Sessions stored (GETs pick among them). */
  stored: number;
  /** Sessions the fill stored (the memory figure divides by these). */
  added: number;
  /** RSS just after start, bytes. */
  rssEmpty: number;
  /** RSS once filled, bytes. */
  rssFull: number;
  /** ops/s per round, 8 persistent connections over UNIX. */
  opsPerSec: (number | null)[];
  /** Server CPU microseconds per answer per round (absent: not measured). */
  cpuUsPerOp?: (number | null)[];
}

const SCALE_GOAL: Goal = { atLeast: 0.85 };
const MEMORY_GOAL: Goal = { atMost: 1.1 };

function bytesPerSession(p: ScalePoint): number {
  return (p.rssFull - p.rssEmpty) / Math.max(1, p.added);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/** The scale and memory tables. */
export function scaleTables(points: ScalePoint[]): ReportTable[] {
  const sizes = [...new Set(points.map((p) => p.stored))].sort((a, b) => a - b);
  const names = [...OURS, ...BASES, ...PEERS].filter((s) =>
    points.some((p) => p.server === s)
  );
  const at = (s: string, n: number) =>
    points.find((p) => p.server === s && p.stored === n);
  const first = sizes[0];
  const last = sizes[sizes.length - 1];
  const head = [
    "server",
    ...sizes.map((n) => `${int(n)} stored`),
    `${int(last)} / ${int(first)} per round`,
  ];
  const out: ReportTable[] = [{
    title:
      "Scale: ops/s with sessions stored (8 conns, UNIX, GETs over all of them): median of the rounds",
    head,
    rows: names.map((s) => [
      s,
      ...sizes.map((n) => medianInt(at(s, n)?.opsPerSec ?? [])),
      fmtStats(
        ratioStats(at(s, last)?.opsPerSec ?? [], at(s, first)?.opsPerSec ?? []),
      ),
    ]),
  }];
  if (points.some((p) => p.cpuUsPerOp?.some((x) => x !== null))) {
    const cpu = (s: string, n: number) => at(s, n)?.cpuUsPerOp ?? [];
    out.push({
      title:
        "Scale: server CPU per answer, microseconds (every thread): median of the rounds",
      head,
      rows: names.map((s) => [
        s,
        ...sizes.map((n) => median(cpu(s, n))?.toFixed(2) ?? "-"),
        fmtStats(ratioStats(cpu(s, last), cpu(s, first))),
      ]),
      note:
        "What a neighbour's load moves least: the steadiest way to compare two builds of ours on a shared machine.",
    });
  }
  const big = points.filter((p) => p.stored >= 100_000);
  if (big.length) {
    out.push({
      title: "Memory: RSS per stored session (16-byte id, 512-byte data)",
      head: ["server", "sessions", "RSS empty", "RSS full", "bytes/session"],
      rows: names.flatMap((s) =>
        big.filter((p) => p.server === s).map((p) => [
          s,
          int(p.added),
          mib(p.rssEmpty),
          mib(p.rssFull),
          int(bytesPerSession(p)),
        ])
      ),
      note:
        "(RSS once filled - RSS just after start) / sessions, each size on its own server; one measurement (RSS does not move with a neighbour's CPU use).",
    });
  }
  return out;
}

/** The scale and memory targets. */
export function scaleTargets(points: ScalePoint[]): TargetRow[] {
  const out: TargetRow[] = [];
  const sizes = [...new Set(points.map((p) => p.stored))].sort((a, b) => a - b);
  const at = (s: string, n: number) =>
    points.find((p) => p.server === s && p.stored === n);
  for (const s of OURS) {
    const small = at(s, sizes[0]);
    const big = at(s, sizes[sizes.length - 1]);
    if (small && big && small !== big) {
      out.push(targetRow(
        `${s}: ops/s at ${int(big.stored)} stored ${
          fmtGoal(SCALE_GOAL)
        } those at ${int(small.stored)}`,
        big.opsPerSec,
        small.opsPerSec,
        SCALE_GOAL,
      ));
    }
    for (const n of sizes.filter((n) => n >= 100_000)) {
      const ours = at(s, n);
      const mc = at("memcached", n);
      if (!ours || !mc) continue;
      out.push(targetRow(
        `${s}: bytes per stored session at ${int(n)} ${
          fmtGoal(MEMORY_GOAL)
        } memcached's`,
        [bytesPerSession(ours)],
        [bytesPerSession(mc)],
        MEMORY_GOAL,
      ));
    }
  }
  return out;
}

function render(d: { points: ScalePoint[] }): Omit<SectionOutput, "data"> {
  return { tables: scaleTables(d.points), targets: scaleTargets(d.points) };
}

/** The section. */
export const scale: BenchSection = {
  name: "scale",
  summary:
    "ops/s and RSS per session with 1k, 100k, 1M sessions stored, interleaved",
  peers: true,
  render: (data) => render(data as { points: ScalePoint[] }),
  async run(ctx): Promise<SectionOutput> {
    const sizes = ctx.quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
    const kinds = ctx.servers.filter((k) => k.name !== "c-dc_server");
    if (kinds.length < ctx.servers.length) {
      ctx.skip(
        "scale and memory: c-dc_server left out (its store holds at most 60,000 sessions and finds one by scanning them all)",
      );
    }
    const up: (Started & Omit<ScalePoint, "server" | "opsPerSec">)[] = [];
    try {
      for (const kind of kinds) {
        for (const stored of sizes) {
          const at = await ctx.endpoint("unix", `${kind.name}-${stored}`);
          let server;
          try {
            server = await start(kind.argv(at, 1_200_000), at, ctx.pin?.server);
          } catch (e) {
            ctx.skip(`scale: ${kind.name}: ${(e as Error).message}`);
            break;
          }
          await new Promise((r) => setTimeout(r, 300));
          const rssEmpty = server.rss();
          const fill = await load(
            { action: "fill", proto: kind.proto, ids: stored },
            at,
            ctx.pin?.loader,
          );
          await new Promise((r) => setTimeout(r, 500));
          const rssFull = server.rss();
          up.push({
            kind,
            at,
            server,
            stored,
            added: fill.added,
            rssEmpty,
            rssFull,
          });
          ctx.log(
            `scale: ${kind.name} filled with ${int(fill.added)} in ${
              fill.seconds.toFixed(1)
            } s, RSS ${mib(rssEmpty)} -> ${mib(rssFull)}`,
          );
        }
      }
      const contenders: Contender<LoaderResult>[] = up.map((s) =>
        loaderContender(
          ctx,
          `${s.kind.name}@${s.stored}`,
          {
            action: "run",
            proto: s.kind.proto,
            conns: 8,
            ids: s.stored,
          },
          s.at,
          true,
          s.server,
        )
      );
      const rounds = await interleave(ctx, "scale", contenders, showOps);
      const points: ScalePoint[] = up.map((s) => {
        const series = seriesOf(rounds[`${s.kind.name}@${s.stored}`]);
        return {
          server: s.kind.name,
          stored: s.stored,
          added: s.added,
          rssEmpty: s.rssEmpty,
          rssFull: s.rssFull,
          opsPerSec: series.opsPerSec,
          cpuUsPerOp: series.cpuUsPerOp,
        };
      });
      return { ...render({ points }), data: { points } };
    } finally {
      for (const s of up) await s.server.stop();
    }
  },
};
