/**
 * The contract between libnal and a runtime's HTTP server and client, for
 * the small monitoring endpoints (`/metrics`, `/stats`): `Deno.serve`,
 * `Bun.serve` or `node:http` behind a few calls. Each runtime's module is
 * loaded on first use, so that an application that never serves HTTP
 * loads none of them.
 *
 * @module
 */

import { detectRuntime } from "./mod.ts";
import type { SocketTarget } from "./types.ts";

/** What a handler is told of a request: its method and path (no query). */
export interface HttpRequestHead {
  /** `GET`, `HEAD`, ... */
  readonly method: string;
  /** The path, e.g. `/metrics`, without the query string. */
  readonly path: string;
}

/** A handler's answer: a small text body. */
export interface HttpReply {
  /** HTTP status code. */
  status: number;
  /** The `content-type` header. */
  contentType: string;
  /** The body (UTF-8). */
  body: string;
  /** Further headers, e.g. `allow`. */
  headers?: Record<string, string>;
}

/** Answers one request. */
export type HttpHandler = (
  request: HttpRequestHead,
) => HttpReply | Promise<HttpReply>;

/** A listening HTTP server as an adapter exposes it. */
export interface RuntimeHttpServer {
  /** The bound address (the real port when port 0 was asked for). */
  readonly target: SocketTarget;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/** What an HTTP GET answered. */
export interface HttpAnswer {
  /** HTTP status code. */
  status: number;
  /** The `content-type` header ("" when absent). */
  contentType: string;
  /** The body, decoded as UTF-8. */
  body: string;
}

/** One runtime's HTTP server and client. */
export interface HttpAdapter {
  /** `"deno"`, `"bun"` or `"node"`. */
  readonly name: string;
  /** Serves `handler` on `target` (TCP or UNIX). */
  serve(target: SocketTarget, handler: HttpHandler): Promise<RuntimeHttpServer>;
  /**
   * GETs `path` from the server at `target`.
   *
   * @throws {Error} when it cannot connect, or no answer came in `timeoutMs`.
   */
  get(
    target: SocketTarget,
    path: string,
    timeoutMs: number,
  ): Promise<HttpAnswer>;
}

// An adapter whose module is imported on its first call.
function lazyHttp(
  name: string,
  load: () => Promise<HttpAdapter>,
): HttpAdapter {
  let loading: Promise<HttpAdapter> | null = null;
  const get = () =>
    loading ??= load().catch((err) => {
      loading = null;
      throw err;
    });
  return {
    name,
    serve: async (target, handler) => (await get()).serve(target, handler),
    get: async (target, path, timeoutMs) =>
      (await get()).get(target, path, timeoutMs),
  };
}

/**
 * HTTP through `Deno.serve` and `fetch` (under Deno only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { denoHttpAdapter } from "@distcache/distcache/nal";
 *
 * assert.equal(denoHttpAdapter.name, "deno");
 * ```
 */
export const denoHttpAdapter: HttpAdapter = lazyHttp(
  "deno",
  async () => (await import("./http_deno.ts")).denoHttp,
);

/**
 * HTTP through `Bun.serve` and `fetch` (under Bun only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bunHttpAdapter } from "@distcache/distcache/nal";
 *
 * assert.equal(bunHttpAdapter.name, "bun");
 * ```
 */
export const bunHttpAdapter: HttpAdapter = lazyHttp(
  "bun",
  async () => (await import("./http_bun.ts")).bunHttp,
);

/**
 * HTTP through `node:http`, which Deno and Bun also provide.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeHttpAdapter } from "@distcache/distcache/nal";
 *
 * assert.equal(nodeHttpAdapter.name, "node");
 * ```
 */
export const nodeHttpAdapter: HttpAdapter = lazyHttp(
  "node",
  async () => (await import("./http_node.ts")).nodeHttp,
);

/**
 * The HTTP adapter of the runtime this code runs on.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultHttpAdapter, detectRuntime } from "@distcache/distcache/nal";
 *
 * assert.equal(defaultHttpAdapter().name, detectRuntime());
 * ```
 */
export function defaultHttpAdapter(): HttpAdapter {
  const runtime = detectRuntime();
  return runtime === "deno"
    ? denoHttpAdapter
    : runtime === "bun"
    ? bunHttpAdapter
    : nodeHttpAdapter;
}

/**
 * Every HTTP adapter that works on this runtime: its own, then
 * `node:http`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { availableHttpAdapters, detectRuntime } from "@distcache/distcache/nal";
 *
 * const names = availableHttpAdapters().map((adapter) => adapter.name);
 * assert.ok(names.includes(detectRuntime()));
 * ```
 */
export function availableHttpAdapters(): HttpAdapter[] {
  const own = defaultHttpAdapter();
  return own === nodeHttpAdapter ? [nodeHttpAdapter] : [own, nodeHttpAdapter];
}
