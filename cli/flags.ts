/**
 * Flag parsing for the tools: the C tools' single-dash form (`-listen X`)
 * and the usual `--listen X` / `--listen=X`, on top of `node:util`
 * `parseArgs`, with one-line errors that name the flag.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { DistcacheError } from "@distcache/distcache/nal";

/** A bad command line: the message names the flag and what is wrong. */
export class UsageError extends DistcacheError {
  /**
   * Makes a usage error.
   *
   * @param message One line: the flag and the problem.
   */
  constructor(message: string) {
    super("ERR_USAGE", message);
  }
}

/** How a flag's value is read. */
export type FlagKind = "string" | "int" | "bool" | "octal";

/** One flag of a command. */
export interface FlagSpec {
  /** Name without dashes, e.g. `listen`. */
  name: string;
  /** How the value is read. */
  kind: FlagKind;
  /** One-line description for `--help`. */
  help: string;
  /** Value placeholder for `--help`, e.g. `<addr>`. */
  arg?: string;
  /** Smallest accepted number (int flags). */
  min?: number;
  /** Largest accepted number (int flags). */
  max?: number;
  /** Other names for the same flag (e.g. `connect` for `server`). */
  aliases?: string[];
}

/** Parsed values by flag name; absent flags are absent. */
export type FlagValues = Record<string, string | number | boolean>;

/**
 * Parses `args` against `specs`. `-h`/`--help` gives `{ help: true }`.
 *
 * @throws {UsageError} for an unknown flag, a missing or bad value, or a
 *   stray argument.
 */
export function parseFlags(
  args: readonly string[],
  specs: readonly FlagSpec[],
): FlagValues {
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string }
  > = {
    help: { type: "boolean", short: "h" },
  };
  const canonical = new Map<string, FlagSpec>();
  for (const spec of specs) {
    for (const name of [spec.name, ...(spec.aliases ?? [])]) {
      options[name] = { type: spec.kind === "bool" ? "boolean" : "string" };
      canonical.set(name, spec);
    }
  }
  let parsed: {
    values: Record<string, string | boolean | undefined>;
    positionals: string[];
  };
  try {
    parsed = parseArgs({
      args: attachDashValues(args.map(longForm), options),
      options,
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (err) {
    throw new UsageError(rephrase((err as Error).message));
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);
  }
  const out: FlagValues = {};
  if (parsed.values.help) out.help = true;
  for (const [name, raw] of Object.entries(parsed.values)) {
    const spec = canonical.get(name);
    if (spec === undefined || raw === undefined) continue;
    out[spec.name] = convert(spec, name, raw);
  }
  return out;
}

/** `--help` text for a command. */
export function usage(
  command: string,
  summary: string,
  specs: readonly FlagSpec[],
): string {
  const lines = [
    `usage: distcache ${command} [flags]`,
    "",
    summary,
    "",
    "flags:",
  ];
  for (const spec of specs) {
    const names = [spec.name, ...(spec.aliases ?? [])].map((n) => `-${n}`).join(
      ", ",
    );
    const left = spec.arg ? `${names} ${spec.arg}` : names;
    lines.push(`  ${left.padEnd(30)} ${spec.help}`);
  }
  lines.push(`  ${"-h, --help".padEnd(30)} show this help`);
  lines.push(`  ${"--version".padEnd(30)} print the version`);
  return lines.join("\n");
}

// parseArgs refuses a value that starts with a dash ("-sessions -1") as
// ambiguous: pass such a value as --name=value, so that it gets the flag's
// own check, unless it is a flag itself (then the value is missing).
function attachDashValues(
  args: string[],
  options: Record<string, { type: "string" | "boolean" }>,
): string[] {
  const out: string[] = [];
  const isFlag = (arg: string) => {
    const name = /^--?([^=]+)/.exec(arg)?.[1];
    return name !== undefined && (name === "h" || name in options);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    const next = args[i + 1];
    if (
      name !== undefined && options[name]?.type === "string" &&
      next !== undefined && next.startsWith("-") && next !== "-"
    ) {
      if (isFlag(next)) throw new UsageError(`flag -${name} needs a value`);
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

// The C tools take -listen; parseArgs takes --listen. One-letter flags
// (-h) stay short.
function longForm(arg: string): string {
  return /^-[A-Za-z][A-Za-z0-9_-]+(=.*)?$/.test(arg) ? `-${arg}` : arg;
}

function rephrase(message: string): string {
  const unknown = /Unknown option '(-+[^']+)'/.exec(message);
  if (unknown) return `unknown flag ${unknown[1].replace(/^--/, "-")}`;
  const missing = /Option '(-+[^ ']+)[^']*' argument missing/.exec(message);
  if (missing) return `flag ${missing[1].replace(/^--/, "-")} needs a value`;
  const boolValue = /Option '(-+[^ ']+)' does not take an argument/.exec(
    message,
  );
  if (boolValue) {
    return `flag ${boolValue[1].replace(/^--/, "-")} takes no value`;
  }
  return message.split("\n")[0];
}

function convert(
  spec: FlagSpec,
  given: string,
  raw: string | boolean,
): string | number | boolean {
  if (spec.kind === "bool") return raw === true;
  const value = String(raw);
  if (spec.kind === "string") {
    if (value.length === 0) {
      throw new UsageError(`flag -${given} needs a non-empty value`);
    }
    return value;
  }
  if (spec.kind === "octal") {
    if (!/^[0-7]{1,4}$/.test(value)) {
      throw new UsageError(
        `flag -${given}: "${value}" is not an octal mode (e.g. 600)`,
      );
    }
    const mode = parseInt(value, 8);
    if (spec.max !== undefined && mode > spec.max) {
      throw new UsageError(
        `flag -${given}: ${value} is not a permission mode (rwx bits only, at most ${
          spec.max.toString(8)
        })`,
      );
    }
    return mode;
  }
  if (!/^-?[0-9]+$/.test(value)) {
    throw new UsageError(`flag -${given}: "${value}" is not a whole number`);
  }
  const n = Number(value);
  if (n < 0 && spec.min === undefined) {
    throw new UsageError(`flag -${given}: ${n} is below the minimum 0`);
  }
  if (spec.min !== undefined && n < spec.min) {
    throw new UsageError(
      `flag -${given}: ${n} is below the minimum ${spec.min}`,
    );
  }
  if (spec.max !== undefined && n > spec.max) {
    throw new UsageError(
      `flag -${given}: ${n} is above the maximum ${spec.max}`,
    );
  }
  return n;
}
