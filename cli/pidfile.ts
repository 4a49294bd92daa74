/**
 * `-pidfile`: a file holding the process id, written so that it cannot be
 * turned against the machine when the tools run as root.
 *
 * - The content goes to a new file of a random name in the same directory,
 *   created exclusively and without following links; it is then linked (or
 *   renamed) to the pidfile's name. A symbolic link at that name is
 *   replaced itself: its target is never opened, written or created.
 * - A pidfile naming a live process is never replaced: a second server
 *   with the same pidfile refuses to start (before it listens).
 * - At exit only a pidfile that still names this process is removed.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { DistcacheError } from "@distcache/distcache/nal";

/**
 * A pidfile that cannot be claimed (code `ERR_PIDFILE`): missing directory,
 * held by a live process, not a regular file, or not writable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { claimPidfile, PidfileError } from "./pidfile.ts";
 *
 * assert.throws(() => claimPidfile("/no/such/dir/x.pid"), PidfileError);
 * ```
 */
export class PidfileError extends DistcacheError {
  /**
   * Makes a pidfile error.
   *
   * @param message The pidfile and what is wrong with it.
   */
  constructor(message: string) {
    super("ERR_PIDFILE", message);
  }
}

/** A pidfile this process wrote; {@linkcode Pidfile.release} removes it. */
export interface Pidfile {
  /** Where it is. */
  readonly path: string;
  /** Removes the file if it still names this process (idempotent). */
  release(): void;
}

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } =
  fs.constants;

/**
 * Writes this process's id to `file`, as the module says; the pidfile is
 * also removed when the process exits.
 *
 * @throws {PidfileError} when the pidfile names another live process, is
 *   not a regular file (or a link), or cannot be written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs";
 * import * as os from "node:os";
 * import * as path from "node:path";
 * import process from "node:process";
 * import { claimPidfile } from "./pidfile.ts";
 *
 * const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pid-"));
 * const pidfile = claimPidfile(path.join(dir, "server.pid"));
 * assert.equal(fs.readFileSync(pidfile.path, "utf8"), `${process.pid}\n`);
 * pidfile.release();
 * assert.equal(fs.existsSync(pidfile.path), false);
 * fs.rmdirSync(dir);
 * ```
 */
export function claimPidfile(file: string): Pidfile {
  const target = path.resolve(file);
  const dir = path.dirname(target);
  let dirStat: fs.Stats;
  try {
    dirStat = fs.statSync(dir);
  } catch {
    throw new PidfileError(`cannot write pidfile ${file}: no directory ${dir}`);
  }
  if (!dirStat.isDirectory()) {
    throw new PidfileError(
      `cannot write pidfile ${file}: ${dir} is not a directory`,
    );
  }
  const temp = writeTemp(file, dir, path.basename(target));
  try {
    place(file, temp, target);
  } finally {
    try {
      fs.unlinkSync(temp);
    } catch {
      // Renamed into place.
    }
  }
  const holder = readPid(target);
  if (holder !== process.pid) {
    throw new PidfileError(
      `pidfile ${file} was taken by process ${holder} meanwhile`,
    );
  }
  const onExit = () => release();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", onExit);
    if (readPid(target) === process.pid) {
      try {
        fs.unlinkSync(target);
      } catch {
        // Not ours to remove any more (a directory we cannot write after
        // -user): said at start.
      }
    }
  };
  process.on("exit", onExit);
  return { path: target, release };
}

function writeTemp(file: string, dir: string, base: string): string {
  const temp = path.join(
    dir,
    `.${base}.${process.pid}.${randomBytes(6).toString("hex")}`,
  );
  let fd: number;
  try {
    fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
  } catch (err) {
    throw new PidfileError(
      `cannot write pidfile ${file}: ${(err as Error).message}`,
    );
  }
  try {
    fs.writeSync(fd, `${process.pid}\n`);
  } finally {
    fs.closeSync(fd);
  }
  return temp;
}

// Links the written file to the pidfile's name; that fails on any existing
// entry (even a dangling link), which is then looked at: a stale pidfile or
// a link is replaced by a rename, which never follows the link.
function place(file: string, temp: string, target: string): void {
  try {
    fs.linkSync(temp, target);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "EPERM" && code !== "ENOTSUP") {
      throw new PidfileError(
        `cannot write pidfile ${file}: ${(err as Error).message}`,
      );
    }
  }
  let existing: fs.Stats | null = null;
  try {
    existing = fs.lstatSync(target);
  } catch {
    // Gone meanwhile: the rename below puts ours there.
  }
  if (existing !== null && !existing.isFile() && !existing.isSymbolicLink()) {
    throw new PidfileError(`pidfile ${file} exists and is not a regular file`);
  }
  const holder = existing?.isFile() ? readPid(target) : null;
  if (holder !== null && holder !== process.pid && isAlive(holder)) {
    throw new PidfileError(
      `pidfile ${file} names running process ${holder}: is another server ` +
        `using it? (remove the file if ${holder} is not a distcache process)`,
    );
  }
  try {
    fs.renameSync(temp, target);
  } catch (err) {
    throw new PidfileError(
      `cannot write pidfile ${file}: ${(err as Error).message}`,
    );
  }
}

// The process id in a regular file (never through a link), or null.
function readPid(file: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return null;
    const buf = new Uint8Array(32);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const text = new TextDecoder().decode(buf.subarray(0, n));
    const m = /^\s*([1-9][0-9]{0,9})\s*$/.exec(text);
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
