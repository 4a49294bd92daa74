/**
 * The shape of a benchmark run's results (`bench/results/latest.json`).
 *
 * @module
 */

import type { CodecResult } from "./codec.ts";

/** One throughput point: median of the repetitions. */
export interface ThroughputRow {
  /** `unix` or `tcp`. */
  transport: "unix" | "tcp";
  /** `ours-deno`, `ours-bun`, `memcached`, `redis`. */
  server: string;
  /** `c1`, `c8`, `c64` (persistent connections) or `perop` (8 workers, one connection per operation). */
  mode: string;
  /** Median ops/s. */
  opsPerSec: number;
  /** Every repetition's ops/s. */
  runs: number[];
  /** Latency percentiles of the median run, microseconds. */
  p50us: number;
  /** 99th percentile. */
  p99us: number;
  /** 99.9th percentile. */
  p999us: number;
}

/** Throughput with a given number of sessions stored. */
export interface ScaleRow {
  /** Server name. */
  server: string;
  /** Sessions stored (GETs pick among them). */
  stored: number;
  /** Median ops/s, 8 persistent connections over UNIX. */
  opsPerSec: number;
  /** Every repetition's ops/s. */
  runs: number[];
  /** Server RSS after the runs, bytes. */
  rss: number;
}

/** Memory of a server filled with 512-byte sessions. */
export interface MemoryRow {
  /** Server name. */
  server: string;
  /** Sessions stored. */
  stored: number;
  /** RSS before filling, bytes. */
  rssEmpty: number;
  /** RSS once filled, bytes. */
  rssFull: number;
  /** (rssFull - rssEmpty) / stored. */
  bytesPerSession: number;
}

/** Through our proxy versus straight to the server. */
export interface ProxyRow {
  /** Runtime of both server and proxy. */
  runtime: string;
  /** `perop` or `c8`. */
  mode: string;
  /** Median ops/s straight to the server. */
  direct: number;
  /** Median ops/s through the proxy. */
  proxied: number;
}

/** A target of the issue, with what was measured. */
export interface TargetRow {
  /** What is aimed at. */
  target: string;
  /** The figure measured. */
  measured: string;
  /** Whether the figure meets the target. */
  met: boolean;
}

/** Everything one run measured. */
export interface BenchResults {
  /** ISO date of the run. */
  date: string;
  /** Cores, memory, kernel, runtime and peer versions. */
  machine: Record<string, string | number>;
  /** Repetitions per point, timed seconds per repetition. */
  settings: { reps: number; seconds: number; quick: boolean };
  /** Why rows are missing, if any are. */
  skipped: string[];
  /** Codec figures per runtime. */
  codec: Record<string, CodecResult[]>;
  /** Server throughput and latency. */
  throughput: ThroughputRow[];
  /** Throughput against stored sessions. */
  scale: ScaleRow[];
  /** Memory per stored session. */
  memory: MemoryRow[];
  /** Proxy against direct. */
  proxy: ProxyRow[];
  /** The targets. */
  targets: TargetRow[];
}
