/**
 * What the long-running tools (`server`, `client`) share as operators'
 * programs: pidfiles, UNIX socket ownership and mode, dropping privileges,
 * detaching into the background, and shutting down on signals.
 *
 * @module
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import process from "node:process";
import { UsageError } from "./flags.ts";
import { selfCommand } from "./self.ts";

/** Set in the environment of the background copy `-daemon` starts. */
const DAEMON_ENV = "DISTCACHE_DAEMON_CHILD";
const READY = "distcache-ready";

/** Whether this process is the background copy started by `-daemon`. */
export function isDaemonChild(): boolean {
  return process.env[DAEMON_ENV] === "1";
}

/**
 * Detaches: starts this same tool (`args` begins with its name) again in the background (without
 * `-daemon`'s wait), and resolves with the exit code for the foreground
 * process: 0 once the background copy says it is serving, 1 if it failed
 * (its error is repeated on stderr).
 */
export function daemonize(args: readonly string[]): Promise<number> {
  const self = selfCommand();
  const child = spawn(self.command, [...self.args, ...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, [DAEMON_ENV]: "1" },
  });
  return new Promise((resolve) => {
    let out = "";
    let err = "";
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      resolve(code);
    };
    child.stdout?.on("data", (chunk: Uint8Array) => {
      out += new TextDecoder().decode(chunk);
      if (out.includes(READY)) finish(0);
    });
    child.stderr?.on("data", (chunk: Uint8Array) => {
      err += new TextDecoder().decode(chunk);
    });
    child.on("exit", (code) => {
      if (!done) {
        process.stderr.write(
          err.length > 0 ? err : `daemon exited with status ${code}\n`,
        );
      }
      finish(code === 0 ? 1 : code ?? 1);
    });
    child.on("error", (e) => {
      process.stderr.write(`cannot start the daemon: ${e.message}\n`);
      finish(1);
    });
  });
}

/**
 * In the background copy: tells the foreground process that we serve, then
 * stops writing to its pipes (they close when it exits).
 */
export function signalDaemonReady(): void {
  process.stdout.write(`${READY}\n`);
}

/** Writes the process id to `path` (replacing the file). */
export function writePidfile(path: string): void {
  fs.writeFileSync(path, `${process.pid}\n`);
}

/** Removes a pidfile written by this process, if it is still ours. */
export function removePidfile(path: string): void {
  try {
    if (fs.readFileSync(path, "utf8").trim() === String(process.pid)) {
      fs.unlinkSync(path);
    }
  } catch {
    // Gone already, or never written: nothing to remove.
  }
}

/** Owner, group and mode to give a UNIX socket file. */
export interface SocketFileOptions {
  /** User name or numeric uid. */
  owner?: string;
  /** Group name or numeric gid. */
  group?: string;
  /** Mode bits, e.g. 0o600. */
  perms?: number;
}

/**
 * Applies `-sockowner`, `-sockgroup` and `-sockperms` to a listening UNIX
 * address; a TCP address with any of them set is an error.
 *
 * @throws {UsageError} for an unknown user or group, or a TCP address.
 */
export function applySocketFile(
  address: string,
  opts: SocketFileOptions,
): void {
  if (
    opts.owner === undefined && opts.group === undefined &&
    opts.perms === undefined
  ) return;
  if (!address.startsWith("UNIX:")) {
    throw new UsageError(
      "flags -sockowner, -sockgroup and -sockperms need a UNIX: address",
    );
  }
  const path = address.slice(5);
  if (opts.perms !== undefined) fs.chmodSync(path, opts.perms);
  if (opts.owner !== undefined || opts.group !== undefined) {
    const uid = opts.owner === undefined
      ? -1
      : lookupId(opts.owner, "/etc/passwd", "-sockowner");
    const gid = opts.group === undefined
      ? -1
      : lookupId(opts.group, "/etc/group", "-sockgroup");
    fs.chownSync(path, uid, gid);
  }
}

/**
 * Drops root privileges to `user` (`-user`), after listening.
 *
 * @throws {UsageError} when the user is unknown or this runtime cannot
 *   change its user.
 */
export function dropPrivileges(user: string): void {
  const uid = lookupId(user, "/etc/passwd", "-user");
  const gid = primaryGroup(user);
  const p = process as unknown as {
    setgid?: (id: number) => void;
    setuid?: (id: number) => void;
  };
  if (typeof p.setuid !== "function" || typeof p.setgid !== "function") {
    throw new UsageError(
      "flag -user: this runtime cannot change the process user",
    );
  }
  try {
    if (gid >= 0) p.setgid(gid);
    p.setuid(uid);
  } catch (err) {
    throw new UsageError(
      `flag -user: cannot become "${user}": ${(err as Error).message}`,
    );
  }
}

/**
 * Runs `stop` once on the first of `signals`; the others named in `ignore`
 * are caught and ignored (so they do not kill the process).
 */
export function onSignals(
  signals: readonly string[],
  ignore: readonly string[],
  stop: () => void,
): () => void {
  let stopped = false;
  const handler = () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
  const noop = () => {};
  for (const s of signals) process.on(s as "SIGTERM", handler);
  for (const s of ignore) process.on(s as "SIGTERM", noop);
  return () => {
    for (const s of signals) process.off(s as "SIGTERM", handler);
    for (const s of ignore) process.off(s as "SIGTERM", noop);
  };
}

// A numeric id, or the id of a name in /etc/passwd or /etc/group.
function lookupId(name: string, file: string, flag: string): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  const entry = readEntries(file).find((fields) => fields[0] === name);
  if (entry === undefined) {
    throw new UsageError(
      `flag ${flag}: unknown ${
        file === "/etc/group" ? "group" : "user"
      } "${name}"`,
    );
  }
  return Number(entry[2]);
}

function primaryGroup(user: string): number {
  const entry = readEntries("/etc/passwd").find((fields) =>
    fields[0] === user || fields[2] === user
  );
  return entry === undefined ? -1 : Number(entry[3]);
}

function readEntries(file: string): string[][] {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) =>
      l && !l.startsWith("#")
    )
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}

/** A long-running service as the tools start it. */
export interface Service {
  /** The address it listens on. */
  readonly addr: string;
  /** Resolves when it stopped. */
  readonly finished: Promise<void>;
  /** Stops it. */
  close(): Promise<void>;
}

/** What {@linkcode superviseService} does around a started service. */
export interface SuperviseOptions {
  /** Parsed flags (`pidfile`, `user`, `sockowner`, `sockgroup`, `sockperms`). */
  flags: Record<string, string | number | boolean>;
  /** Line printed once serving (foreground only). */
  banner: string;
  /** Name printed with "stopped" after a clean shutdown (foreground only). */
  name: string;
  /** Also stop on SIGUSR1/SIGUSR2 (otherwise they are ignored). */
  killable?: boolean;
  /** Called once a second in the foreground (the server's stats line). */
  tick?: () => void;
}

/**
 * Runs a started service as an operator expects: socket file ownership and
 * mode, dropping privileges, the pidfile, clean shutdown on SIGINT/SIGTERM,
 * telling a waiting `-daemon` parent it is ready. Resolves with the exit code
 * once the service stopped.
 */
export async function superviseService(
  service: Service,
  opts: SuperviseOptions,
): Promise<number> {
  const flags = opts.flags;
  const pidfile = flags.pidfile as string | undefined;
  try {
    // A server that became -user could not remove a root-owned socket file
    // from a sticky directory such as /tmp at exit: hand the file over.
    const owner = flags.sockowner ??
      (service.addr.startsWith("UNIX:") ? flags.user : undefined);
    applySocketFile(service.addr, {
      owner: owner as string | undefined,
      group: flags.sockgroup as string | undefined,
      perms: flags.sockperms as number | undefined,
    });
    if (flags.user !== undefined) dropPrivileges(flags.user as string);
    if (pidfile !== undefined) writePidfile(pidfile);
  } catch (err) {
    await service.close();
    throw err;
  }
  let timer: ReturnType<typeof setInterval> | undefined;
  const usr = ["SIGUSR1", "SIGUSR2"];
  const stop = () => {
    clearInterval(timer);
    service.close();
  };
  const stopSignals = opts.killable
    ? onSignals(["SIGINT", "SIGTERM", ...usr], [], stop)
    : onSignals(["SIGINT", "SIGTERM"], usr, stop);
  if (isDaemonChild()) {
    signalDaemonReady();
  } else {
    console.log(opts.banner);
    if (opts.tick !== undefined) timer = setInterval(opts.tick, 1000);
  }
  await service.finished;
  clearInterval(timer);
  stopSignals();
  if (pidfile !== undefined) removePidfile(pidfile);
  if (!isDaemonChild()) console.log(`${opts.name} stopped`);
  return 0;
}
