/**
 * `deno task bench`: starts the servers itself (ours under Deno and under
 * Bun, memcached, Redis, the C server), loads them from a separate process,
 * and measures each point in interleaved rounds: every server once per
 * round, in turn, at least 5 rounds, so that a neighbour's noise falls on
 * all of them alike. Prints each server's median and, per pair, the median
 * and range of the per-round ratio; judges the targets on those; writes
 * `bench/results/latest.json`, `latest.svg`, `README.md` and the README's
 * performance block.
 *
 * ```sh
 * deno task bench            # full run: 5 rounds of 2 s per point (~25 min)
 * deno task bench --quick    # 3 rounds of 0.5 s, smaller stores; writes nothing unless --out
 * deno task bench --only=throughput,proxy --skip-peers
 * deno task bench --render   # redraw the pages from bench/results/latest.json
 * ```
 *
 * The sections are listed in `bench/registry.ts`; `bench/section.ts` says
 * how to add one.
 *
 * @module
 */

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { cServerKind, type CTools, ensureCTools } from "./_c_tools.ts";
import { cpuBusy, machine } from "./_machine.ts";
import {
  denoPath,
  type Endpoint,
  ensurePeers,
  freePort,
  hasTaskset,
  oursKind,
  ROOT,
  type ServerKind,
} from "./_procs.ts";
import {
  machineLine,
  markdownReport,
  readmeBlock,
  runLine,
  spliceReadme,
  svgChart,
  textReport,
} from "./_report.ts";
import type { BenchResults } from "./_results.ts";
import { SECTIONS } from "./registry.ts";
import type { BenchContext } from "./section.ts";

const NAMES = SECTIONS.map((s) => s.name);

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "skip-peers": { type: "boolean", default: false },
    "no-pin": { type: "boolean", default: false },
    rounds: { type: "string" },
    seconds: { type: "string" },
    note: { type: "string" },
    out: { type: "string" },
    baseline: { type: "string" },
    render: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (flags.help) {
  console.log(
    `deno task bench [--quick] [--only=${
      NAMES.join(",")
    }] [--skip-peers] [--no-pin]
                 [--rounds=N] [--seconds=S] [--note=TEXT] [--out=dir] [--render]

  --quick       3 rounds of 0.5 s per point, stores up to 100,000; writes files only with --out
  --only        run only these sections:
${
      SECTIONS.map((s) => `                  ${s.name.padEnd(11)} ${s.summary}`)
        .join("\n")
    }
  --skip-peers  leave memcached, Redis and the C server out
  --no-pin      do not pin servers to CPU 0 and the loader to CPU 1
  --rounds      rounds per point (default 5; --quick 3)
  --seconds     timed seconds per loader run (default 2; --quick 0.5)
  --note        a sentence for the results page (e.g. what else loaded the machine)
  --baseline    also run ours from this other checkout (base-deno, base-bun; its
                node_modules may be a link to this one's), e.g. a worktree of main,
                to measure a change against the code before it in the same rounds
  --out         where to write latest.json, latest.svg and README.md (default bench/results;
                the repository README's performance block is rewritten only for the default)
  --render      measure nothing: redraw the pages from the out dir's latest.json`,
  );
  process.exit(0);
}

const defaultOut = join(ROOT, "bench/results");

// Writes the results page and chart to `dir`, and the README's block when
// `dir` is the default one and the run was a full one.
function writePages(r: BenchResults, dir: string): void {
  writeFileSync(join(dir, "latest.svg"), svgChart(r));
  writeFileSync(join(dir, "README.md"), markdownReport(r));
  const written = [`${dir}/latest.svg`, "README.md"];
  if (dir === defaultOut && !r.settings.quick && r.sections.throughput) {
    const path = join(ROOT, "README.md");
    const next = spliceReadme(readFileSync(path, "utf8"), readmeBlock(r));
    if (next === null) {
      console.error("bench: README.md has no bench:begin/bench:end markers");
    } else {
      writeFileSync(path, next);
      // deno fmt aligns the tables as CI's fmt --check expects.
      spawnSync(denoPath(), ["fmt", "-q", path], { cwd: ROOT });
      written.push(path);
    }
  }
  console.log(`\nwritten: ${written.join(", ")}`);
}

if (flags.render) {
  const dir = flags.out ?? defaultOut;
  const saved = JSON.parse(
    readFileSync(join(dir, "latest.json"), "utf8"),
  ) as BenchResults;
  for (const [name, out] of Object.entries(saved.sections)) {
    const section = SECTIONS.find((s) => s.name === name);
    if (section?.render && out.data !== undefined) {
      saved.sections[name] = { ...section.render(out.data), data: out.data };
    }
  }
  console.log(textReport(saved));
  writePages(saved, dir);
  process.exit(0);
}

function positive(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!(n > 0)) {
    console.error(`bench: invalid --${name}=${v}: must be a number above 0`);
    process.exit(1);
  }
  return n;
}

const quick = flags.quick;
const rounds = Math.round(positive("rounds", flags.rounds, quick ? 3 : 5));
const seconds = positive("seconds", flags.seconds, quick ? 0.5 : 2);
const only = flags.only ? flags.only.split(",") : NAMES;
for (const s of only) {
  if (!NAMES.includes(s)) {
    console.error(`bench: unknown section ${s} (known: ${NAMES.join(", ")})`);
    process.exit(1);
  }
}
const selected = SECTIONS.filter((s) => only.includes(s.name));
const outDir = flags.out ?? (quick ? null : defaultOut);
const dir = mkdtempSync(join(os.tmpdir(), "dcbench-"));

const results: BenchResults = {
  date: new Date().toISOString(),
  machine: {},
  settings: {
    rounds,
    seconds,
    quick,
    pin: null,
    sections: selected.map((s) => s.name),
  },
  background: { samples: [], ...(flags.note ? { note: flags.note } : {}) },
  skipped: [],
  sections: {},
};

function log(line: string): void {
  console.log(line);
}

async function sample(when: string): Promise<void> {
  const busy = await cpuBusy(1000);
  if (busy === null) return;
  results.background.samples.push({ when, busy, loadavg: os.loadavg()[0] });
  log(
    `background (${when}): ${(busy * 100).toFixed(0)}% of the CPUs busy, load ${
      os.loadavg()[0].toFixed(1)
    }`,
  );
}

function pinning(): { server: number; loader: number } | null {
  if (flags["no-pin"]) return null;
  if (os.cpus().length < 2) {
    results.skipped.push("pinning: fewer than 2 CPUs; nothing pinned");
    return null;
  }
  if (!hasTaskset()) {
    results.skipped.push("pinning: taskset is missing; nothing pinned");
    return null;
  }
  return { server: 0, loader: 1 };
}

// Ours, and ours of the --baseline checkout when given.
function oursKinds(): ServerKind[] {
  const out = [oursKind("deno"), oursKind("bun")];
  const base = flags.baseline;
  if (base !== undefined) {
    if (!existsSync(join(base, "cli/main.ts"))) {
      console.error(`bench: --baseline ${base} has no cli/main.ts`);
      process.exit(2);
    }
    out.push(oursKind("deno", resolve(base)), oursKind("bun", resolve(base)));
  }
  return out;
}

function servers(cTools: CTools | null): ServerKind[] {
  const out = oursKinds();
  if (flags["skip-peers"]) {
    results.skipped.push("memcached, Redis and the C server: --skip-peers");
    return out;
  }
  const found = ensurePeers();
  results.skipped.push(...found.skipped);
  out.push(...found.peers);
  if (cTools) out.push(cServerKind(cTools));
  return out;
}

try {
  let cTools: CTools | null = null;
  if (selected.some((s) => s.peers)) {
    const c = ensureCTools(log);
    if (c.tools) cTools = c.tools;
    else results.skipped.push(`C tools: ${c.why}; their rows are skipped`);
  }
  const kinds = selected.some((s) => s.peers) ? servers(cTools) : oursKinds();
  results.settings.pin = pinning();
  results.machine = machine(cTools);
  const ctx: BenchContext = {
    quick,
    rounds,
    seconds,
    warmupMs: quick ? 200 : 500,
    pin: results.settings.pin,
    servers: kinds,
    baseline: flags.baseline === undefined
      ? undefined
      : resolve(flags.baseline),
    cTools,
    async endpoint(transport, name): Promise<Endpoint> {
      return transport === "unix"
        ? { kind: "unix", path: join(dir, `${name}.sock`) }
        : { kind: "tcp", port: await freePort() };
    },
    log,
    skip(why) {
      log(`skipped: ${why}`);
      results.skipped.push(why);
    },
  };
  log(`machine: ${machineLine(results)}`);
  await sample("before the run");
  log(runLine(results));
  for (const section of selected) {
    try {
      results.sections[section.name] = await section.run(ctx);
    } catch (e) {
      ctx.skip(`section ${section.name} failed: ${(e as Error).stack ?? e}`);
    }
    await sample(`after ${section.name}`);
  }
  log("");
  log(textReport(results));
  if (outDir) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(
      join(outDir, "latest.json"),
      JSON.stringify(results, null, 2) + "\n",
    );
    writePages(results, outDir);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
