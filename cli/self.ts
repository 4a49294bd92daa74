/**
 * How to start this same program again (for `-daemon`): the runtime binary
 * and the arguments that lead to this entry point, for Deno, Bun and Node,
 * and for a single compiled binary of either.
 *
 * @module
 */

import process from "node:process";

/** A command line: the program and its first arguments. */
export interface SelfCommand {
  /** The executable. */
  command: string;
  /** Arguments that run this entry point, before the tool's own. */
  args: string[];
}

/**
 * The command that runs this entry point again.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import process from "node:process";
 * import { selfCommand } from "./self.ts";
 *
 * const { command, args } = selfCommand();
 * assert.equal(command, process.execPath); // then args, then the tool's own
 * assert.ok(Array.isArray(args));
 * ```
 */
export function selfCommand(): SelfCommand {
  const exec = process.execPath;
  const script = process.argv[1] ?? "";
  const base = exec.slice(exec.lastIndexOf("/") + 1);
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Deno === "object") {
    // `deno compile` binaries run their embedded entry by themselves.
    return /^deno(\.exe)?$/.test(base)
      ? { command: exec, args: ["run", "-A", script] }
      : { command: exec, args: [] };
  }
  if (typeof g.Bun === "object") {
    const compiled = script.startsWith("/$bunfs/") ||
      script.startsWith("B:/~BUN");
    return compiled
      ? { command: exec, args: [] }
      : { command: exec, args: [script] };
  }
  return { command: exec, args: [...process.execArgv, script] };
}
