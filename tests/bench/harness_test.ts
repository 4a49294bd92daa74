// The bench harness's own logic: round order as run, failed rounds, the C
// dc_test output it counts, and the README block it rewrites.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { interleave } from "../../bench/_interleave.ts";
import { runJson } from "../../bench/_procs.ts";
import { README_BEGIN, README_END, spliceReadme } from "../../bench/_report.ts";
import type { BenchContext } from "../../bench/section.ts";
import { dcTestOps } from "../../bench/sections/dctest.ts";
import {
  type ThroughputPoint,
  throughputTables,
} from "../../bench/sections/throughput.ts";

function fakeContext(rounds: number, lines: string[]): BenchContext {
  return {
    quick: true,
    rounds,
    seconds: 0.1,
    warmupMs: 0,
    pin: null,
    servers: [],
    cTools: null,
    endpoint: () => Promise.reject(new Error("not in this test")),
    log: (line) => lines.push(line),
    skip: (why) => lines.push(`skipped: ${why}`),
  };
}

describe("bench harness", () => {
  it("interleave runs the contenders in turn, round after round, and keeps a failed run as null", async () => {
    const calls: string[] = [];
    const lines: string[] = [];
    let bRuns = 0;
    const make = (name: string, fail?: () => boolean) => ({
      name,
      run: () => {
        calls.push(name);
        if (fail?.()) return Promise.reject(new Error("boom"));
        return Promise.resolve(calls.length);
      },
    });
    const out = await interleave(
      fakeContext(3, lines),
      "point",
      [make("A"), make("B", () => ++bRuns === 2), make("C")],
      String,
    );
    assert.deepEqual(calls, ["A", "B", "C", "A", "B", "C", "A", "B", "C"]);
    assert.deepEqual(out.A, [1, 4, 7]);
    assert.deepEqual(out.B, [2, null, 8]);
    assert.deepEqual(out.C, [3, 6, 9]);
    assert.ok(lines.some((l) => /B failed: boom/.test(l)), lines.join("\n"));
    assert.equal(
      lines.filter((l) => /^ {2}point \[\d\/3\]/.test(l)).length,
      3,
      "one line per round",
    );
  });

  it("runJson reads a command's last line once all its output is in, not when it exits", async () => {
    // The shell exits at once; what it started writes the line 200 ms
    // later, on the same pipe.
    const got = await runJson<{ done: number }>([
      "sh",
      "-c",
      `(sleep 0.2; echo '{"done": 1}') & exit 0`,
    ]);
    assert.deepEqual(got, { done: 1 });
  });

  it("interleave refuses two contenders of one name", async () => {
    const c = { name: "A", run: () => Promise.resolve(1) };
    await assert.rejects(
      interleave(fakeContext(1, []), "point", [c, c], String),
      /not unique/,
    );
  });

  it("dcTestOps counts what dc_test reports done, or up to its first failure", () => {
    assert.deepEqual(
      dcTestOps(
        "Info, 100 sessions generated, will run 25000 random tests\nInfo, all tests complete\n",
      ),
      { ops: 25000, ok: true },
    );
    assert.deepEqual(
      dcTestOps(
        "Info, 100 sessions generated, will run 25000 random tests\nError, get failed!\nInfo, 1234 tests succeeded before the first failure\n",
      ),
      { ops: 1234, ok: false },
    );
    assert.equal(dcTestOps("Error, couldn't connect\n"), null);
  });

  it("spliceReadme replaces only what lies between the markers", () => {
    const readme =
      `# Title\n\n${README_BEGIN}\n\nold figures\n\n${README_END}\n\n## Next\n`;
    assert.equal(
      spliceReadme(readme, "new figures"),
      `# Title\n\n${README_BEGIN}\n\nnew figures\n\n${README_END}\n\n## Next\n`,
    );
    assert.equal(spliceReadme("# no markers\n", "x"), null);
  });

  it("a --baseline build is compared with ours per round, in ops/s and in server CPU per operation", () => {
    const series = (ops: number[], cpu?: number[]) => ({
      opsPerSec: ops,
      p50us: ops.map(() => 40),
      p99us: ops.map(() => 90),
      p999us: ops.map(() => 99),
      wrong: 0,
      ...(cpu ? { cpuUsPerOp: cpu } : {}),
    });
    const point: ThroughputPoint = {
      transport: "unix",
      mode: "c8",
      pinned: true,
      series: {
        "ours-deno": series([100, 200, 300], [4, 8, 6]),
        "base-deno": series([200, 200, 200], [8, 8, 8]),
        memcached: series([100, 100, 100], [2, 2, 2]),
      },
    };
    const tables = throughputTables([point]);
    const ratios = tables.find((t) => t.title.startsWith("Ours / peer"))!;
    assert.deepEqual(ratios.head, ["load", "deno/base deno", "deno/mc"]);
    // Per round: 0.5, 1, 1.5 against the baseline; 1, 2, 3 against memcached.
    assert.match(ratios.rows[0][1], /^1\.00x \(0\.50-1\.50\)/);
    assert.match(ratios.rows[0][2], /^2\.00x \(1\.00-3\.00\)/);
    const cpu = tables.find((t) => t.title.startsWith("Server CPU"))!;
    assert.deepEqual(cpu.head, [
      "load",
      "ours-deno",
      "base-deno",
      "memcached",
      "deno/base deno",
      "deno/mc",
    ]);
    assert.deepEqual(cpu.rows[0].slice(0, 4), ["8 conns", "6.0", "8.0", "2.0"]);
    assert.match(cpu.rows[0][4], /^0\.75x \(0\.50-1\.00\)/);
    assert.match(cpu.rows[0][5], /^3\.00x \(2\.00-4\.00\)/);
    // Results without the CPU figure (an older latest.json) render without that table.
    delete (point.series["ours-deno"] as { cpuUsPerOp?: number[] }).cpuUsPerOp;
    delete (point.series["base-deno"] as { cpuUsPerOp?: number[] }).cpuUsPerOp;
    delete (point.series.memcached as { cpuUsPerOp?: number[] }).cpuUsPerOp;
    assert.ok(
      !throughputTables([point]).some((t) => t.title.startsWith("Server CPU")),
    );
  });
});
