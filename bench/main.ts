/**
 * `deno task bench`: starts the servers itself (ours under Deno and under
 * Bun, memcached, Redis), loads them from a separate process, prints the
 * figures and the ratios, and writes `bench/results/latest.json`,
 * `latest.svg` and `README.md`.
 *
 * ```sh
 * deno task bench            # full run: median of 3, 3 s per point (~12 min)
 * deno task bench --quick    # 1 run of 1 s per point, smaller stores; writes nothing unless --out
 * deno task bench --only=throughput,proxy --skip-peers
 * ```
 *
 * @module
 */

import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  bunPath,
  denoPath,
  type Endpoint,
  ensurePeers,
  freePort,
  load,
  oursKind,
  proxyArgv,
  ROOT,
  runJson,
  type Running,
  type ServerKind,
  start,
  versionOf,
} from "./_procs.ts";
import {
  evaluateTargets,
  int,
  machineLine,
  markdownReport,
  MODES,
  svgChart,
  textReport,
} from "./_report.ts";
import type {
  BenchResults,
  MemoryRow,
  ProxyRow,
  ScaleRow,
  ThroughputRow,
} from "./_results.ts";
import type { CodecResult } from "./codec.ts";
import type { LoaderJob, LoaderResult } from "./loader.ts";

const SECTIONS = ["codec", "throughput", "scale", "memory", "proxy"];

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "skip-peers": { type: "boolean", default: false },
    out: { type: "string" },
    render: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(
    `deno task bench [--quick] [--only=${
      SECTIONS.join(",")
    }] [--skip-peers] [--out=dir] [--render]

  --quick       one run of 1 s per point, stores up to 100,000; writes files only with --out
  --only        run only these sections
  --skip-peers  leave memcached and Redis out
  --out         where to write latest.json, latest.svg and README.md (default bench/results)
  --render      measure nothing: redraw README.md and latest.svg from the out dir's latest.json`,
  );
  process.exit(0);
}

if (flags.render) {
  const dir = flags.out ?? join(ROOT, "bench/results");
  const saved = JSON.parse(
    readFileSync(join(dir, "latest.json"), "utf8"),
  ) as BenchResults;
  writeFileSync(join(dir, "latest.svg"), svgChart(saved));
  writeFileSync(join(dir, "README.md"), markdownReport(saved));
  console.log(textReport(saved));
  process.exit(0);
}

const quick = flags.quick;
const reps = quick ? 1 : 3;
const seconds = quick ? 1 : 3;
const warmupMs = quick ? 300 : 500;
const only = new Set(flags.only ? flags.only.split(",") : SECTIONS);
for (const s of only) {
  if (!SECTIONS.includes(s)) {
    console.error(
      `bench: unknown section ${s} (known: ${SECTIONS.join(", ")})`,
    );
    process.exit(1);
  }
}
const outDir = flags.out ?? (quick ? null : join(ROOT, "bench/results"));
const dir = mkdtempSync(join(os.tmpdir(), "dcbench-"));

const results: BenchResults = {
  date: new Date().toISOString(),
  machine: {},
  settings: { reps, seconds, quick },
  skipped: [],
  codec: {},
  throughput: [],
  scale: [],
  memory: [],
  proxy: [],
  targets: [],
};

function median(runs: LoaderResult[]): LoaderResult {
  return [...runs].sort((a, b) => a.opsPerSec - b.opsPerSec)[
    Math.floor(runs.length / 2)
  ];
}

async function endpoint(transport: string, name: string): Promise<Endpoint> {
  return transport === "unix"
    ? { kind: "unix", path: join(dir, `${name}.sock`) }
    : { kind: "tcp", port: await freePort() };
}

async function withServer<T>(
  kind: ServerKind,
  at: Endpoint,
  sessions: number,
  body: (server: Running) => Promise<T>,
): Promise<T> {
  const server = await start(kind.argv(at, sessions), at);
  try {
    return await body(server);
  } finally {
    await server.stop();
  }
}

// Median of `reps` timed runs; warns when a server answered wrongly.
async function measure(
  what: string,
  job: LoaderJob,
  at: Endpoint,
): Promise<{ best: LoaderResult; runs: number[] }> {
  const runs: LoaderResult[] = [];
  for (let i = 0; i < reps; i++) {
    runs.push(
      await load({ durationMs: seconds * 1000, warmupMs, ...job }, at),
    );
  }
  const best = median(runs);
  const wrong = runs.reduce((n, r) => n + r.errors + r.failed, 0);
  console.log(
    `  ${what}: ${int(best.opsPerSec)} ops/s (runs ${
      runs.map((r) => int(r.opsPerSec)).join(", ")
    }; p50 ${best.p50us} us, p99 ${best.p99us} us)${
      wrong ? `; ${wrong} failed operations or errors` : ""
    }`,
  );
  return { best, runs: runs.map((r) => r.opsPerSec) };
}

function modeJob(mode: string): Partial<LoaderJob> {
  return mode === "perop"
    ? { conns: 8, mode: "perop" }
    : { conns: Number(mode.slice(1)), mode: "persistent" };
}

async function codec(): Promise<void> {
  const ms = quick ? "100" : "300";
  console.log("codec");
  results.codec.deno = await runJson<CodecResult[]>([
    denoPath(),
    "run",
    "-A",
    "bench/codec.ts",
    "--json",
    `--ms=${ms}`,
  ]);
  results.codec.bun = await runJson<CodecResult[]>([
    bunPath(),
    "bench/codec.ts",
    "--json",
    `--ms=${ms}`,
  ]);
}

async function throughput(kinds: ServerKind[]): Promise<void> {
  for (const transport of ["unix", "tcp"] as const) {
    for (const kind of kinds) {
      console.log(`throughput: ${kind.name} over ${transport.toUpperCase()}`);
      const at = await endpoint(transport, kind.name);
      await withServer(kind, at, 200_000, async () => {
        await load({ action: "fill", proto: kind.proto, ids: 10_000 }, at);
        for (const mode of MODES) {
          const { best, runs } = await measure(mode, {
            action: "run",
            proto: kind.proto,
            ...modeJob(mode),
          }, at);
          const row: ThroughputRow = {
            transport,
            server: kind.name,
            mode,
            opsPerSec: best.opsPerSec,
            runs,
            p50us: best.p50us,
            p99us: best.p99us,
            p999us: best.p999us,
          };
          results.throughput.push(row);
        }
      });
    }
  }
}

async function scale(kinds: ServerKind[]): Promise<void> {
  const sizes = quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
  for (const kind of kinds) {
    console.log(`scale: ${kind.name}`);
    const at = await endpoint("unix", `${kind.name}-scale`);
    await withServer(kind, at, 1_200_000, async (server) => {
      for (const stored of sizes) {
        await load({ action: "fill", proto: kind.proto, ids: stored }, at);
        const { best, runs } = await measure(`${int(stored)} stored`, {
          action: "run",
          proto: kind.proto,
          conns: 8,
          ids: stored,
        }, at);
        const row: ScaleRow = {
          server: kind.name,
          stored,
          opsPerSec: best.opsPerSec,
          runs,
          rss: server.rss(),
        };
        results.scale.push(row);
      }
    });
  }
}

async function memory(kinds: ServerKind[]): Promise<void> {
  const stored = quick ? 100_000 : 1_000_000;
  for (const kind of kinds) {
    const at = await endpoint("unix", `${kind.name}-memory`);
    await withServer(kind, at, 1_200_000, async (server) => {
      await new Promise((r) => setTimeout(r, 300));
      const rssEmpty = server.rss();
      const fill = await load({
        action: "fill",
        proto: kind.proto,
        ids: stored,
      }, at);
      await new Promise((r) => setTimeout(r, 500));
      const rssFull = server.rss();
      const row: MemoryRow = {
        server: kind.name,
        stored: fill.added,
        rssEmpty,
        rssFull,
        bytesPerSession: (rssFull - rssEmpty) / Math.max(1, fill.added),
      };
      results.memory.push(row);
      console.log(
        `memory: ${kind.name}: ${int(row.bytesPerSession)} bytes per session (${
          int(fill.added)
        } stored in ${fill.seconds.toFixed(1)} s, RSS ${
          (rssFull / 2 ** 20).toFixed(0)
        } MiB)`,
      );
    });
  }
}

async function proxy(): Promise<void> {
  for (const runtime of ["bun", "deno"] as const) {
    console.log(`proxy: server and proxy under ${runtime}`);
    const kind = oursKind(runtime);
    const at = await endpoint("unix", `${runtime}-behind-proxy`);
    const local = await endpoint("unix", `${runtime}-proxy`);
    await withServer(kind, at, 200_000, async () => {
      const p = await start(proxyArgv(runtime, local, at), local);
      try {
        await load({ action: "fill", proto: "dc", ids: 10_000 }, at);
        for (const mode of ["perop", "c8", "c64"]) {
          const job: LoaderJob = {
            action: "run",
            proto: "dc",
            ...modeJob(mode),
          };
          const direct = await measure(`${mode} direct`, job, at);
          const proxied = await measure(`${mode} via proxy`, job, local);
          const row: ProxyRow = {
            runtime,
            mode,
            direct: direct.best.opsPerSec,
            proxied: proxied.best.opsPerSec,
          };
          results.proxy.push(row);
        }
      } finally {
        await p.stop();
      }
    });
  }
}

function machine(): Record<string, string | number> {
  const cpus = os.cpus();
  const m: Record<string, string | number> = {
    cores: cpus.length,
    cpu: cpus[0]?.model ?? "unknown",
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    deno: versionOf(denoPath()) ?? "missing",
    bun: versionOf(bunPath()) ?? "missing",
  };
  const mc = versionOf("memcached", "-V");
  const rd = versionOf("redis-server");
  if (mc) m.memcached = mc;
  if (rd) m.redis = rd.replace(/ sha=.*/, "");
  return m;
}

try {
  let peers: ServerKind[] = [];
  if (flags["skip-peers"]) {
    results.skipped.push("memcached and Redis: --skip-peers");
  } else if (
    only.has("throughput") || only.has("scale") || only.has("memory")
  ) {
    const found = ensurePeers();
    results.skipped.push(...found.skipped);
    peers = found.peers;
  }
  results.machine = machine();
  console.log(`machine: ${machineLine(results)}`);
  console.log(`median of ${reps} run(s) of ${seconds} s per point`);
  const kinds = [oursKind("deno"), oursKind("bun"), ...peers];
  if (only.has("codec")) await codec();
  if (only.has("throughput")) await throughput(kinds);
  if (only.has("scale")) await scale(kinds);
  if (only.has("memory")) await memory(kinds);
  if (only.has("proxy")) await proxy();
  results.targets = evaluateTargets(results);
  console.log("");
  console.log(textReport(results));
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, "latest.json"),
      JSON.stringify(results, null, 2) + "\n",
    );
    writeFileSync(join(outDir, "latest.svg"), svgChart(results));
    writeFileSync(join(outDir, "README.md"), markdownReport(results));
    console.log(`\nwritten: ${outDir}/latest.json, latest.svg, README.md`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
