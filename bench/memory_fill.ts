/**
 * Where a filled server's memory goes: fills a server with N sessions of a
 * 16-byte id and 512 bytes of data (the loader's `fill`, as the bench's
 * scale section does) and prints the RSS it grew by per session, under
 * Deno and Bun, beside memcached's.
 *
 * ```sh
 * deno run -A bench/memory_fill.ts                      # 100k and 1M, deno, bun, memcached
 * deno run -A bench/memory_fill.ts --sizes 100000 --only deno,bun
 * deno run -A bench/memory_fill.ts --cli --pin          # the CLI server, as the bench runs it
 * deno run -A bench/memory_fill.ts --cli --smaps /tmp/m  # and its /proc/<pid>/smaps before and after
 * ```
 *
 * By default our server runs inside a measuring child process (`serve()`
 * of `dc_server`), which reads its own heap statistics (`node:v8` under
 * Deno, `bun:jsc` under Bun) and the store's `reservedBytes()` before and
 * after the fill, and once more after a forced collection: how much of the
 * growth is the store, how much the JavaScript heap, how much garbage a
 * collection would give back. The forced collection is the measuring
 * script's, after the figures the bench compares were taken; the server
 * never forces one. With `--cli` it starts `cli/main.ts server` as the
 * bench does and reports the RSS alone (with `--smaps`, the server's
 * mappings before and after, to tell which of them grew). `--pin` puts the
 * server on CPU 0 and the loader on CPU 1, as the bench does.
 *
 * What a fill of 100,000 sessions is made of (see the commit that added
 * this script for the figures): the store's own records, index and heap;
 * pages of the runtime's executable read in the first time its optimizing
 * compilers run (file-backed, shared, a one-time cost); the JavaScript
 * heap's young generation, which the runtime grows while requests arrive;
 * and the runtime's compiler and allocator arenas.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  bunPath,
  denoPath,
  type Endpoint,
  load,
  MEMCACHED,
  oursKind,
  pinned,
  ROOT,
  start,
} from "./_procs.ts";

/** RSS and its parts from /proc/<pid>/status, bytes. */
interface Rss {
  rss: number;
  anon: number;
  file: number;
}

/** What a measuring child prints, one JSON line. */
interface ChildReport {
  runtime: string;
  added: number;
  before: Rss;
  after: Rss;
  afterGc: Rss;
  store: number;
  heapBefore: Record<string, number>;
  heapAfter: Record<string, number>;
  heapAfterGc: Record<string, number>;
}

function rssOf(pid: number | "self"): Rss {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) =>
    Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile") };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Gc = () => void;
interface BunLike {
  gc(sync: boolean): void;
}

async function heap(): Promise<Record<string, number>> {
  const mu = process.memoryUsage();
  const out: Record<string, number> = {
    heapTotal: mu.heapTotal,
    heapUsed: mu.heapUsed,
    external: mu.external,
    arrayBuffers: mu.arrayBuffers,
  };
  if (process.versions.bun) {
    const jscName = "bun:jsc";
    const jsc = await import(jscName);
    const s = jsc.heapStats();
    out.jscHeapSize = s.heapSize;
    out.jscHeapCapacity = s.heapCapacity;
    out.jscExtraMemory = s.extraMemorySize;
    out.jscObjects = s.objectCount;
  } else {
    const v8 = await import("node:v8");
    const s = v8.getHeapStatistics();
    out.v8TotalHeap = s.total_heap_size;
    out.v8Used = s.used_heap_size;
    out.v8Physical = s.total_physical_size;
    out.v8Malloced = s.malloced_memory;
    out.v8External = s.external_memory;
    try {
      for (const sp of v8.getHeapSpaceStatistics()) {
        out[`space:${sp.space_name}`] = sp.space_size;
      }
    } catch {
      // Not offered by this runtime.
    }
  }
  return out;
}

function forceGc(): void {
  const bun = (globalThis as unknown as { Bun?: BunLike }).Bun;
  if (bun) bun.gc(true);
  else (globalThis as unknown as { gc?: Gc }).gc?.();
}

// The measuring child: a server in this process, filled by the loader.
async function child(sessions: number, loaderCpu?: number): Promise<void> {
  const { DefaultCache, serve } = await import("../dc_server/mod.ts");
  const dir = mkdtempSync(join(os.tmpdir(), "memfill-"));
  const path = join(dir, "s.sock");
  let cache: InstanceType<typeof DefaultCache> | undefined;
  const server = await serve({
    listen: `UNIX:${path}`,
    sessions: 1_200_000,
    cache: (max, options) => cache = new DefaultCache(max, options),
  });
  await settle(300);
  const heapBefore = await heap();
  const before = rssOf("self");

  const fill = await load(
    { action: "fill", proto: "dc", ids: sessions },
    { kind: "unix", path },
    loaderCpu,
  );
  await settle(500);
  const after = rssOf("self");

  const heapAfter = await heap();
  const store = cache!.reservedBytes();
  forceGc();
  await settle(200);
  const afterGc = rssOf("self");
  const heapAfterGc = await heap();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  const report: ChildReport = {
    runtime: process.versions.bun ? "bun" : "deno",
    added: fill.added,
    before,
    after,
    afterGc,
    store,
    heapBefore,
    heapAfter,
    heapAfterGc,
  };
  console.log(JSON.stringify(report));
}

function runChild(
  runtime: string,
  sessions: number,
  pin: boolean,
): Promise<ChildReport> {
  const args = ["bench/memory_fill.ts", "--child", String(sessions)];
  if (pin) args.push("--loader-cpu", "1");
  const argv = pinned(
    runtime === "bun"
      ? [bunPath(), ...args]
      : [denoPath(), "run", "-A", "--v8-flags=--expose-gc", ...args],
    pin ? 0 : undefined,
  );
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout!.on("data", (d) => out += d);
    p.on("error", reject);
    p.on("close", (code) => {
      try {
        if (code !== 0) throw new Error(`exit code ${code}`);
        resolve(JSON.parse(out.trim().split("\n").pop()!));
      } catch (e) {
        reject(new Error(`${argv.join(" ")}: ${(e as Error).message}`));
      }
    });
  });
}

// A server started as its own process (memcached, or our CLI server).
async function external(
  argv: (at: Endpoint, sessions: number) => string[],
  proto: "dc" | "mc",
  sessions: number,
  pin: boolean,
  smapsDir?: string,
): Promise<{ added: number; before: Rss; after: Rss }> {
  const dir = mkdtempSync(join(os.tmpdir(), "memfill-"));
  const at: Endpoint = { kind: "unix", path: join(dir, "s.sock") };
  const server = await start(argv(at, 1_200_000), at, pin ? 0 : undefined);
  try {
    await settle(300);
    const before = rssOf(server.child.pid!);
    const smaps = (when: string) =>
      smapsDir !== undefined && writeFileSync(
        join(smapsDir, `${server.child.pid}-${when}`),
        readFileSync(`/proc/${server.child.pid}/smaps`),
      );
    smaps("before");
    const fill = await load(
      { action: "fill", proto, ids: sessions },
      at,
      pin ? 1 : undefined,
    );
    await settle(500);
    smaps("after");
    return { added: fill.added, before, after: rssOf(server.child.pid!) };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const per = (b: number, n: number) => (b / n).toFixed(0).padStart(5);

function grew(a: Rss, b: Rss, n: number): string {
  return `${per(b.rss - a.rss, n)} B/session (anon ${
    per(b.anon - a.anon, n)
  }, file ${per(b.file - a.file, n)}), RSS ${mib(a.rss)} -> ${mib(b.rss)}`;
}

function delta(
  a: Record<string, number>,
  b: Record<string, number>,
): string {
  return Object.keys(b)
    .filter((k) => k in a && b[k] !== a[k])
    .map((k) => `${k} ${mib(b[k] - a[k])}`)
    .join(", ");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      child: { type: "string" },
      sizes: { type: "string", default: "100000,1000000" },
      only: { type: "string", default: "deno,bun,memcached" },
      cli: { type: "boolean", default: false },
      pin: { type: "boolean", default: false },
      "loader-cpu": { type: "string" },
      smaps: { type: "string" },
    },
  });
  if (values.child !== undefined) {
    const cpu = values["loader-cpu"];
    return await child(
      Number(values.child),
      cpu === undefined ? undefined : Number(cpu),
    );
  }
  const pin = values.pin;
  const only = values.only.split(",");
  for (const n of values.sizes.split(",").map(Number)) {
    for (const who of only) {
      if (who === "memcached") {
        const r = await external(MEMCACHED.argv, "mc", n, pin, values.smaps);
        console.log(`memcached ${n}: ${grew(r.before, r.after, r.added)}`);
      } else if (values.cli) {
        const kind = oursKind(who as "deno" | "bun");
        const r = await external(kind.argv, "dc", n, pin, values.smaps);
        console.log(`${who}-cli ${n}: ${grew(r.before, r.after, r.added)}`);
      } else {
        const r = await runChild(who, n, pin);
        console.log(`${who} ${n}: ${grew(r.before, r.after, r.added)}`);
        console.log(
          `  store reserved ${mib(r.store)} (${
            per(r.store, r.added)
          } B/session); after a forced GC ${
            grew(r.before, r.afterGc, r.added)
          }`,
        );
        console.log(`  heap grew: ${delta(r.heapBefore, r.heapAfter)}`);
        console.log(
          `  heap after GC vs before: ${delta(r.heapBefore, r.heapAfterGc)}`,
        );
      }
    }
  }
}

await main();
