/**
 * Process facts libnal's users need without touching a runtime global.
 *
 * @module
 */

import * as nodeProcess from "node:process";

/**
 * The current process id (every runtime offers `node:process`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { currentPid } from "@distcache/distcache/nal";
 *
 * assert.ok(currentPid() > 0);
 * ```
 */
export function currentPid(): number {
  return nodeProcess.pid;
}
