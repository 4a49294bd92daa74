/**
 * The machine a run is taken on: its description, and how busy its CPUs
 * are with other work.
 *
 * @module
 */

import { readFileSync } from "node:fs";
import os from "node:os";
import { bunPath, denoPath, versionOf } from "./_procs.ts";
import type { CTools } from "./_c_tools.ts";

/** Cores, CPU, memory, kernel, and the versions of every server measured. */
export function machine(
  cTools: CTools | null,
): Record<string, string | number> {
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
  if (cTools) m["C distcache"] = `1.5 line, ${cTools.bin}`;
  return m;
}

function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * The share of all CPUs (0..1) busy over the next `ms` milliseconds, or
 * null where `/proc/stat` cannot be read.
 */
export async function cpuBusy(ms: number = 1000): Promise<number | null> {
  try {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, ms));
    const b = cpuTimes();
    return b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
  } catch {
    return null;
  }
}
