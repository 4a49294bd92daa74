// The bench harness's own logic: round order as run, failed rounds, the C
// dc_test output it counts, and the README block it rewrites.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { interleave } from "../../bench/_interleave.ts";
import { README_BEGIN, README_END, spliceReadme } from "../../bench/_report.ts";
import type { BenchContext } from "../../bench/section.ts";
import { dcTestOps } from "../../bench/sections/dctest.ts";

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
});
