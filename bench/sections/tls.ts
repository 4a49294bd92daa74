/**
 * The TLS rows: handshakes per second of a Node HTTPS server
 * (`bench/tls_host.mjs`, on the npm build) with full handshakes, with TLS
 * 1.2 sessions resumed through our cache (`useSessionCache`, a server
 * under Bun on a UNIX socket), resumed from a Map in the server's own
 * process, and resumed by Node's own tickets; and the time the cache
 * lookup adds to a resumed handshake. The client is `openssl s_time`
 * (`-new` or `-reuse`), one handshake at a time.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { interleave } from "../_interleave.ts";
import {
  dcAddress,
  freePort,
  oursKind,
  pinned,
  ROOT,
  type Running,
  start,
} from "../_procs.ts";
import { fmtStats, int, median, ratioStats } from "../_stats.ts";
import type { BenchSection, SectionOutput } from "../section.ts";
import { makeCert } from "../../tests/tls/_tls.ts";

/** One `openssl s_time` run. */
export interface STimeResult {
  /** Handshakes per wall-clock second. */
  perSec: number;
  /** Share of them that resumed a session (for `-reuse`). */
  reused: number;
}

// s_time prints '*' for a full handshake and 'r' for a resumed one.
function sTime(
  port: number,
  flag: "-new" | "-reuse",
  seconds: number,
  cpu?: number,
): Promise<STimeResult> {
  const argv = pinned([
    "openssl",
    "s_time",
    "-connect",
    `127.0.0.1:${port}`,
    flag,
    "-time",
    String(seconds),
    "-tls1_2",
  ], cpu);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0], argv.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => out += d);
    child.stderr!.on("data", () => {});
    child.on("error", reject);
    child.on("close", () => {
      const wall = (performance.now() - t0) / 1000;
      const m = /(\d+) connections in [\d.]+s;/.exec(out);
      if (m === null) {
        reject(
          new Error(`openssl s_time printed no count: ${out.slice(-300)}`),
        );
        return;
      }
      const n = Number(m[1]);
      const marks = out.match(/[*r]/g) ?? [];
      const reused = marks.filter((c) => c === "r").length;
      resolve({
        perSec: n / wall,
        reused: marks.length ? reused / marks.length : 0,
      });
    });
  });
}

// The lookup durations a host measured since the last ask (µs).
function lookups(port: number, ca: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    https.get({
      host: "127.0.0.1",
      port,
      path: "/lookups",
      ca,
      servername: "localhost",
    }, (res) => {
      let body = "";
      res.on("data", (d) => body += d);
      res.on("end", () => resolve(JSON.parse(body)));
    }).on("error", reject);
  });
}

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function have(cmd: string, arg: string): boolean {
  return spawnSync(cmd, [arg], { stdio: "ignore" }).status === 0;
}

/** Lookups a host measured: how many, and their p50 and p99 in µs. */
export interface LookupSummary {
  count: number;
  p50: number | null;
  p99: number | null;
}

/** What a run keeps (in `latest.json`), and tables are made from. */
export interface TlsData {
  /** Seconds per round. */
  seconds: number;
  /** Each contender's runs, one per round. */
  rounds: Record<string, (STimeResult | null)[]>;
  /** The lookups of the cache host and the in-memory host. */
  lookups: { cache: LookupSummary; memory: LookupSummary };
}

function summary(xs: number[]): LookupSummary {
  return {
    count: xs.length,
    p50: percentile(xs, 0.5),
    p99: percentile(xs, 0.99),
  };
}

const LABELS: Record<string, string> = {
  full: "full handshakes (-new)",
  cache: "resumed through the cache (session id)",
  memory: "resumed from the server's own memory (session id)",
  tickets: "resumed by Node's tickets",
};

/** The section's tables, from a run's data. */
export function tlsTables(data: TlsData): Omit<SectionOutput, "data"> {
  const { rounds } = data;
  const per = (name: string) => rounds[name].map((r) => r?.perSec ?? null);
  const rows = Object.keys(LABELS).map((name) => {
    const rate = median(per(name));
    const reused = median(rounds[name].map((r) => r?.reused ?? null));
    return [
      LABELS[name],
      rate === null ? "-" : int(rate),
      rate === null ? "-" : int(1e6 / rate),
      fmtStats(ratioStats(per(name), per("full"))),
      name === "full" || reused === null ? "-" : `${Math.round(reused * 100)}%`,
    ];
  });
  const us = (x: number | null) => x === null ? "-" : x.toFixed(0);
  const lookupRow = (what: string, l: LookupSummary) => [
    what,
    int(l.count),
    us(l.p50),
    us(l.p99),
  ];
  return {
    tables: [{
      title: "TLS 1.2 handshakes of a Node HTTPS server",
      head: ["handshakes", "per second", "µs each", "vs full", "resumed"],
      rows,
      note:
        `One openssl s_time client, one handshake at a time, ${data.seconds} s ` +
        "per round; ratios to the same round's full handshakes.",
    }, {
      title: "Time a resumed handshake waits for its session",
      head: ["session from", "lookups", "p50 µs", "p99 µs"],
      rows: [
        lookupRow("the cache", data.lookups.cache),
        lookupRow("the server's memory", data.lookups.memory),
      ],
      note: "In the HTTPS server, from its resumeSession event to the " +
        "answer: useSessionCache on a persistent DcCtx over a UNIX " +
        "socket to our server under Bun, or on a Map.",
    }],
  };
}

/** The section. */
export const tls: BenchSection = {
  name: "tls",
  summary:
    "Node HTTPS handshakes/s: full vs resumed through the cache (openssl s_time)",
  render: (data) => tlsTables(data as TlsData),
  async run(ctx): Promise<SectionOutput> {
    if (!have("openssl", "version") || !have("node", "--version")) {
      ctx.skip("tls: needs openssl and node on PATH");
      return { tables: [] };
    }
    const build = spawnSync("node", ["scripts/build.mjs"], { cwd: ROOT });
    if (build.status !== 0) {
      ctx.skip(`tls: npm build failed: ${build.stderr}`);
      return { tables: [] };
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "distcache-bench-tls-"));
    const running: Running[] = [];
    try {
      // The suite's throwaway certificate (openssl req).
      const { certFile: cert, keyFile: key } = makeCert(dir);
      const at = await ctx.endpoint("unix", "tls-cache");
      running.push(
        await start(oursKind("bun").argv(at, 100_000), at, ctx.pin?.server),
      );
      const host = async (mode: string) => {
        const port = await freePort();
        running.push(
          await start(
            [
              "node",
              "bench/tls_host.mjs",
              mode,
              String(port),
              cert,
              key,
              dcAddress(at),
            ],
            { kind: "tcp", port },
            ctx.pin?.server,
          ),
        );
        return port;
      };
      const cachePort = await host("cache");
      const memoryPort = await host("memory");
      const ticketPort = await host("tickets");
      const ca = fs.readFileSync(cert, "utf8");
      // Count the lookups of the rounds only.
      await lookups(cachePort, ca);
      await lookups(memoryPort, ca);
      const s = ctx.quick ? 1 : Math.max(2, ctx.seconds);
      const cpu = ctx.pin?.loader;
      ctx.log("tls: openssl s_time against Node HTTPS hosts");
      const rounds = await interleave(ctx, "tls", [
        { name: "full", run: () => sTime(cachePort, "-new", s, cpu) },
        { name: "cache", run: () => sTime(cachePort, "-reuse", s, cpu) },
        { name: "memory", run: () => sTime(memoryPort, "-reuse", s, cpu) },
        { name: "tickets", run: () => sTime(ticketPort, "-reuse", s, cpu) },
      ], (r) => `${int(r.perSec)}/s`);
      const viaCache = await lookups(cachePort, ca);
      const viaMemory = await lookups(memoryPort, ca);
      const data: TlsData = {
        seconds: s,
        rounds,
        lookups: { cache: summary(viaCache), memory: summary(viaMemory) },
      };
      return { ...tlsTables(data), data };
    } finally {
      for (const r of running) await r.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
