/**
 * distcache for Deno, Bun and Node: the distributed session cache.
 *
 * Several application servers behind a load balancer share short-lived
 * state (TLS sessions, login sessions, any small binary value under a short
 * binary key) through a cache server, usually reached via a local proxy.
 * This package is a TypeScript re-creation of the C distcache, byte
 * compatible with it on the wire:
 *
 * - `@distcache/distcache/nal`: libnal, addresses, buffers, connections,
 *   listeners and a selector over Deno, Bun or node:net sockets;
 * - `@distcache/distcache/dc_enc`: the wire protocol and `DcPlug`;
 * - `@distcache/distcache/dc_client`: `DcCtx`, the client API;
 * - `@distcache/distcache/dc_server`: the server framework and `serve()`.
 *
 * This root module re-exports all four.
 *
 * @example A server and a client in one process
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_CTX_FLAG_PERSISTENT, DcCtx, serve } from "@distcache/distcache";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
 * await ctx.addSession("id", "some session data", 60_000);
 * assert.ok(await ctx.hasSession("id"));
 * ctx.close();
 * await server.close();
 * ```
 *
 * @module
 */

export * from "./nal/mod.ts";
export * from "./dc_enc/mod.ts";
export * from "./dc_client/mod.ts";
export * from "./dc_server/mod.ts";
