/**
 * Interleaved measurement: every contender of a point runs once per round,
 * in turn (A B C, A B C, ...), so that a neighbour's burst falls on one
 * round of all of them instead of on every run of one. Also the helpers that
 * make the usual contenders: a group of servers started side by side, and a
 * loader run against one of them.
 *
 * @module
 */

import {
  type Endpoint,
  load,
  type Running,
  type ServerKind,
  start,
} from "./_procs.ts";
import { int, roundOrder } from "./_stats.ts";
import type { LoaderJob, LoaderResult } from "./loader.ts";
import type { BenchContext } from "./section.ts";

/** One thing measured once per round. */
export interface Contender<T> {
  /** Its name in tables and ratios. */
  name: string;
  /** Measures once. */
  run(): Promise<T>;
}

/** Results per contender, one entry per round (null: that round failed). */
export type Rounds<T> = Record<string, (T | null)[]>;

/**
 * Runs each contender once per round, in turn, for `ctx.rounds` rounds, and
 * prints each round's figures (`show`). A failed run is logged and recorded
 * as null; the other rounds still count.
 */
export async function interleave<T>(
  ctx: BenchContext,
  label: string,
  contenders: readonly Contender<T>[],
  show: (result: T) => string,
): Promise<Rounds<T>> {
  const out: Rounds<T> = {};
  for (const c of contenders) out[c.name] = [];
  const byName = new Map(contenders.map((c) => [c.name, c]));
  if (byName.size !== contenders.length) {
    throw new Error(`${label}: contenders' names are not unique`);
  }
  const last = contenders[contenders.length - 1]?.name;
  let line: string[] = [];
  for (const turn of roundOrder(contenders.map((c) => c.name), ctx.rounds)) {
    try {
      const r = await byName.get(turn.name)!.run();
      out[turn.name].push(r);
      line.push(`${turn.name} ${show(r)}`);
    } catch (e) {
      out[turn.name].push(null);
      line.push(`${turn.name} FAILED`);
      ctx.log(`  ${label}: ${turn.name} failed: ${(e as Error).message}`);
    }
    if (turn.name === last) {
      ctx.log(
        `  ${label} [${turn.round + 1}/${ctx.rounds}] ${line.join("; ")}`,
      );
      line = [];
    }
  }
  return out;
}

/** One contender's figures at a point, one entry per round (null: failed). */
export interface Series {
  /** ops/s per round. */
  opsPerSec: (number | null)[];
  /** Latency p50 per round, microseconds. */
  p50us: (number | null)[];
  /** p99 per round. */
  p99us: (number | null)[];
  /** p99.9 per round. */
  p999us: (number | null)[];
  /** Server CPU microseconds per answer per round (null: not measured). */
  cpuUsPerOp?: (number | null)[];
  /** The store's (Redis's) CPU microseconds per answer per round, when measured. */
  storeUsPerOp?: (number | null)[];
  /** Operations answered wrongly, refused or lost to socket errors, all rounds. */
  wrong: number;
}

/** A loader's per-round results as a {@linkcode Series}. */
export function seriesOf(rounds: readonly (LoaderResult | null)[]): Series {
  const pick = (f: (r: LoaderResult) => number) =>
    rounds.map((r) => r === null ? null : f(r));
  return {
    opsPerSec: pick((r) => r.opsPerSec),
    p50us: pick((r) => r.p50us),
    p99us: pick((r) => r.p99us),
    p999us: pick((r) => r.p999us),
    cpuUsPerOp: rounds.map((r) => r?.serverUsPerOp ?? null),
    ...(rounds.some((r) => r?.storeUsPerOp !== undefined)
      ? { storeUsPerOp: rounds.map((r) => r?.storeUsPerOp ?? null) }
      : {}),
    wrong: rounds.reduce((n, r) => n + (r ? r.errors + r.failed : 0), 0),
  };
}

/** `12,345 ops/s`, the usual way to show a loader round. */
export function showOps(r: LoaderResult): string {
  const wrong = r.errors + r.failed;
  const cpu =
    (r.serverUsPerOp === undefined ? "" : ` ${r.serverUsPerOp.toFixed(1)}us`) +
    (r.storeUsPerOp === undefined ? "" : `+${r.storeUsPerOp.toFixed(1)}us`);
  return `${int(r.opsPerSec)}${cpu}${wrong ? ` (${wrong} wrong)` : ""}`;
}

/**
 * A timed loader run against `at`, as a contender (the loader pinned when
 * `ctx.pin` says); with `server`, its CPU time per answer is measured too.
 */
export function loaderContender(
  ctx: BenchContext,
  name: string,
  job: LoaderJob,
  at: Endpoint,
  pin: boolean = true,
  server?: Running,
  store?: Running,
): Contender<LoaderResult> {
  return {
    name,
    run: async () => {
      const before = server?.cpuNs() ?? 0;
      const storeBefore = store?.cpuNs() ?? 0;
      const r = await load(
        { durationMs: ctx.seconds * 1000, warmupMs: ctx.warmupMs, ...job },
        at,
        pin ? ctx.pin?.loader : undefined,
      );
      const spent = (server?.cpuNs() ?? 0) - before;
      if (server !== undefined && spent > 0 && r.answered > 0) {
        r.serverUsPerOp = spent / 1000 / r.answered;
      }
      const stored = (store?.cpuNs() ?? 0) - storeBefore;
      if (store !== undefined && stored > 0 && r.answered > 0) {
        r.storeUsPerOp = stored / 1000 / r.answered;
      }
      return r;
    },
  };
}

/** A server of a group, where it listens. */
export interface Started {
  /** What it is. */
  kind: ServerKind;
  /** Where it listens. */
  at: Endpoint;
  /** The process. */
  server: Running;
}

/**
 * Starts every kind side by side (each on its own address, pinned to the
 * server CPU when `pin`), runs `body`, and stops them all, even on failure.
 * A kind that fails to start is left out with a message.
 */
export async function withServers<T>(
  ctx: BenchContext,
  kinds: readonly ServerKind[],
  transport: "unix" | "tcp",
  sessions: number,
  body: (servers: Started[]) => Promise<T>,
  pin: boolean = true,
): Promise<T> {
  const up: Started[] = [];
  try {
    for (const kind of kinds) {
      const at = await ctx.endpoint(transport, kind.name);
      try {
        const server = await start(
          kind.argv(at, sessions),
          at,
          pin ? ctx.pin?.server : undefined,
        );
        up.push({ kind, at, server });
      } catch (e) {
        ctx.skip(`${kind.name} over ${transport}: ${(e as Error).message}`);
      }
    }
    return await body(up);
  } finally {
    for (const s of up) await s.server.stop();
  }
}
