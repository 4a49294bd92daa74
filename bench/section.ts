/**
 * How a part of `deno task bench` plugs in: a {@linkcode BenchSection} is a
 * name, a line for `--help` and a `run()` that measures and returns tables
 * (and targets). The harness (`bench/main.ts`) decides which sections run
 * (`--only`), hands each the run's settings in a {@linkcode BenchContext},
 * prints the tables, and writes them to `bench/results/`.
 *
 * To add a section: write a module exporting a `BenchSection`, and add it
 * to the list in `bench/registry.ts`. Measure with `interleave()` from
 * `bench/_interleave.ts` so that a neighbour's noise falls on every
 * contender alike; judge ratios with `ratioStats()`/`judge()` from
 * `bench/_stats.ts`.
 *
 * ```ts
 * import type { BenchSection } from "./section.ts";
 *
 * export const hello: BenchSection = {
 *   name: "hello",
 *   summary: "an example: one table, no measurement",
 *   async run(ctx) {
 *     ctx.log("hello: nothing to measure");
 *     return {
 *       tables: [{ title: "Hello", head: ["what", "value"], rows: [["rounds", String(ctx.rounds)]] }],
 *     };
 *   },
 * };
 * ```
 *
 * @module
 */

import type { CTools } from "./_c_tools.ts";
import type { Endpoint, ServerKind } from "./_procs.ts";
import type { Status } from "./_stats.ts";

/** A table of results, as printed and as written to the results page. */
export interface ReportTable {
  /** Its heading. */
  title: string;
  /** Column names. */
  head: string[];
  /** Cells, already formatted. */
  rows: string[][];
  /** A sentence or two under it: how it was measured, what is missing. */
  note?: string;
}

/** A target (from an issue) and what this run measured of it. */
export interface TargetRow {
  /** What is aimed at, with the goal: `ours-bun >= 1.10x memcached, UNIX 8 conns`. */
  target: string;
  /** The median ratio and its rounds' range. */
  measured: string;
  /** `met`, `missed, 23% short`, `unsettled (...)`. */
  verdict: string;
  /** The verdict as a value. */
  status: Status;
  /** For an unsettled one: whether every round met, or every round missed, the goal all the same. */
  everyRound?: "met" | "missed";
}

/** What a section returns. */
export interface SectionOutput {
  /** Its tables, in display order. */
  tables: ReportTable[];
  /** Its targets, shown together with every section's in one table. */
  targets?: TargetRow[];
  /** Its raw figures (kept in `latest.json`; JSON-serialisable). */
  data?: unknown;
}

/** The run's settings and services, handed to every section. */
export interface BenchContext {
  /** `--quick`: fewer and shorter rounds, smaller stores. */
  readonly quick: boolean;
  /** Rounds per interleaved point (5 in a full run). */
  readonly rounds: number;
  /** Timed seconds of each loader run. */
  readonly seconds: number;
  /** Untimed milliseconds before each loader run's timed window. */
  readonly warmupMs: number;
  /**
   * CPUs for the server and for the loader when pinning is on (the
   * default where `taskset` exists and there are 2+ CPUs), else null.
   */
  readonly pin: { server: number; loader: number } | null;
  /** The servers of comparison rows: ours-deno, ours-bun, then the peers found. */
  readonly servers: readonly ServerKind[];
  /**
   * `--baseline`: another checkout of the repository whose ours also run
   * (as `base-*`), for sections that start ours themselves.
   */
  readonly baseline?: string;
  /** The C tools, when found or built (else null, and a line in `skipped`). */
  readonly cTools: CTools | null;
  /** A fresh address in the run's temporary directory (UNIX) or a free port. */
  endpoint(transport: "unix" | "tcp", name: string): Promise<Endpoint>;
  /** Prints a progress line. */
  log(line: string): void;
  /** Records why a row is missing (printed and listed on the results page). */
  skip(why: string): void;
}

/** A part of the bench. */
export interface BenchSection {
  /** Name for `--only=` and the key of its results in `latest.json`. */
  name: string;
  /** One line for `--help`. */
  summary: string;
  /** Whether it compares against memcached, Redis or the C server (they are looked for only then). */
  peers?: boolean;
  /** Measures; throws only when the whole section cannot run. */
  run(ctx: BenchContext): Promise<SectionOutput>;
  /**
   * Rebuilds the tables and targets from the `data` a run saved, so that
   * `--render` applies today's tables and judgements to an earlier run.
   * Without it, `--render` reprints the tables as saved.
   */
  render?(data: unknown): Omit<SectionOutput, "data">;
}
