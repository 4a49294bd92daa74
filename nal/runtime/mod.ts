/**
 * Chooses the socket adapter for the runtime we are running on.
 *
 * Each adapter's module is loaded only when first used, so that Deno does
 * not load `node:net` (nor Bun's adapter) and Bun does not load Deno's: a
 * per-runtime entry point (as some frameworks offer) would need every
 * caller to pick the right one, and a JSR package cannot choose it for
 * them. The runtime's own adapter starts loading with this module, so it
 * is normally there before the first socket; until then calls wait for it.
 *
 * @module
 */

import type {
  ListenHooks,
  RuntimeAdapter,
  RuntimeListener,
  SocketSink,
  SocketTarget,
  TlsConnectOptions,
  TlsListenOptions,
} from "./types.ts";

export type {
  ListenHooks,
  RuntimeAdapter,
  RuntimeListener,
  RuntimeSocket,
  SocketSink,
  SocketTarget,
  TlsConnectOptions,
  TlsListenOptions,
} from "./types.ts";

type LazyAdapter = RuntimeAdapter & { preload(): void };

// An adapter whose module is imported on first use; afterwards each call
// goes straight to it.
function lazyAdapter(
  name: string,
  load: () => Promise<RuntimeAdapter>,
  backsOffAccept = false,
): LazyAdapter {
  let impl: RuntimeAdapter | null = null;
  let loading: Promise<RuntimeAdapter> | null = null;
  const get = () =>
    loading ??= load().then((adapter) => impl = adapter, (err) => {
      loading = null;
      throw err;
    });
  return {
    name,
    backsOffAccept,
    preload: () => void get().catch(() => {}),
    connect(
      target: SocketTarget,
      sink: SocketSink,
      tls?: TlsConnectOptions,
    ): void {
      if (impl !== null) return impl.connect(target, sink, tls);
      get().then(
        (adapter) => adapter.connect(target, sink, tls),
        (err: Error) => sink.onClose(err),
      );
    },
    async listen(
      target: SocketTarget,
      onAccept: () => SocketSink,
      hooks?: ListenHooks,
      tls?: TlsListenOptions,
    ): Promise<RuntimeListener> {
      return (impl ?? await get()).listen(target, onAccept, hooks, tls);
    },
  };
}

/**
 * Sockets through `Deno.connect` / `Deno.listen` (under Deno only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoAdapter, NalAddress, NalListener } from "@distcache/distcache/nal";
 *
 * if ("Deno" in globalThis) { // under Deno only
 *   const list = new NalListener({ adapter: denoAdapter });
 *   assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 *   list.close();
 * }
 * assert.equal(denoAdapter.name, "deno");
 * ```
 */
export const denoAdapter: RuntimeAdapter = lazyAdapter(
  "deno",
  async () => (await import("./deno.ts")).denoAdapter,
  true,
);
const lazyDeno = denoAdapter as LazyAdapter;

/**
 * Sockets through `Bun.connect` / `Bun.listen` (under Bun only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunAdapter, NalAddress, NalListener } from "@distcache/distcache/nal";
 *
 * if ("Bun" in globalThis) { // under Bun only
 *   const list = new NalListener({ adapter: bunAdapter });
 *   assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 *   list.close();
 * }
 * assert.equal(bunAdapter.name, "bun");
 * ```
 */
export const bunAdapter: RuntimeAdapter = lazyAdapter(
  "bun",
  async () => (await import("./bun.ts")).bunAdapter,
);
const lazyBun = bunAdapter as LazyAdapter;

/**
 * Sockets through `node:net`, which Deno and Bun also provide: how the
 * tests run every transport check over a second implementation.
 *
 * @example Force the node:net adapter for a listener
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalListener, nodeAdapter } from "@distcache/distcache/nal";
 *
 * const list = new NalListener({ adapter: nodeAdapter }); // on every runtime
 * assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 * list.close();
 * ```
 */
export const nodeAdapter: RuntimeAdapter = lazyAdapter(
  "node",
  async () => (await import("./node.ts")).nodeAdapter,
);
const lazyNode = nodeAdapter as LazyAdapter;

/** The runtimes libnal knows. */
export type RuntimeName = "deno" | "bun" | "node";

/**
 * The runtime this code runs on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { detectRuntime } from "@distcache/distcache/nal";
 *
 * assert.ok(["deno", "bun", "node"].includes(detectRuntime()));
 * ```
 */
export function detectRuntime(): RuntimeName {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Deno === "object" && g.Deno !== null) return "deno";
  if (typeof g.Bun === "object" && g.Bun !== null) return "bun";
  return "node";
}

let chosen: RuntimeAdapter | null = null;
adapterFor(detectRuntime()).preload();

/**
 * The adapter used when none is given: the runtime's own sockets, or the one
 * set with {@linkcode setDefaultAdapter}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultAdapter, detectRuntime } from "@distcache/distcache/nal";
 *
 * assert.equal(defaultAdapter().name, detectRuntime()); // unless set otherwise
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
 * import assert from "node:assert/strict";
 * import { defaultAdapter, detectRuntime, nodeAdapter, setDefaultAdapter } from "@distcache/distcache/nal";
 *
 * setDefaultAdapter(nodeAdapter);
 * assert.equal(defaultAdapter(), nodeAdapter);
 * setDefaultAdapter(null); // back to this runtime's own
 * assert.equal(defaultAdapter().name, detectRuntime());
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
 * import assert from "node:assert/strict";
 * import { availableAdapters, detectRuntime } from "@distcache/distcache/nal";
 *
 * const names = availableAdapters().map((adapter) => adapter.name);
 * assert.equal(names[0], detectRuntime());
 * assert.ok(names.includes("node")); // node:net works everywhere
 * ```
 */
export function availableAdapters(): RuntimeAdapter[] {
  const own = adapterFor(detectRuntime());
  return own === nodeAdapter ? [nodeAdapter] : [own, nodeAdapter];
}

function adapterFor(name: RuntimeName): LazyAdapter {
  return name === "deno" ? lazyDeno : name === "bun" ? lazyBun : lazyNode;
}
