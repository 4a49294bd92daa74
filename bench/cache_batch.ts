/**
 * In-process benchmark of GETs served one by one against GETs served in
 * batches warmed first ({@linkcode DefaultCache.prototype.warm}: every id
 * of the batch hashed, then their index entries read, then their records,
 * then each GET answered), at a small and a large store. In a large store
 * most of a GET's time is waiting on memory (its index entry, then its
 * record); warming a batch overlaps those waits.
 *
 * Every way is timed once per round, in turn (a different order each
 * round), and compared with the one-by-one run of the same round, so that
 * a neighbour's noise falls on a round rather than on one way; the time is
 * the process's CPU time, which a neighbour taking the core does not add
 * to.
 *
 * ```sh
 * deno run -A bench/cache_batch.ts [--rounds=15] [--ops=50000] [--sizes=1000,1000000] [--batches=8,32]
 * bun bench/cache_batch.ts
 * ```
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import { DefaultCache } from "../dc_server/cache_default.ts";
import { idOf } from "./cache.ts";
import { median } from "./_stats.ts";

/** Options for {@linkcode runCacheBatchBench}. */
export interface CacheBatchOptions {
  /** Store sizes. @default {[1_000, 1_000_000]} */
  sizes?: number[];
  /** Batch sizes to compare with one by one. @default {[8, 32]} */
  batches?: number[];
  /** GETs per timed run. @default {50_000} */
  ops?: number;
  /** Rounds. @default {15} */
  rounds?: number;
  /** Bytes of each session id. @default {16} */
  idBytes?: number;
  /** Bytes of each session's data. @default {512} */
  dataBytes?: number;
  /** Where result lines go. @default {console.log} */
  log?: (line: string) => void;
}

/** One way of serving GETs at one store size. */
export interface CacheBatchRow {
  /** Sessions stored. */
  stored: number;
  /** GETs per batch; 1: one by one, not warmed. */
  batch: number;
  /** Nanoseconds of CPU time (user and system) per GET, per round. */
  nsPerGet: number[];
  /** Median over rounds of (ns per GET / ns per GET one by one). */
  ratio: number;
}

const NOW = 1_000_000;
const TIMEOUT = 3_600_000;
// The answers' bytes go into a buffer of a socket's send-buffer size, as
// the server copies them out.
const OUT_BYTES = 64 << 10;

/**
 * Runs the benchmark and prints one line per round and a summary.
 *
 * @example Small, quick run
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCacheBatchBench } from "./cache_batch.ts";
 *
 * const rows = runCacheBatchBench({ sizes: [1_000], batches: [8], ops: 1000, rounds: 1, log: () => {} });
 * assert.equal(rows.length, 2); // one by one, batches of 8
 * assert.ok(rows.every((r) => r.nsPerGet[0] > 0));
 * ```
 */
export function runCacheBatchBench(
  options: CacheBatchOptions = {},
): CacheBatchRow[] {
  const sizes = options.sizes ?? [1_000, 1_000_000];
  const batches = [1, ...(options.batches ?? [8, 32])];
  const ops = options.ops ?? 50_000;
  const rounds = options.rounds ?? 15;
  const idBytes = options.idBytes ?? 16;
  const dataBytes = options.dataBytes ?? 512;
  const log = options.log ?? console.log;
  const data = new Uint8Array(dataBytes).fill(0x5a);
  const out = new Uint8Array(OUT_BYTES + dataBytes);

  const stores = sizes.map((stored) => {
    const cache = new DefaultCache(Math.max(64, stored));
    const id = new Uint8Array(idBytes);
    for (let k = 0; k < stored; k++) {
      cache.add(NOW, TIMEOUT, idOf(id, k), data);
    }
    // The ids GETs ask for, back to back as requests sit in a read buffer.
    const wire = new Uint8Array(ops * idBytes);
    let seed = 12345 + stored;
    for (let i = 0; i < ops; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) | 0;
      wire.set(idOf(id, (seed >>> 8) % stored), i * idBytes);
    }
    return { stored, cache, wire };
  });

  // One timed run: `ops` GETs in batches of `batch`, each id a fresh view
  // of the wire bytes (as a request's payload is), warmed first unless
  // one by one; every answer copied out.
  const views: Uint8Array[] = [];
  let pos = 0;
  let hits = 0;
  const time = (cache: DefaultCache, wire: Uint8Array, batch: number) => {
    const t0 = process.cpuUsage();
    for (let from = 0; from < ops; from += batch) {
      const to = Math.min(ops, from + batch);
      views.length = 0;
      for (let i = from; i < to; i++) {
        views.push(
          new Uint8Array(wire.buffer, wire.byteOffset + i * idBytes, idBytes),
        );
      }
      if (batch > 1) cache.warm(views);
      for (let k = 0; k < views.length; k++) {
        const got = cache.get(NOW, views[k]);
        if (got === null) continue;
        hits++;
        out.set(got, pos);
        pos = (pos + got.length) & (OUT_BYTES - 1);
      }
    }
    const t = process.cpuUsage(t0);
    return ((t.user + t.system) * 1e3) / ops;
  };

  const rows: CacheBatchRow[] = [];
  for (const s of stores) {
    for (const batch of batches) {
      rows.push({ stored: s.stored, batch, nsPerGet: [], ratio: 0 });
    }
  }
  // A round untimed first, so that every way is compiled before timing.
  for (let r = -1; r < rounds; r++) {
    const line: string[] = [];
    for (const s of stores) {
      const order = batches.map((_, i) =>
        batches[(i + r + 1) % batches.length]
      );
      const got = new Map<number, number>();
      for (const batch of order) got.set(batch, time(s.cache, s.wire, batch));
      if (r < 0) continue;
      for (const batch of batches) {
        const row = rows.find((x) =>
          x.stored === s.stored && x.batch === batch
        )!;
        row.nsPerGet.push(got.get(batch)!);
      }
      line.push(
        `${s.stored} stored: ` +
          batches.map((b) => `${label(b)} ${got.get(b)!.toFixed(0)}`).join(
            "  ",
          ),
      );
    }
    if (r >= 0) log(`round ${r + 1}: ns/GET  ${line.join(" | ")}`);
  }
  if (hits === 0) throw new Error("cache_batch: no GET found its session");
  for (const s of stores) {
    const one = rows.find((x) => x.stored === s.stored && x.batch === 1)!;
    for (const row of rows.filter((x) => x.stored === s.stored)) {
      row.ratio = median(row.nsPerGet.map((ns, i) => ns / one.nsPerGet[i]))!;
    }
    log(
      `${String(s.stored).padStart(9)} stored: median ns/GET ` +
        rows.filter((x) => x.stored === s.stored).map((x) =>
          `${label(x.batch)} ${median(x.nsPerGet)!.toFixed(0)} (${
            x.ratio.toFixed(2)
          }x)`
        ).join("  "),
    );
    s.cache.close();
  }
  return rows;
}

function label(batch: number): string {
  return batch === 1 ? "one-by-one" : `batch-${batch}`;
}

function list(s: string | undefined): number[] | undefined {
  return s === undefined ? undefined : s.split(",").map(Number);
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string" },
      ops: { type: "string" },
      sizes: { type: "string" },
      batches: { type: "string" },
    },
  });
  runCacheBatchBench({
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
    ops: values.ops === undefined ? undefined : Number(values.ops),
    sizes: list(values.sizes),
    batches: list(values.batches),
  });
}
