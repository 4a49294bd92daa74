/**
 * Chooses the socket adapter for the runtime we are running on.
 *
 * @module
 */

import { bunAdapter } from "./bun.ts";
import { denoAdapter } from "./deno.ts";
import { nodeAdapter } from "./node.ts";
import type { RuntimeAdapter } from "./types.ts";

export { bunAdapter, denoAdapter, nodeAdapter };
export type {
  RuntimeAdapter,
  RuntimeListener,
  RuntimeSocket,
  SocketSink,
  SocketTarget,
} from "./types.ts";

/** The runtimes libnal knows. */
export type RuntimeName = "deno" | "bun" | "node";

/**
 * The runtime this code runs on.
 *
 * @example
 * ```ts
 * import { detectRuntime } from "@distcache/distcache/nal";
 *
 * console.log(detectRuntime()); // "deno", "bun" or "node"
 * ```
 */
export function detectRuntime(): RuntimeName {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Deno === "object" && g.Deno !== null) return "deno";
  if (typeof g.Bun === "object" && g.Bun !== null) return "bun";
  return "node";
}

let chosen: RuntimeAdapter | null = null;

/**
 * The adapter used when none is given: the runtime's own sockets, or the one
 * set with {@linkcode setDefaultAdapter}.
 *
 * @example
 * ```ts
 * import { defaultAdapter } from "@distcache/distcache/nal";
 *
 * console.log(defaultAdapter().name);
 * ```
 */
export function defaultAdapter(): RuntimeAdapter {
  if (chosen === null) chosen = adapterFor(detectRuntime());
  return chosen;
}

/**
 * Overrides the adapter used when none is given (null: back to detection).
 *
 * @example Use node:net sockets everywhere
 * ```ts
 * import { nodeAdapter, setDefaultAdapter } from "@distcache/distcache/nal";
 *
 * setDefaultAdapter(nodeAdapter);
 * setDefaultAdapter(null);
 * ```
 */
export function setDefaultAdapter(adapter: RuntimeAdapter | null): void {
  chosen = adapter;
}

/**
 * Every adapter that works on this runtime: its own, then `node:net`
 * (which Deno and Bun also provide).
 *
 * @example Run the same check over each transport
 * ```ts
 * import { availableAdapters } from "@distcache/distcache/nal";
 *
 * for (const adapter of availableAdapters()) console.log(adapter.name);
 * ```
 */
export function availableAdapters(): RuntimeAdapter[] {
  const own = adapterFor(detectRuntime());
  return own === nodeAdapter ? [nodeAdapter] : [own, nodeAdapter];
}

function adapterFor(name: RuntimeName): RuntimeAdapter {
  return name === "deno"
    ? denoAdapter
    : name === "bun"
    ? bunAdapter
    : nodeAdapter;
}
