// The interleaved bench's arithmetic: what a reader of its tables relies on.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  fmtRatio,
  fmtStats,
  judge,
  median,
  ratioStats,
  roundOrder,
} from "../../bench/_stats.ts";
import {
  type ThroughputPoint,
  throughputTargets,
} from "../../bench/sections/throughput.ts";

describe("bench statistics", () => {
  it("roundOrder runs every contender once per round, in the given order", () => {
    assert.deepEqual(
      roundOrder(["A", "B", "C"], 2).map((t) => `${t.round}${t.name}`),
      ["0A", "0B", "0C", "1A", "1B", "1C"],
    );
    assert.throws(() => roundOrder(["A"], 0), /invalid rounds 0/);
  });

  it("median takes the middle value, the mean of the middle two, and skips failed rounds", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([null, 7, null]), 7);
    assert.equal(median([null]), null);
  });

  it("ratioStats divides within each round, not medians by medians", () => {
    // Round 2 is slow for both servers alike (a neighbour's burst): the
    // per-round ratio stays 2 where the ratio of medians would say 1.5.
    const s = ratioStats([200, 100, 200], [100, 50, 100])!;
    assert.equal(s.median, 2);
    assert.equal(s.min, 2);
    assert.equal(s.max, 2);
    assert.equal(s.settled, true);
    assert.equal(
      ratioStats([300, 100, 120], [100, 100, 200])!.median,
      1,
      "the median of 3, 1 and 0.6",
    );
  });

  it("ratioStats leaves out rounds where either side failed or the denominator is 0", () => {
    const s = ratioStats([100, null, 90, 80], [50, 40, null, 0])!;
    assert.equal(s.rounds, 1);
    assert.equal(s.median, 2);
    assert.equal(ratioStats([null], [1]), null);
  });

  it("a ratio spread wider than ±10% of its median is unsettled", () => {
    assert.equal(ratioStats([110, 100, 90], [100, 100, 100])!.settled, true);
    assert.equal(ratioStats([111, 100, 90], [100, 100, 100])!.settled, false);
    assert.equal(ratioStats([110, 100, 89], [100, 100, 100])!.settled, false);
  });

  it("judge says met, missed by how much, or unsettled", () => {
    const met = judge(ratioStats([120, 115, 118], [100, 100, 100]), {
      atLeast: 1.1,
    });
    assert.equal(met.status, "met");
    assert.equal(met.measured, "1.18x (rounds 1.15-1.20)");
    const missed = judge(ratioStats([88, 88], [100, 100]), { atLeast: 1.1 });
    assert.equal(missed.status, "missed");
    assert.equal(missed.verdict, "missed, 20% short");
    const over = judge(ratioStats([60, 60], [50, 50]), { atMost: 1.05 });
    assert.equal(over.status, "missed");
    assert.equal(over.verdict, "missed, 14% over");
    const wide = judge(ratioStats([150, 100, 50], [100, 100, 100]), {
      atLeast: 0.9,
    });
    assert.equal(wide.status, "unsettled");
    assert.match(wide.verdict, /^unsettled \(rounds spread over ±10%\)$/);
    const wideLow = judge(ratioStats([80, 50, 30], [100, 100, 100]), {
      atLeast: 0.9,
    });
    assert.equal(wideLow.status, "unsettled");
    assert.match(wideLow.verdict, /every round misses it/);
    assert.equal(judge(null, { atLeast: 1 }).status, "unsettled");
  });

  it("a single measurement is judged without a range", () => {
    const v = judge(ratioStats([700], [600]), { atMost: 1.1 });
    assert.equal(v.status, "missed");
    assert.equal(v.measured, "1.17x (one measurement)");
  });

  it("ratios print with two decimals, small ones with two significant digits", () => {
    assert.equal(fmtRatio(1.054), "1.05x");
    assert.equal(fmtRatio(0.0021), "0.0021x");
    assert.equal(
      fmtStats(ratioStats([2, 1], [1000, 1000])),
      "0.0015x (0.0010-0.0020) unsettled",
    );
    assert.equal(fmtStats(null), "-");
  });

  it("a throughput point where every server gave the same rate is not judged (the loader was the limit)", () => {
    const series = (ops: number[]) => ({
      opsPerSec: ops,
      p50us: ops.map(() => 10),
      p99us: ops.map(() => 20),
      p999us: ops.map(() => 30),
      wrong: 0,
    });
    const point = (rates: Record<string, number[]>): ThroughputPoint => ({
      transport: "tcp",
      mode: "perop",
      pinned: true,
      series: Object.fromEntries(
        Object.entries(rates).map(([k, v]) => [k, series(v)]),
      ),
    });
    const bound = throughputTargets([point({
      "ours-bun": [14_176, 14_180, 14_170],
      memcached: [14_100, 14_120, 14_090],
      redis: [14_109, 14_111, 14_100],
    })]);
    assert.equal(bound[0].status, "unsettled");
    assert.match(bound[0].verdict, /loader's limit/);
    // The same ratio with the servers apart is judged as usual.
    const apart = throughputTargets([point({
      "ours-bun": [14_176, 14_180, 14_170],
      memcached: [14_100, 14_120, 14_090],
      redis: [20_000, 20_100, 19_900],
    })]);
    assert.equal(apart[0].status, "missed");
  });
});
