/**
 * The C tools' own load: 8 C `dc_test` processes (persistent connections,
 * 100 sessions each, 50..500-byte data, a random mix of ADD, GET, REMOVE
 * and HAVE checked against what each expects) on one CPU, the server on the
 * other; ours under Bun and Deno and the C server in turn, round by round,
 * each round on a fresh server. ops/s = the operations the dc_test
 * processes report done / the wall time from the first start to the last
 * exit.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { type Contender, interleave } from "../_interleave.ts";
import { dcAddress, pinned, type ServerKind, start } from "../_procs.ts";
import {
  fmtGoal,
  fmtStats,
  type Goal,
  int,
  medianInt,
  ratioStats,
  targetRow,
} from "../_stats.ts";
import type {
  BenchContext,
  BenchSection,
  ReportTable,
  SectionOutput,
  TargetRow,
} from "../section.ts";

/** dc_test processes per round. */
const PROCS = 8;

/** One round of 8 dc_test processes. */
export interface DcTestRound {
  /** Operations the processes say they completed. */
  ops: number;
  /** Wall seconds from the first start to the last exit. */
  seconds: number;
  /** ops / seconds. */
  opsPerSec: number;
  /** Processes that exited non-zero or reported a failure. */
  failed: number;
}

/**
 * The operations one dc_test run reports done: all it set out to run when
 * it says "all tests complete", else the count it gives before the first
 * failure; null when its output says neither.
 */
export function dcTestOps(stderr: string): { ops: number; ok: boolean } | null {
  const planned = /will run (\d+) random tests/.exec(stderr);
  if (planned && /all tests complete/.test(stderr)) {
    return { ops: Number(planned[1]), ok: true };
  }
  const partial = /(\d+) tests succeeded before the first failure/.exec(stderr);
  return partial ? { ops: Number(partial[1]), ok: false } : null;
}

function runDcTest(
  argv: string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => stderr += d);
    child.on("error", (e) => {
      stderr += String(e);
      resolve({ code: null, stderr });
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

async function round(
  ctx: BenchContext,
  dcTest: string,
  kind: ServerKind,
  ops: number,
): Promise<DcTestRound> {
  const at = await ctx.endpoint("unix", `dctest-${kind.name}`);
  const server = await start(kind.argv(at, 10_000), at, ctx.pin?.server);
  try {
    const cmd = pinned([
      dcTest,
      "-connect",
      dcAddress(at),
      "-persistent",
      "-ops",
      String(ops),
      "-sessions",
      "100",
      "-datamin",
      "50",
      "-datamax",
      "500",
    ], ctx.pin?.loader);
    const t0 = performance.now();
    const outs = await Promise.all(
      Array.from({ length: PROCS }, () => runDcTest(cmd)),
    );
    const seconds = (performance.now() - t0) / 1000;
    let done = 0;
    let failed = 0;
    for (const o of outs) {
      const r = dcTestOps(o.stderr);
      done += r?.ops ?? 0;
      if (o.code !== 0 || !r?.ok) {
        failed++;
        ctx.log(
          `  dc_test against ${kind.name}: exit ${o.code}: ${
            o.stderr.trim().split("\n").pop()
          }`,
        );
      }
    }
    return { ops: done, seconds, opsPerSec: done / seconds, failed };
  } finally {
    await server.stop();
  }
}

/** What the section keeps in `latest.json`. */
export interface DcTestData {
  /** Operations per dc_test process. */
  ops: number;
  /** dc_test processes per round. */
  procs: number;
  /** CPUs of server and dc_test processes, or null when unpinned. */
  pin: { server: number; loader: number } | null;
  /** Servers, in round order. */
  servers: string[];
  /** Per server, one entry per round (null: the round did not run). */
  rounds: Record<string, (DcTestRound | null)[]>;
}

const GOALS: Record<string, Goal> = {
  "ours-bun": { atLeast: 1.1 },
  "ours-deno": { atLeast: 0.9 },
};

/** The table and targets of a run. */
export function dcTestOutput(
  d: DcTestData,
): { tables: ReportTable[]; targets: TargetRow[] } {
  const ofs = (name: string) =>
    (d.rounds[name] ?? []).map((r) =>
      r === null || r.failed ? null : r.opsPerSec
    );
  const c = ofs("c-dc_server");
  const rows = d.servers.map((name) => {
    const failed = (d.rounds[name] ?? []).reduce(
      (n, r) => n + (r === null ? d.procs : r.failed),
      0,
    );
    return [
      name,
      medianInt(ofs(name)),
      name === "c-dc_server" ? "" : fmtStats(ratioStats(ofs(name), c)),
      String(failed),
    ];
  });
  const targets: TargetRow[] = [];
  for (const [ours, goal] of Object.entries(GOALS)) {
    if (!d.rounds[ours] || !d.rounds["c-dc_server"]) continue;
    targets.push(targetRow(
      `${ours} ${fmtGoal(goal)} C dc_server on ${d.procs} C dc_test processes`,
      ofs(ours),
      c,
      goal,
    ));
  }
  return {
    tables: [{
      title: `The C tools' own load: ${d.procs} dc_test -persistent -ops ${
        int(d.ops)
      } -sessions 100 -datamin 50 -datamax 500, ops/s (median of the rounds)`,
      head: ["server", "ops/s", "/ C per round", "failed dc_test runs"],
      rows,
      note: `${
        d.pin
          ? `dc_test processes pinned to CPU ${d.pin.loader}, the server to CPU ${d.pin.server}`
          : "Unpinned"
      }; a fresh server each round, over UNIX; ops/s = operations the dc_test processes report done / wall time from the first start to the last exit.`,
    }],
    targets,
  };
}

/** The section. */
export const dctest: BenchSection = {
  name: "dctest",
  summary:
    "8 C dc_test processes on one CPU against each server on the other (ours and C's in turn)",
  peers: true,
  async run(ctx): Promise<SectionOutput> {
    const tools = ctx.cTools;
    if (!tools) {
      ctx.skip("dctest: no C dc_test to drive the servers with");
      return { tables: [] };
    }
    const ops = ctx.quick ? 5_000 : 25_000;
    const order = [
      "ours-bun",
      "ours-deno",
      "base-bun",
      "base-deno",
      "c-dc_server",
    ];
    const kinds = order.flatMap((n) => ctx.servers.filter((k) => k.name === n));
    ctx.log(
      `dctest: ${PROCS} x dc_test -persistent -ops ${ops} -sessions 100 -datamin 50 -datamax 500`,
    );
    const contenders: Contender<DcTestRound>[] = kinds.map((k) => ({
      name: k.name,
      run: () => round(ctx, tools.test, k, ops),
    }));
    const rounds = await interleave(
      ctx,
      "dc_test",
      contenders,
      (r) => `${int(r.opsPerSec)}${r.failed ? ` (${r.failed} failed)` : ""}`,
    );
    const data: DcTestData = {
      ops,
      procs: PROCS,
      pin: ctx.pin,
      servers: kinds.map((k) => k.name),
      rounds,
    };
    return { ...dcTestOutput(data), data };
  },
  render: (data) => dcTestOutput(data as DcTestData),
};
