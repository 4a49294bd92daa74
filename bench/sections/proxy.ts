/**
 * The proxy (`distcache client`) rows: 64 connections through it against
 * straight to the server, 1,000 active local clients against 64, a
 * connection per operation, and one client's GET rate while 0, 1,000 or
 * 5,000 other local connections sit idle. Server and proxy run under the
 * same runtime, over UNIX; every row of both runtimes is interleaved round
 * by round. Unpinned: server, proxy and loader are three busy processes on
 * two CPUs.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import {
  type Contender,
  interleave,
  loaderContender,
  showOps,
} from "../_interleave.ts";
import {
  bunPath,
  type Endpoint,
  fdCount,
  load,
  oursKind,
  proxyArgv,
  ROOT,
  type Running,
  start,
} from "../_procs.ts";
import {
  fmtGoal,
  fmtStats,
  type Goal,
  int,
  medianInt,
  ratioStats,
  targetRow,
} from "../_stats.ts";
import type { LoaderJob, LoaderResult } from "../loader.ts";
import type {
  BenchContext,
  BenchSection,
  ReportTable,
  SectionOutput,
  TargetRow,
} from "../section.ts";

/** Idle local connections of the one-client rows. */
const IDLE = [0, 1_000, 5_000];

/** A row of the proxy table: what is loaded, and what it is compared with. */
interface Row {
  /** Contender name (prefixed with the runtime when measured). */
  name: string;
  /** How it reads in the table. */
  label: string;
  /** The row it is divided by, and the target (worded around its goal) when there is one. */
  against?: { name: string; goal?: Goal; target?: (goal: string) => string };
}

const ROWS: Row[] = [
  { name: "direct c64", label: "server direct, 64 conns" },
  {
    name: "proxy c64",
    label: "via proxy, 64 conns",
    against: {
      name: "direct c64",
      goal: { atLeast: 0.8 },
      target: (g) => `64 conns through the proxy ${g} straight to the server`,
    },
  },
  {
    name: "proxy c1000",
    label: "via proxy, 1,000 conns",
    against: {
      name: "proxy c64",
      goal: { atLeast: 0.9 },
      target: (g) => `1,000 active local clients ${g} 64 active`,
    },
  },
  { name: "direct perop", label: "server direct, conn per op (8)" },
  {
    name: "proxy perop",
    label: "via proxy, conn per op (8)",
    against: { name: "direct perop" },
  },
  ...IDLE.map((n): Row => ({
    name: `idle ${n}`,
    label: `via proxy, 1 client's GETs, ${int(n)} idle`,
    against: n === 0 ? undefined : {
      name: "idle 0",
      goal: { atLeast: 0.9 },
      target: (g) =>
        `one client's GETs with ${int(n)} idle local conns ${g} with none`,
    },
  })),
];

const JOBS: Record<string, Partial<LoaderJob>> = {
  c64: { conns: 64 },
  c1000: { conns: 1000 },
  perop: { conns: 8, mode: "perop" },
  get1: { conns: 1, getRatio: 1 },
};

/** What the section keeps. */
export interface ProxyData {
  /** Per runtime, per row name: ops/s per round. */
  runtimes: Record<string, Record<string, (number | null)[]>>;
  /** When it was measured (ISO date), and how when not with the whole run. */
  taken?: string;
}

/** The proxy table. */
export function proxyTables(d: ProxyData): ReportTable[] {
  const data = d.runtimes;
  const runtimes = Object.keys(data);
  return [{
    title:
      "Proxy (client), UNIX, ops/s: median of the rounds, and ratio per round",
    head: [
      "load",
      ...runtimes.flatMap((r) => [`${r} ops/s`, `${r} ratio`]),
      "ratio of",
    ],
    rows: ROWS.map((row) => [
      row.label,
      ...runtimes.flatMap((r) => {
        return [
          medianInt(data[r][row.name] ?? []),
          row.against
            ? fmtStats(
              ratioStats(
                data[r][row.name] ?? [],
                data[r][row.against.name] ?? [],
              ),
            )
            : "",
        ];
      }),
      row.against
        ? `/ ${ROWS.find((x) => x.name === row.against!.name)!.label}`
        : "",
    ]),
    note:
      "90% GET / 10% ADD of 512 B except the one-client rows (GETs only); server and proxy under the same runtime." +
      (d.taken ? ` Measured ${d.taken}.` : ""),
  }];
}

/** The proxy targets. */
export function proxyTargets(d: ProxyData): TargetRow[] {
  const out: TargetRow[] = [];
  for (const [runtime, rows] of Object.entries(d.runtimes)) {
    for (const row of ROWS) {
      const a = row.against;
      if (!a?.goal) continue;
      out.push(targetRow(
        `${runtime} proxy: ${a.target!(fmtGoal(a.goal))}`,
        rows[row.name] ?? [],
        rows[a.name] ?? [],
        a.goal,
      ));
    }
  }
  return out;
}

/** Holds `conns` idle connections to `at` until stopped. */
function holdIdle(at: Endpoint, conns: number): Promise<{ stop(): void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bunPath(), [
      "bench/_hold.ts",
      JSON.stringify({ path: (at as { path: string }).path, conns }),
    ], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const stop = () => {
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    child.stdout!.on("data", (d) => {
      out += d;
      if (/ready \d+/.test(out)) resolve({ stop });
    });
    child.stderr!.on("data", (d) => err += d);
    child.on(
      "exit",
      (code) =>
        reject(new Error(`idle holder exited (${code}): ${err.trim()}`)),
    );
  });
}

// Waits until the proxy has accepted the held connections (its open
// descriptors count them, give or take the few a runtime opens and closes
// of its own), so that the rows measure a proxy that holds them.
async function accepted(proxy: Running, atLeast: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (fdCount(proxy.child.pid!) < atLeast - 4) {
    if (Date.now() > deadline) {
      throw new Error(
        `the proxy holds ${
          fdCount(proxy.child.pid!)
        } descriptors, expected ${atLeast}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function setUp(
  ctx: BenchContext,
  runtime: "bun" | "deno",
  cleanup: (() => Promise<void> | void)[],
): Promise<Contender<LoaderResult>[]> {
  const kind = oursKind(runtime);
  const at = await ctx.endpoint("unix", `${runtime}-behind-proxy`);
  const server = await start(kind.argv(at, 200_000), at);
  cleanup.push(() => server.stop());
  await load({ action: "fill", proto: "dc", ids: 10_000 }, at);
  const proxies = new Map<number, Endpoint>();
  for (const n of IDLE) {
    const local = await ctx.endpoint("unix", `${runtime}-proxy-${n}`);
    const p = await start(proxyArgv(runtime, local, at), local);
    cleanup.push(() => p.stop());
    if (n > 0) {
      const base = fdCount(p.child.pid!);
      const h = await holdIdle(local, n);
      cleanup.push(() => h.stop());
      await accepted(p, base + n);
    }
    proxies.set(n, local);
  }
  const via = proxies.get(0)!;
  const job = (j: Partial<LoaderJob>): LoaderJob => ({
    action: "run",
    proto: "dc",
    ...j,
  });
  const c = (name: string, j: Partial<LoaderJob>, to: Endpoint) =>
    loaderContender(ctx, `${runtime} ${name}`, job(j), to, false);
  return [
    c("direct c64", JOBS.c64, at),
    c("proxy c64", JOBS.c64, via),
    c("proxy c1000", JOBS.c1000, via),
    c("direct perop", JOBS.perop, at),
    c("proxy perop", JOBS.perop, via),
    ...IDLE.map((n) => c(`idle ${n}`, JOBS.get1, proxies.get(n)!)),
  ];
}

function render(d: ProxyData): Omit<SectionOutput, "data"> {
  return { tables: proxyTables(d), targets: proxyTargets(d) };
}

/** The section. */
export const proxy: BenchSection = {
  name: "proxy",
  summary:
    "the proxy: 64 conns vs direct, 1,000 vs 64 active, one client with 0/1k/5k idle",
  render: (data) => render(data as ProxyData),
  async run(ctx): Promise<SectionOutput> {
    const cleanup: (() => Promise<void> | void)[] = [];
    try {
      const contenders: Contender<LoaderResult>[] = [];
      for (const runtime of ["bun", "deno"] as const) {
        ctx.log(`proxy: server and proxies under ${runtime}`);
        contenders.push(...await setUp(ctx, runtime, cleanup));
      }
      const rounds = await interleave(ctx, "proxy", contenders, showOps);
      const data: ProxyData = {
        runtimes: {},
        taken: new Date().toISOString().slice(0, 10),
      };
      for (const [name, rs] of Object.entries(rounds)) {
        const [runtime, ...rest] = name.split(" ");
        (data.runtimes[runtime] ??= {})[rest.join(" ")] = rs.map((r) =>
          r === null ? null : r.opsPerSec
        );
      }
      return { ...render(data), data };
    } finally {
      for (const f of cleanup.reverse()) await f();
    }
  },
};
