// The store section's judgement: what its targets say of a run.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Series } from "../../bench/_interleave.ts";
import {
  type StoreData,
  storeTables,
  storeTargets,
} from "../../bench/sections/store.ts";

function series(ops: number[], p50: number[]): Series {
  return {
    opsPerSec: ops,
    p50us: p50,
    p99us: p50.map((x) => x * 3),
    p999us: p50.map((x) => x * 5),
    wrong: 0,
  };
}

const data: StoreData = {
  points: {
    c1: {
      "bun redis": series([30_000, 20_000, 31_000], [25, 60, 26]),
      "redis direct": series([80_000, 40_000, 82_000], [8, 40, 9]),
    },
    c64: {
      "bun redis": series([85_000, 50_000, 86_000], [700, 1200, 690]),
      "redis direct": series([100_000, 60_000, 100_000], [500, 900, 510]),
      "bun proxy redis": series([70_000, 42_000, 71_000], [800, 1500, 790]),
      "bun chain redis": series([35_000, 20_000, 35_500], [1200, 2000, 1190]),
    },
  },
};

describe("bench store section", () => {
  it("judges throughput on per-round ratios and the added p50 on per-round differences", () => {
    const t = storeTargets(data);
    const through = t.find((x) =>
      x.target.startsWith("ours (Bun) on Redis >=")
    )!;
    assert.equal(through.status, "met"); // 0.85, 0.83, 0.86 per round
    const added = t.find((x) =>
      x.target.startsWith("ours (Bun) on Redis: p50 added")
    )!;
    // Per round 17, 20, 17 µs: the slow round does not count double.
    assert.equal(added.measured, "17 µs");
    assert.equal(added.status, "met");
    // The proxy straight on Redis: 0.70, 0.70, 0.71 per round.
    const proxy = t.find((x) =>
      x.target.startsWith("our proxy (Bun) on Redis >=")
    )!;
    assert.equal(proxy.status, "missed");
    assert.deepEqual(
      t.map((x) => x.target.split(/ >=|:/)[0]),
      [
        "ours (Bun) on Redis",
        "ours (Bun) on Redis",
        "our proxy (Bun) on Redis",
      ],
      "no Deno, Cluster or proxy -> server targets without their data",
    );
  });

  it("shows the proxy straight on Redis, and against the proxy linked to a server on Redis", () => {
    const [ops, ratios] = storeTables(data);
    const col = ops.head.indexOf("our proxy (Bun) on Redis, UNIX");
    assert.ok(col > 0);
    assert.deepEqual(ops.rows.map((r) => r[col]), ["-", "70,000"]);
    const vs = ratios.head.indexOf("bun proxy on Redis / proxy -> server");
    assert.match(ratios.rows[1][vs], /^2\.00x \(2\.00-2\.10\)/);
    assert.ok(!ops.head.some((h) => h.includes("Deno) on Redis, UNIX")));
  });
});
