/**
 * What the long-running tools (`server`, `client`) offer an operator who
 * watches them: a metrics endpoint (`-stats`) and a place for their
 * messages (`-log`, `-syslog`).
 *
 * @module
 */

import process from "node:process";
import {
  MetricsRegistry,
  registerServiceMetrics,
  serveStats,
} from "@distcache/distcache/dc_server";
import type { NalHttpServer } from "@distcache/distcache/nal";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import {
  consoleLog,
  type Log,
  nullLog,
  openLogFile,
  syslogLog,
} from "./log.ts";
import {
  isDaemonChild,
  type Service,
  type SuperviseOptions,
  superviseService,
} from "./ops.ts";

/** Flags of the tools that serve: `-stats`, `-log`, `-syslog`. */
export const MONITOR_FLAGS: FlagSpec[] = [
  {
    name: "stats",
    kind: "string",
    arg: "<addr>",
    help:
      "serve /metrics (Prometheus) and /stats (JSON) over HTTP here, e.g. IP:127.0.0.1:9101",
  },
  {
    name: "log",
    kind: "string",
    arg: "<file>",
    help: "append messages to this file (never through a link; new: mode 0640)",
  },
  {
    name: "syslog",
    kind: "bool",
    help:
      "messages on stderr with syslog priority prefixes (<6> <4> <3>), for systemd's journal",
  },
];

/**
 * The log the flags ask for: `-log FILE`, `-syslog`, the terminal, or
 * nothing for a `-daemon` given neither (its terminal is gone).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openServiceLog } from "./monitor.ts";
 *
 * const log = openServiceLog({});
 * log.info("listening"); // on the terminal
 * assert.throws(() => openServiceLog({ log: "x.log", syslog: true }), /give one of them/);
 * ```
 *
 * @throws {UsageError} for `-log` with `-syslog`.
 * @throws {LogFileError} for a log file that cannot be used.
 */
export function openServiceLog(flags: FlagValues): Log {
  if (flags.log !== undefined && flags.syslog) {
    throw new UsageError("flags -log and -syslog: give one of them");
  }
  if (flags.log !== undefined) return openLogFile(flags.log as string);
  if (flags.syslog) return syslogLog();
  return isDaemonChild() ? nullLog() : consoleLog();
}

/**
 * A registry with the service's build and uptime, then what `register`
 * adds, then this process's resident memory
 * (`process_resident_memory_bytes`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serviceRegistry } from "./monitor.ts";
 *
 * const registry = serviceRegistry("proxy", (r) => r.gauge("x", "X.", () => 1));
 * assert.match(registry.renderPrometheus(), /^x 1\n[^]*^process_resident_memory_bytes \d+$/m);
 * ```
 */
export function serviceRegistry(
  role: string,
  register: (registry: MetricsRegistry) => void,
): MetricsRegistry {
  const registry = new MetricsRegistry();
  registerServiceMetrics(registry, { role });
  register(registry);
  registry.gauge(
    "process_resident_memory_bytes",
    "Resident memory of this process, in bytes.",
    () => process.memoryUsage.rss(),
  );
  return registry;
}

/**
 * Starts the `-stats` endpoint when the flag is given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nalHttpGet } from "@distcache/distcache/nal";
 * import { serviceRegistry, startStats } from "./monitor.ts";
 *
 * const registry = serviceRegistry("server", () => {});
 * assert.equal(await startStats({}, registry), null); // no -stats
 * const http = await startStats({ stats: "IP:127.0.0.1:0" }, registry);
 * assert.equal((await nalHttpGet(http!.addr, "/metrics")).status, 200);
 * await http!.close();
 * ```
 *
 * @throws {NalAddressError} for a bad address.
 * @throws {NalSocketError} when it cannot listen there.
 */
export async function startStats(
  flags: FlagValues,
  registry: MetricsRegistry,
): Promise<NalHttpServer | null> {
  if (flags.stats === undefined) return null;
  return await serveStats(flags.stats as string, registry);
}

/**
 * Runs a started service under {@linkcode superviseService} with its
 * `-stats` endpoint beside it: the endpoint starts first (the service is
 * closed if it cannot), its address goes into the banner (`, stats: ADDR`,
 * or nothing without `-stats`), and it closes when the service has stopped.
 */
export async function superviseWithStats(
  service: Service,
  flags: FlagValues,
  registry: MetricsRegistry,
  opts: Omit<SuperviseOptions, "banner"> & {
    banner: (statsNote: string) => string;
  },
): Promise<number> {
  let http: NalHttpServer | null;
  try {
    http = await startStats(flags, registry);
  } catch (err) {
    await service.close();
    throw err;
  }
  try {
    return await superviseService(service, {
      ...opts,
      banner: opts.banner(http === null ? "" : `, stats: ${http.addr}`),
    });
  } finally {
    await http?.close();
  }
}
