/**
 * What the long-running tools (`server`, `client`) share as operators'
 * programs: pidfiles, UNIX socket ownership and mode, dropping privileges,
 * detaching into the background, and shutting down on signals.
 *
 * @module
 */

import { spawn } from "node:child_process";
import * as path from "node:path";
import process from "node:process";
import { type FlagValues, UsageError } from "./flags.ts";
import { consoleLog, type Log } from "./log.ts";
import { claimPidfile, type Pidfile } from "./pidfile.ts";
import { selfCommand } from "./self.ts";
import {
  canRemove,
  type Credentials,
  groupId,
  planUserSwitch,
  switchUser,
  userId,
} from "./users.ts";

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
 * (its error is repeated on stderr). With `keepStderr` (`-syslog`), the
 * background copy writes to this process's stderr, for good.
 */
export function daemonize(
  args: readonly string[],
  options: { keepStderr?: boolean } = {},
): Promise<number> {
  const self = selfCommand();
  const child = spawn(self.command, [...self.args, ...args], {
    detached: true,
    stdio: ["ignore", "pipe", options.keepStderr ? "inherit" : "pipe"],
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

/**
 * Owner, group and mode to give a UNIX socket file before it is reachable
 * (the listener sets them in a private directory, then moves the socket).
 */
export interface SocketFile {
  /** Mode bits, e.g. 0o600. */
  mode?: number;
  /** Numeric owner and group. */
  owner?: { uid?: number; gid?: number };
}

// What `-sockowner`, `-sockgroup` and `-sockperms` ask of the socket at
// `address`; with `-user` and no `-sockowner`, the socket goes to that user
// (a server that became -user could not remove a root-owned socket file
// from a sticky directory such as /tmp at exit).
function socketFile(
  address: string,
  flags: FlagValues,
  user: Credentials | null,
): SocketFile {
  const named = flags.sockowner !== undefined ||
    flags.sockgroup !== undefined || flags.sockperms !== undefined;
  const unix = address.startsWith("UNIX:");
  if (named && !unix) {
    throw new UsageError(
      "flags -sockowner, -sockgroup and -sockperms need a UNIX: address",
    );
  }
  if (!unix) return {};
  const uid = flags.sockowner !== undefined
    ? userId(flags.sockowner as string, "-sockowner")
    : user?.uid;
  const gid = flags.sockgroup === undefined
    ? undefined
    : groupId(flags.sockgroup as string, "-sockgroup");
  return {
    mode: flags.sockperms as number | undefined,
    owner: uid === undefined && gid === undefined ? undefined : { uid, gid },
  };
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

/** A long-running service as the tools start it. */
export interface Service {
  /** The address it listens on. */
  readonly addr: string;
  /** Resolves when it stopped. */
  readonly finished: Promise<void>;
  /** Stops it. */
  close(): Promise<void>;
}

/**
 * What the operator's flags ask of a service that can fail, done before it
 * listens: the pidfile claimed, the `-user` switch checked. A second server
 * given the same pidfile thus stops here, without touching the first one's
 * socket.
 */
export interface ServicePlan {
  /** The claimed `-pidfile`, removed at exit. */
  readonly pidfile: Pidfile | null;
  /** Who `-user` becomes once listening. */
  readonly user: Credentials | null;
  /** What the UNIX socket file is given before it is reachable. */
  readonly socket: SocketFile;
}

/**
 * Checks and claims what `flags` ask for (`-user`, `-pidfile`, the socket
 * file's owner and mode), before the service starts listening on `listen`.
 *
 * @throws {UsageError} for a `-user` that cannot be switched to, an unknown
 *   `-sockowner` or `-sockgroup`, or socket file flags with a TCP address.
 * @throws {PidfileError} for a pidfile that cannot be claimed.
 */
export function prepareService(
  flags: FlagValues,
  listen: string,
): ServicePlan {
  const user = flags.user === undefined
    ? null
    : planUserSwitch(flags.user as string);
  const socket = socketFile(listen, flags, user);
  const pidfile = flags.pidfile === undefined
    ? null
    : claimPidfile(flags.pidfile as string);
  return { pidfile, user, socket };
}

/** What {@linkcode superviseService} does around a started service. */
export interface SuperviseOptions {
  /** What {@linkcode prepareService} made of the flags. */
  plan: ServicePlan;
  /** Line logged once serving. */
  banner: string;
  /** Name logged with "stopped" after a clean shutdown. */
  name: string;
  /** Where messages go. @default {consoleLog()} */
  log?: Log;
  /** Milliseconds between `tick` calls. @default {1000} */
  tickMs?: number;
  /** Also stop on SIGUSR1/SIGUSR2 (otherwise they are ignored). */
  killable?: boolean;
  /** Called every `tickMs` (the server's stats line). */
  tick?: () => void;
}

/**
 * Runs a started service as an operator expects: dropping privileges, clean shutdown on SIGINT/SIGTERM, the pidfile
 * removed after, telling a waiting `-daemon` parent it is ready. Resolves
 * with the exit code once the service stopped.
 */
export async function superviseService(
  service: Service,
  opts: SuperviseOptions,
): Promise<number> {
  const { plan } = opts;
  const log = opts.log ?? consoleLog();
  try {
    const unix = service.addr.startsWith("UNIX:");
    if (plan.user !== null) {
      warnLeftBehind(plan.user, log, [
        ...(unix ? [service.addr.slice(5)] : []),
        ...(plan.pidfile === null ? [] : [plan.pidfile.path]),
      ]);
      switchUser(plan.user);
    }
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
  // Banner first: once the -daemon parent hears "ready" and exits, its
  // caller may look in the log.
  log.info(opts.banner);
  if (isDaemonChild()) signalDaemonReady();
  if (opts.tick !== undefined) {
    timer = setInterval(opts.tick, opts.tickMs ?? 1000);
  }
  await service.finished;
  clearInterval(timer);
  stopSignals();
  plan.pidfile?.release();
  log.info(`${opts.name} stopped`);
  return 0;
}

// Says, before switching user, which files the user will not be able to
// remove at exit (a directory it cannot write); they are left behind, and
// the next start replaces them.
function warnLeftBehind(
  user: Credentials,
  log: Log,
  files: string[],
): void {
  for (const file of files) {
    if (!canRemove(file, user)) {
      log.warn(
        `warning: as user "${user.name}" this process cannot remove ${file} ` +
          `at exit (${path.dirname(file)} is not writable by that user); ` +
          `it will be left behind`,
      );
    }
  }
}
