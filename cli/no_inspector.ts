/**
 * Keeps SIGUSR1 from opening a debugger in the tools' processes.
 *
 * Node, and Deno since 2.9.2, start V8's inspector on 127.0.0.1:9229 when
 * the process receives SIGUSR1; any local user can then connect to it and
 * run code inside the process, as its user. Operators' tools send SIGUSR1
 * by habit (log rotation), so a cache server must never answer it that way.
 *
 * - Node and Bun give SIGUSR1 to a JavaScript listener when there is one,
 *   instead of to the debugger: a listener that stays for the life of the
 *   process is enough (Bun 1.4 has no SIGUSR1 debugger, but is said to be
 *   adding one that also yields to a listener).
 * - Deno has no switch: its handler runs beside any listener, half a second
 *   after start-up. So under Deno the signal's disposition is set to
 *   "ignore" in the kernel (libc `signal(SIGUSR1, SIG_IGN)` through FFI);
 *   a listener is registered first, so that Deno's own registration later
 *   finds the signal set up and leaves the disposition alone. SIGUSR1 then
 *   reaches nothing in the process. That needs `--allow-ffi` (`-A` has it).
 *
 * @module
 */

import process from "node:process";
import { type DenoApi, denoApi, denoLibc } from "./libc.ts";

/** Whether SIGUSR1 is kept from the debugger, and if not, why. */
export type InspectorGuard =
  | { readonly closed: true }
  | { readonly closed: false; readonly reason: string };

const SIGUSR1: Record<string, number> = { linux: 10, darwin: 30, freebsd: 30 };

let guard: InspectorGuard | undefined;

/**
 * Makes SIGUSR1 unable to open the runtime's debugger, for the rest of the
 * process's life; the result says whether that worked. Idempotent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closeInspectorSignal } from "./no_inspector.ts";
 *
 * const guard = closeInspectorSignal();
 * assert.ok(guard.closed, guard.closed ? "" : guard.reason); // under Deno: given -A
 * ```
 */
export function closeInspectorSignal(): InspectorGuard {
  guard ??= close();
  return guard;
}

function close(): InspectorGuard {
  const deno = denoApi();
  if (deno === undefined) {
    if (process.platform !== "win32") process.on("SIGUSR1", () => {});
    return { closed: true };
  }
  const signo = SIGUSR1[deno.build.os];
  if (signo === undefined) return { closed: true }; // no SIGUSR1 (Windows)
  deno.addSignalListener("SIGUSR1", () => {});
  const libc = denoLibc();
  if (typeof libc === "string") {
    return { closed: false, reason: libc };
  }
  if (!libc.ignoreSignal(signo) || !ignoredPerProc(deno, signo)) {
    return { closed: false, reason: "libc refused to ignore SIGUSR1" };
  }
  return { closed: true };
}

// On Linux, reads back the ignored-signals mask; elsewhere trusts libc.
function ignoredPerProc(deno: DenoApi, signo: number): boolean {
  if (deno.build.os !== "linux") return true;
  try {
    const status = deno.readTextFileSync("/proc/self/status");
    const mask = /^SigIgn:\s*([0-9a-f]+)/m.exec(status);
    return mask === null ||
      ((BigInt(`0x${mask[1]}`) >> BigInt(signo - 1)) & 1n) === 1n;
  } catch {
    return true; // no /proc, or no read permission: libc said yes
  }
}
