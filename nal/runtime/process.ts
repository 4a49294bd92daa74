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
 * import { currentPid } from "@distcache/distcache/nal";
 *
 * console.log(currentPid() > 0); // true
 * ```
 */
export function currentPid(): number {
  return nodeProcess.pid;
}
