/**
 * Yielding to the runtime's event loop, the one place above the adapters
 * that needs a runtime module for it.
 *
 * @module
 */

import { setImmediate } from "node:timers";

/**
 * Resolves once the runtime has run the work already waiting (socket
 * events, due timers): a task, where awaiting a resolved promise would let
 * none of that run.
 */
export function yieldToRuntime(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
