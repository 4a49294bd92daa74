/**
 * Benchmark of the default session store, without networking: memory per
 * stored session (RSS growth while filling a store) and operations per
 * second at several store sizes.
 *
 * ```sh
 * deno run -A bench/cache.ts
 * bun bench/cache.ts
 * ```
 *
 * @module
 */

import process from "node:process";
import { DefaultCache } from "../dc_server/cache_default.ts";

/** Options for {@linkcode runCacheBench}. */
export interface CacheBenchOptions {
  /** Sessions stored for the memory figure. @default {1_000_000} */
  memorySessions?: number;
  /** Store sizes at which operations are timed. @default {[1_000, 100_000, 1_000_000]} */
  sizes?: number[];
  /** Bytes of each session id. @default {16} */
  idBytes?: number;
  /** Bytes of each session's data. @default {512} */
  dataBytes?: number;
  /** Operations timed per kind and size. @default {1_000_000} */
  ops?: number;
  /** Where result lines go. @default {console.log} */
  log?: (line: string) => void;
}

/** Operations per second at one store size. */
export interface CacheBenchRow {
  /** Sessions stored while timing. */
  stored: number;
  /** GET of a stored id. */
  get: number;
  /** GET of an id not stored. */
  getMiss: number;
  /** HAVE of a stored id. */
  have: number;
  /** REMOVE of a stored id. */
  remove: number;
  /** ADD of a new id (no eviction). */
  add: number;
}

/** What {@linkcode runCacheBench} measured. */
export interface CacheBenchResult {
  /** Sessions stored for the memory figure. */
  memorySessions: number;
  /** Bytes of id plus data per session. */
  payloadBytes: number;
  /** RSS growth per stored session, in bytes. */
  rssPerSession: number;
  /** The store's own count of reserved bytes per session. */
  reservedPerSession: number;
  /** Seconds taken to fill the store for the memory figure. */
  fillSeconds: number;
  /** One row per store size. */
  rows: CacheBenchRow[];
}

const NOW = 1_000_000;
const TIMEOUT = 3_600_000;

/**
 * Runs the benchmark and prints one line per figure.
 *
 * @example Small, quick run
 * ```ts
 * import { runCacheBench } from "./cache.ts";
 *
 * const result = runCacheBench({ memorySessions: 10_000, sizes: [1_000], ops: 10_000 });
 * console.log(result.rows[0].get > 0); // true
 * ```
 */
export function runCacheBench(
  options: CacheBenchOptions = {},
): CacheBenchResult {
  const memorySessions = options.memorySessions ?? 1_000_000;
  const sizes = options.sizes ?? [1_000, 100_000, 1_000_000];
  const idBytes = options.idBytes ?? 16;
  const dataBytes = options.dataBytes ?? 512;
  const ops = options.ops ?? 1_000_000;
  const log = options.log ?? console.log;
  const id = new Uint8Array(idBytes);
  const data = new Uint8Array(dataBytes).fill(0x5a);

  // Memory first, while the process holds little else.
  collect();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const big = new DefaultCache(memorySessions);
  for (let k = 0; k < memorySessions; k++) {
    big.add(NOW, TIMEOUT, idOf(id, k), data);
  }
  const fillSeconds = (performance.now() - t0) / 1000;
  collect();
  const rssPerSession = (process.memoryUsage().rss - rss0) / memorySessions;
  const reservedPerSession = big.reservedBytes() / memorySessions;
  log(
    `fill ${memorySessions} sessions of ${idBytes}+${dataBytes} bytes: ` +
      `${fillSeconds.toFixed(2)} s, RSS ${
        rssPerSession.toFixed(0)
      } B/session, ` +
      `reserved ${reservedPerSession.toFixed(0)} B/session`,
  );

  const rows: CacheBenchRow[] = [];
  for (const stored of sizes) {
    let cache = big;
    if (stored !== memorySessions) {
      cache = new DefaultCache(Math.max(64, stored));
      for (let k = 0; k < stored; k++) {
        cache.add(NOW, TIMEOUT, idOf(id, k), data);
      }
    }
    const row = timeOps(cache, stored, ops, id, data);
    rows.push(row);
    log(
      `${String(stored).padStart(9)} stored: ` +
        `get ${rate(row.get)}  get-miss ${rate(row.getMiss)}  ` +
        `have ${rate(row.have)}  remove ${rate(row.remove)}  ` +
        `add ${rate(row.add)}  ops/s`,
    );
    if (cache !== big) cache.close();
  }
  big.close();
  return {
    memorySessions,
    payloadBytes: idBytes + dataBytes,
    rssPerSession,
    reservedPerSession,
    fillSeconds,
    rows,
  };
}

function timeOps(
  cache: DefaultCache,
  stored: number,
  ops: number,
  id: Uint8Array,
  data: Uint8Array,
): CacheBenchRow {
  // Random stored ids, drawn before timing.
  const picks = new Int32Array(ops);
  let seed = 12345;
  for (let i = 0; i < ops; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    picks[i] = (seed >>> 8) % stored;
  }
  const timed = (step: (i: number) => unknown): number => {
    const t0 = performance.now();
    for (let i = 0; i < ops; i++) step(i);
    return ops / ((performance.now() - t0) / 1000);
  };
  const get = timed((i) => cache.get(NOW, idOf(id, picks[i])));
  const getMiss = timed((i) => cache.get(NOW, idOf(id, stored + picks[i])));
  const have = timed((i) => cache.have(NOW, idOf(id, picks[i])));
  // Remove a window of stored ids, then add them back: the count stays at
  // `stored`, so no ADD evicts.
  const batch = Math.min(stored, 10_000);
  let removeMs = 0;
  let addMs = 0;
  for (let done = 0; done < ops; done += batch) {
    const from = done % stored;
    const t0 = performance.now();
    for (let k = from; k < from + batch; k++) {
      cache.remove(NOW, idOf(id, k % stored));
    }
    const t1 = performance.now();
    for (let k = from; k < from + batch; k++) {
      cache.add(NOW, TIMEOUT, idOf(id, k % stored), data);
    }
    removeMs += t1 - t0;
    addMs += performance.now() - t1;
  }
  const done = Math.ceil(ops / batch) * batch;
  return {
    stored,
    get,
    getMiss,
    have,
    remove: done / (removeMs / 1000),
    add: done / (addMs / 1000),
  };
}

/**
 * Writes id number k into `id`: the bytes of k spread by a multiplicative
 * mix, so ids look random rather than sharing long prefixes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { idOf } from "./cache.ts";
 *
 * assert.notDeepEqual(idOf(new Uint8Array(16), 1), idOf(new Uint8Array(16), 2));
 * ```
 */
export function idOf(id: Uint8Array, k: number): Uint8Array {
  let x = k;
  for (let i = 0; i < id.length; i += 4) {
    x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i;
    id[i] = x;
    id[i + 1] = x >>> 8;
    id[i + 2] = x >>> 16;
    id[i + 3] = x >>> 24;
  }
  return id;
}

function rate(perSec: number): string {
  return `${(perSec / 1e6).toFixed(2)}M`.padStart(6);
}

function collect(): void {
  // Exposed by `--v8-flags=--expose-gc` (Deno) or `--expose-gc` (Node).
  (globalThis as { gc?: () => void }).gc?.();
}

if (import.meta.main) runCacheBench();
