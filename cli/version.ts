/**
 * The version the tools print for `--version`: the package's, kept equal
 * to the version in deno.json, cli/deno.json and package.json (a test
 * checks that they agree). It is libnal's `DISTCACHE_VERSION`, the one the
 * metrics report, under the name the tools use.
 *
 * @module
 */

import { DISTCACHE_VERSION } from "@distcache/distcache/nal";

/**
 * The package version.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "./version.ts";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION: string = DISTCACHE_VERSION;
