// Test helpers that run the distcache CLI as real processes, with the same
// runtime as the test (deno run / bun / node), and wait on their output.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import process from "node:process";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeDir } from "./_servers.ts";

// Under Node the suite runs compiled (scripts/test_node.mjs): there the
// CLI is the compiled bin entry, as `npx distcache` runs it (Node 20 has no
// import.meta.main for cli/main.ts to tell it is the program).
const COMPILED = import.meta.url.endsWith(".js");

/**
 * The checkout's root directory, also when the suite runs compiled from a
 * temporary directory (the Node run says where the sources are).
 */
export const SOURCE_ROOT: string = COMPILED
  ? process.env.DISTCACHE_SOURCE_ROOT ?? ""
  : fileURLToPath(new URL("../", import.meta.url));
const MAIN = fileURLToPath(
  new URL(COMPILED ? "../cli/bin.js" : "../cli/main.ts", import.meta.url),
);

/**
 * The command line that runs a script of the suite (given by its URL, the
 * `.ts` source) under this runtime; under Node, its compiled `.js`.
 */
export function scriptCommand(
  script: URL,
  args: readonly string[],
): { command: string; args: string[] } {
  const file = fileURLToPath(script).replace(/\.ts$/, COMPILED ? ".js" : ".ts");
  if ("Deno" in globalThis) {
    return { command: process.execPath, args: ["run", "-A", file, ...args] };
  }
  return { command: process.execPath, args: [file, ...args] };
}

/** The command line that runs `distcache <args>` under this runtime. */
export function cliCommand(
  args: readonly string[],
): { command: string; args: string[] } {
  if ("Deno" in globalThis) {
    return { command: process.execPath, args: ["run", "-A", MAIN, ...args] };
  }
  return { command: process.execPath, args: [MAIN, ...args] };
}

/** How {@linkcode CliProcess} starts its process. */
export interface CliProcessOptions {
  /** Working directory. */
  cwd?: string;
  /** In a process group of its own. */
  group?: boolean;
  /** Variables added to the environment. */
  env?: Record<string, string>;
  /**
   * Run this script of the suite instead of the CLI (same runtime, same
   * arguments; see {@linkcode scriptCommand}).
   */
  script?: URL;
  /** Soft and hard limit on open files (`ulimit -n`). */
  fdLimit?: number;
  /** The file mode creation mask it starts with (`umask`). */
  umask?: number;
}

/** A CLI process with its output collected. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  /** When it was spawned (Date.now()): its age is at least the time since. */
  readonly spawnedAt: number = Date.now();
  readonly exited: Promise<number>;
  #waiters: (() => void)[] = [];
  #group = false;

  constructor(
    args: readonly string[],
    binary?: string,
    options: CliProcessOptions = {},
  ) {
    let cmd = binary !== undefined
      ? { command: binary, args: [...args] }
      : options.script !== undefined
      ? scriptCommand(options.script, args)
      : cliCommand(args);
    const shell = [
      ...(options.fdLimit === undefined
        ? []
        : [`ulimit -n ${options.fdLimit}`]),
      ...(options.umask === undefined
        ? []
        : [`umask ${options.umask.toString(8).padStart(3, "0")}`]),
    ];
    if (shell.length > 0) {
      // exec: the process that runs is the runtime itself, not a shell.
      cmd = {
        command: "sh",
        args: [
          "-c",
          `${shell.join(" && ")} && exec "$0" "$@"`,
          cmd.command,
          ...cmd.args,
        ],
      };
    }
    this.child = spawn(cmd.command, cmd.args, {
      stdio: ["ignore", "pipe", "pipe"],
      cwd: options.cwd,
      env: options.env === undefined
        ? undefined
        : { ...process.env, ...options.env },
      detached: options.group === true,
    });
    this.#group = options.group === true;
    this.child.stdout!.on("data", (d: Uint8Array) => {
      this.stdout += new TextDecoder().decode(d);
      this.#notify();
    });
    this.child.stderr!.on("data", (d: Uint8Array) => {
      this.stderr += new TextDecoder().decode(d);
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      // "close" comes after the exit and after the output pipes are drained.
      this.child.on("close", (code, signal) => {
        this.#notify();
        resolve(code ?? (signal ? 128 : 1));
      });
    });
  }

  /** Waits until stdout (or stderr) contains `text`. */
  async waitFor(text: string | RegExp, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const seen = () =>
      typeof text === "string"
        ? (this.stdout + this.stderr).includes(text)
        : text.test(this.stdout + this.stderr);
    while (!seen()) {
      if (this.child.exitCode !== null) {
        throw new Error(
          `process exited (${this.child.exitCode}) before printing ${text}: ${this.stdout} ${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${text}: ${this.stdout} ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /**
   * Sends a signal and waits for the process to end; true when it shut
   * down cleanly (said "stopped"). Deno's child_process reports a child
   * that handled the signal and exited 0 as killed by it, so the exit code
   * cannot tell.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<boolean> {
    this.signal(signal);
    await this.exited;
    return /\bstopped\b/.test(this.stdout);
  }

  /**
   * Sends a signal while the process runs (to its whole process group when
   * started with `group`, as a terminal or a service manager does). Through
   * process.kill, because Deno's ChildProcess.kill sends only the first
   * signal of a child's life.
   */
  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode !== null || this.child.pid === undefined) return;
    try {
      process.kill(this.#group ? -this.child.pid : this.child.pid, signal);
    } catch {
      // Already gone: the caller waits on `exited` anyway.
    }
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

/**
 * Runs `distcache <args>` to completion; a process still running after
 * `timeoutMs` is killed and the promise rejects.
 */
export async function runCli(
  args: readonly string[],
  binary?: string,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = new CliProcess(args, binary);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.signal("SIGKILL");
      reject(
        new Error(`still running after ${timeoutMs} ms: ${args.join(" ")}`),
      );
    }, timeoutMs);
  });
  try {
    const code = await Promise.race([p.exited, late]);
    return { code, stdout: p.stdout, stderr: p.stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** The address a tool prints in its "listening on <addr>" line. */
export const LISTENING: RegExp = /listening on ([^\s,]+)/;

/**
 * The temporary directory and the CLI processes of one `describe` block:
 * made before its tests, and after them every process still running is
 * killed and the directory removed. Construct it inside `describe`.
 */
export class CliSandbox {
  /** The temporary directory (set once the block's tests start). */
  dir = "";
  readonly #procs: CliProcess[] = [];
  readonly #daemons: number[] = [];

  constructor(prefix: string) {
    before(() => {
      this.dir = makeTempDir(prefix);
    });
    after(() => {
      for (const p of this.#procs) {
        if (p.child.exitCode === null) p.signal("SIGKILL");
      }
      for (const pid of this.#daemons) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Stopped by the test already.
        }
      }
      removeDir(this.dir);
    });
  }

  /** {@linkcode startDaemon}, with the daemon killed after the block. */
  async startDaemon(
    tool: string,
    pidfile: string,
    args: readonly string[],
  ): Promise<number> {
    const pid = await startDaemon(tool, pidfile, args);
    this.#daemons.push(pid);
    return pid;
  }

  /** Kills `proc` after the block if it still runs; returns it. */
  track(proc: CliProcess): CliProcess {
    this.#procs.push(proc);
    return proc;
  }

  /** Starts `distcache <args>` and waits for its "listening on" line. */
  async start(args: readonly string[]): Promise<CliProcess> {
    const proc = this.track(new CliProcess(args));
    await proc.waitFor(LISTENING);
    return proc;
  }
}

/** The address a started tool listens on. */
export function listenAddr(proc: CliProcess): string {
  return LISTENING.exec(proc.stdout)![1];
}

/**
 * Runs `distcache <tool> -daemon -pidfile <pidfile> <args>`; resolves with
 * the background process's id, read from the pidfile, once the foreground
 * one exited 0 (it throws the tool's stderr otherwise).
 */
export async function startDaemon(
  tool: string,
  pidfile: string,
  args: readonly string[],
): Promise<number> {
  const res = await runCli([tool, "-daemon", "-pidfile", pidfile, ...args]);
  if (res.code !== 0) {
    throw new Error(`${tool} -daemon exited ${res.code}: ${res.stderr}`);
  }
  return Number(fs.readFileSync(pidfile, "utf8").trim());
}

/** Whether `command --version` runs here (a tool on PATH). */
export function haveCommand(command: string): boolean {
  try {
    execFileSync(command, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
