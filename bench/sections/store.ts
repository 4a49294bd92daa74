/**
 * The Redis store rows (`deno task bench --only=store`): ops/s and p50/p99
 * of the 90/10 mix at 1, 8 and 64 connections for our server on its
 * default store, our server on a Redis store, and Redis itself driven by
 * the same loader (RESP, the same `dc:` keys); then the same against a
 * 3-master Cluster (the loader sending each key to its slot's master, as a
 * Cluster client does). Everything over TCP loopback, unpinned (loader,
 * server and Redis are three busy processes on the machine's CPUs), every
 * contender of a load interleaved round by round. Our proxy straight on
 * the store (`client -store`) is measured over a UNIX socket, as a web host
 * runs it, and beside it the deployment it replaces: our proxy linked to
 * our server on Redis.
 *
 * @module
 */

import {
  type Contender,
  interleave,
  loaderContender,
  type Series,
  seriesOf,
  showOps,
  type Started,
  withServers,
} from "../_interleave.ts";
import {
  type Endpoint,
  load,
  oursKind,
  oursOnStoreKind,
  proxyArgv,
  REDIS,
  type ServerKind,
  start,
  versionOf,
} from "../_procs.ts";
import {
  fmtGoal,
  fmtStats,
  type Goal,
  median,
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
import { RedisCluster } from "../../tests/_redis.ts";

const MODES = ["c1", "c8", "c64"];
const LABEL: Record<string, string> = {
  c1: "1 conn",
  c8: "8 conns",
  c64: "64 conns",
};
const RUNTIMES = ["bun", "deno"] as const;

/** Columns in display order: contender name and heading. */
const COLUMNS: [string, string][] = [
  ["bun default", "ours (Bun), default store"],
  ["deno default", "ours (Deno), default store"],
  ["bun redis", "ours (Bun) on Redis"],
  ["deno redis", "ours (Deno) on Redis"],
  ["bun proxy redis", "our proxy (Bun) on Redis, UNIX"],
  ["deno proxy redis", "our proxy (Deno) on Redis, UNIX"],
  ["bun chain redis", "our proxy (Bun) -> ours (Bun) on Redis, UNIX"],
  ["redis direct", "Redis direct"],
  ["bun cluster", "ours (Bun) on Cluster"],
  ["deno cluster", "ours (Deno) on Cluster"],
  ["bun proxy cluster", "our proxy (Bun) on Cluster, UNIX"],
  ["deno proxy cluster", "our proxy (Deno) on Cluster, UNIX"],
  ["cluster direct", "Cluster direct"],
];

/** Ours on a store: contender, label, the store driven directly, whether a target applies. */
const ON_STORE: [string, string, string, boolean][] = [
  ["bun redis", "ours (Bun) on Redis", "redis direct", true],
  ["deno redis", "ours (Deno) on Redis", "redis direct", true],
  ["bun proxy redis", "our proxy (Bun) on Redis", "redis direct", true],
  ["deno proxy redis", "our proxy (Deno) on Redis", "redis direct", true],
  [
    "bun chain redis",
    "our proxy -> ours (Bun) on Redis",
    "redis direct",
    false,
  ],
  ["bun cluster", "ours (Bun) on Cluster", "cluster direct", true],
  ["deno cluster", "ours (Deno) on Cluster", "cluster direct", true],
  ["bun proxy cluster", "our proxy (Bun) on Cluster", "cluster direct", true],
  ["deno proxy cluster", "our proxy (Deno) on Cluster", "cluster direct", true],
];

/** Ours on a store against the store driven directly. */
const THROUGHPUT_GOAL: Goal = { atLeast: 0.8 };
/** Microseconds ours on Redis may add to Redis's own p50, one at a time. */
const ADDED_P50_US = 50;

/** What the section keeps: per load, per contender. */
export interface StoreData {
  /** Per mode (`c1`, `c8`, `c64`), per contender name. */
  points: Record<string, Record<string, Series>>;
  /** When it was measured (ISO date). */
  taken?: string;
  /** What else the machine was doing meanwhile, when known. */
  background?: string;
}

function cell(s: Series | undefined): string {
  if (s === undefined) return "-";
  return `${medianInt(s.opsPerSec)}${s.wrong ? ` (${s.wrong} wrong)` : ""}`;
}

/** Per-round differences of two latency series, their median. */
function addedP50(a: Series, b: Series): number | null {
  const d = a.p50us.map((x, i) => {
    const y = b.p50us[i];
    return x === null || y === null ? null : x - y;
  });
  return median(d);
}

function fmtUs(x: number | null): string {
  return x === null ? "-" : x.toFixed(1);
}

/** The tables. */
export function storeTables(d: StoreData): ReportTable[] {
  const modes = MODES.filter((m) => d.points[m] !== undefined);
  const has = (name: string) => modes.some((m) => d.points[m][name]);
  // A --baseline run's `base ...` contenders, each beside its own.
  const bases = ON_STORE.filter(([name]) => has(`base ${name}`));
  const present = [
    ...COLUMNS,
    ...bases.map(([name, label]): [string, string] => [
      `base ${name}`,
      `base: ${label}`,
    ]),
  ].filter(([name]) => has(name));
  const pairs: [string, string, string][] = [
    ["bun redis", "redis direct", "bun on Redis / Redis"],
    ["deno redis", "redis direct", "deno on Redis / Redis"],
    ["bun proxy redis", "redis direct", "bun proxy on Redis / Redis"],
    ["deno proxy redis", "redis direct", "deno proxy on Redis / Redis"],
    [
      "bun proxy redis",
      "bun chain redis",
      "bun proxy on Redis / proxy -> server",
    ],
    ["bun cluster", "cluster direct", "bun on Cluster / Cluster"],
    ["deno cluster", "cluster direct", "deno on Cluster / Cluster"],
    ["bun proxy cluster", "cluster direct", "bun proxy on Cluster / Cluster"],
    ["deno proxy cluster", "cluster direct", "deno proxy on Cluster / Cluster"],
    ["bun redis", "bun default", "bun on Redis / bun default"],
    ["deno redis", "deno default", "deno on Redis / deno default"],
    ...bases.map(([name, label]): [string, string, string] => [
      name,
      `base ${name}`,
      `${label} / base`,
    ]),
  ];
  const latencyRows: string[][] = [];
  for (const m of modes) {
    for (const [name, label] of present) {
      const s = d.points[m][name];
      if (s === undefined) continue;
      latencyRows.push([
        LABEL[m],
        label,
        medianInt(s.p50us),
        medianInt(s.p99us),
      ]);
    }
  }
  const added: string[][] = [];
  const onStore = [
    ...ON_STORE,
    ...bases.map(([name, label, direct, target]): typeof ON_STORE[number] => [
      `base ${name}`,
      `base: ${label}`,
      direct,
      target,
    ]),
  ];
  for (const m of modes) {
    for (const [name, label, direct] of onStore) {
      const a = d.points[m][name];
      const b = d.points[m][direct];
      if (!a || !b) continue;
      const x = addedP50(a, b);
      added.push([LABEL[m], label, x === null ? "-" : `${Math.round(x)}`]);
    }
  }
  const cpuRows: string[][] = [];
  for (const m of modes) {
    for (const [name, label] of present) {
      const s = d.points[m][name];
      const server = median(s?.cpuUsPerOp ?? []);
      const store = median(s?.storeUsPerOp ?? []);
      if (server === null && store === null) continue;
      cpuRows.push([LABEL[m], label, fmtUs(server), fmtUs(store)]);
    }
  }
  const cpu: ReportTable[] = cpuRows.length === 0 ? [] : [{
    title:
      "Store: CPU per operation, microseconds (every thread, warm-up included): median of the rounds",
    head: ["load", "contender", "server", "Redis"],
    rows: cpuRows,
    note:
      "Redis's column is the standalone Redis's time per answer the loader got: what ours on it costs Redis, against what Redis driven directly costs itself.",
  }];
  return [
    {
      title:
        "Store: ops/s, TCP (90% GET / 10% ADD, 512 B): median of the rounds",
      head: ["load", ...present.map(([, label]) => label)],
      rows: modes.map((m) => [
        LABEL[m],
        ...present.map(([name]) => cell(d.points[m][name])),
      ]),
      note:
        "Everything over TCP loopback, unpinned; Redis without persistence, the Cluster of 3 masters without replicas; the direct rows drive Redis with the same loader (RESP, the same dc: keys; per master of its slot for the Cluster). Our proxy (client -store) listens on a UNIX socket, as on a web host; the proxy -> ours row is the deployment it replaces (the proxy on UNIX, linked over TCP to our server on Redis)." +
        (d.taken ? ` Measured ${d.taken}` : "") +
        (d.background ? `, ${d.background}.` : d.taken ? "." : ""),
    },
    {
      title: "Store: ratios per round, median (min-max)",
      head: ["load", ...pairs.map(([, , label]) => label)],
      rows: modes.map((m) => [
        LABEL[m],
        ...pairs.map(([a, b]) =>
          fmtStats(
            ratioStats(
              d.points[m][a]?.opsPerSec ?? [],
              d.points[m][b]?.opsPerSec ?? [],
            ),
          )
        ),
      ]),
    },
    {
      title: "Store: latency, microseconds, median of the rounds",
      head: ["load", "contender", "p50", "p99"],
      rows: latencyRows,
    },
    {
      title:
        "Store: p50 that ours adds to the store's own (median of per-round differences, µs)",
      head: ["load", "contender", "added p50"],
      rows: added,
    },
    ...cpu,
  ];
}

/** The targets: 0.8x of the store direct at 64 conns, under 50 µs added p50 one at a time. */
export function storeTargets(d: StoreData): TargetRow[] {
  const out: TargetRow[] = [];
  const c64 = d.points.c64;
  const c1 = d.points.c1;
  for (const [name, label, direct, target] of ON_STORE) {
    if (!target) continue;
    const what = direct === "redis direct" ? "Redis" : "the Cluster";
    const a = c64?.[name];
    const b = c64?.[direct];
    if (a && b) {
      out.push(targetRow(
        `${label} ${fmtGoal(THROUGHPUT_GOAL)} ${what} direct, 64 conns`,
        a.opsPerSec,
        b.opsPerSec,
        THROUGHPUT_GOAL,
      ));
    }
    const x = c1?.[name];
    const y = c1?.[direct];
    if (x && y) {
      const added = addedP50(x, y);
      const met = added !== null && added < ADDED_P50_US;
      out.push({
        target:
          `${label}: p50 added to ${what}'s own < ${ADDED_P50_US} µs, 1 conn`,
        measured: added === null ? "-" : `${Math.round(added)} µs`,
        verdict: added === null ? "not measured" : met ? "met" : "missed",
        status: added === null ? "unsettled" : met ? "met" : "missed",
      });
    }
  }
  return out;
}

function render(d: StoreData): Omit<SectionOutput, "data"> {
  return { tables: storeTables(d), targets: storeTargets(d) };
}

type SlotMap = Awaited<ReturnType<RedisCluster["slotMap"]>>;

/** Starts a 3-master Cluster, or says why it cannot. */
async function cluster(
  ctx: BenchContext,
): Promise<RedisCluster | null> {
  try {
    return await RedisCluster.start(1000, 0);
  } catch (e) {
    ctx.skip(`store: no Redis Cluster: ${(e as Error).message}`);
    return null;
  }
}

/** The section. */
export const store: BenchSection = {
  name: "store",
  summary:
    "our server on a Redis store (standalone and a 3-master Cluster) against Redis driven directly, 1/8/64 conns",
  render: (data) => render(data as StoreData),
  async run(ctx): Promise<SectionOutput> {
    if (versionOf("redis-server") === null) {
      ctx.skip("store: redis-server is not installed");
      return { tables: [] };
    }
    const redisAt = await ctx.endpoint("tcp", "store-redis");
    const port = (redisAt as { port: number }).port;
    const redis = await start(REDIS.argv(redisAt, 0), redisAt);
    const c = await cluster(ctx);
    try {
      const clusterMap = c ? await c.slotMap() : null;
      const redisUrl = `redis://127.0.0.1:${port}`;
      const kinds: ServerKind[] = [];
      for (const rt of RUNTIMES) {
        kinds.push(
          { ...oursKind(rt), name: `${rt} default` },
          ...onStore(rt, "redis", redisUrl, "server", ctx.baseline),
        );
        if (c) {
          kinds.push(...onStore(rt, "cluster", c.url, "server", ctx.baseline));
        }
      }
      return await withServers(
        ctx,
        kinds,
        "tcp",
        200_000,
        (servers) =>
          withServers(
            ctx,
            proxyKinds(servers, redisUrl, c?.url, ctx.baseline),
            "unix",
            0,
            (proxies) => measure([...servers, ...proxies], clusterMap),
            false,
          ),
        false,
      );
    } finally {
      await c?.stop();
      await redis.stop();
    }

    async function measure(
      up: Started[],
      clusterMap: SlotMap | null,
    ): Promise<SectionOutput> {
      const at = (name: string) => up.find((s) => s.kind.name === name)?.at;
      const fill = (to: Endpoint | undefined) =>
        to && load({ action: "fill", proto: "dc", ids: 10_000 }, to);
      for (const rt of RUNTIMES) await fill(at(`${rt} default`));
      // Through one of ours: the keys Redis then holds are the store's.
      await fill(at("bun redis"));
      await fill(at("bun cluster"));
      const points: StoreData["points"] = {};
      for (const mode of MODES) {
        const conns = Number(mode.slice(1));
        const job: LoaderJob = { action: "run", proto: "dc", conns };
        // CPU per answer: the server's, and Redis's behind it (standalone).
        const contenders: Contender<LoaderResult>[] = up.map((s) =>
          loaderContender(
            ctx,
            s.kind.name,
            job,
            s.at,
            false,
            s.server,
            s.kind.name.endsWith(" redis") ? redis : undefined,
          )
        );
        contenders.push(loaderContender(
          ctx,
          "redis direct",
          {
            action: "run",
            proto: "redis",
            conns,
            keyPrefix: "dc:",
          },
          redisAt,
          false,
          undefined,
          redis,
        ));
        if (clusterMap) {
          contenders.push(loaderContender(
            ctx,
            "cluster direct",
            {
              action: "run",
              proto: "redis",
              conns,
              keyPrefix: "dc:",
              cluster: clusterMap,
            },
            { kind: "tcp", port: clusterMap[0].port },
            false,
          ));
        }
        const rounds = await interleave(
          ctx,
          `store ${LABEL[mode]}`,
          contenders,
          showOps,
        );
        points[mode] = {};
        for (const [name, rs] of Object.entries(rounds)) {
          points[mode][name] = seriesOf(rs);
        }
      }
      const data: StoreData = {
        points,
        taken: new Date().toISOString().slice(0, 10),
      };
      return { ...render(data), data };
    }
  },
};

/**
 * Our proxies over UNIX: straight on Redis and on the Cluster (each
 * runtime), and, for the deployment it replaces, linked to our server on
 * Redis (Bun).
 */
function proxyKinds(
  servers: Started[],
  redisUrl: string,
  clusterUrl: string | undefined,
  baseline: string | undefined,
): ServerKind[] {
  const kinds: ServerKind[] = [];
  for (const rt of RUNTIMES) {
    kinds.push(...onStore(rt, "proxy redis", redisUrl, "client", baseline));
    if (clusterUrl !== undefined) {
      kinds.push(
        ...onStore(rt, "proxy cluster", clusterUrl, "client", baseline),
      );
    }
  }
  const server = servers.find((s) => s.kind.name === "bun redis");
  if (server !== undefined) {
    kinds.push({
      name: "bun chain redis",
      proto: "dc",
      argv: (at) => proxyArgv("bun", at, server.at),
    });
  }
  return kinds;
}

/**
 * Ours on a store (`bun redis`, `deno proxy cluster`...) and, with a
 * `--baseline` checkout, the same of that checkout (`base bun redis`...),
 * measured in the same rounds.
 */
function onStore(
  rt: "bun" | "deno",
  what: string,
  url: string,
  tool: "server" | "client",
  baseline: string | undefined,
): ServerKind[] {
  const ours = oursOnStoreKind(rt, `${rt} ${what}`, url, tool);
  if (baseline === undefined) return [ours];
  return [
    ours,
    oursOnStoreKind(rt, `base ${rt} ${what}`, url, tool, baseline),
  ];
}
