/**
 * The version of this distcache package.
 *
 * @module
 */

/**
 * The package's version (as in deno.json, cli/deno.json and package.json;
 * a test keeps them in step): what `/metrics` reports in
 * `distcache_build_info` and the tools print for `--version`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DISTCACHE_VERSION } from "@distcache/distcache/nal";
 *
 * assert.match(DISTCACHE_VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const DISTCACHE_VERSION = "0.1.0";
