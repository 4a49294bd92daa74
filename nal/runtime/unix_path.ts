/**
 * Filesystem facts about UNIX socket paths, for listeners that must replace
 * a stale socket file but never steal a live one or delete a regular file.
 *
 * @module
 */

import * as fs from "node:fs";
import process from "node:process";

/** What is at a path: nothing, a socket file, or something else. */
export type PathKind = "none" | "socket" | "other";

/** What is at `path` (not following a final symlink). */
export function pathKind(path: string): PathKind {
  try {
    return fs.lstatSync(path).isSocket() ? "socket" : "other";
  } catch {
    return "none";
  }
}

/** The inode of a socket file, or -1 when there is none. */
export function socketInode(path: string): number {
  try {
    const st = fs.lstatSync(path);
    return st.isSocket() ? Number(st.ino) : -1;
  } catch {
    return -1;
  }
}

/** Removes a file, ignoring one that is already gone. */
export function removeFile(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // Already gone: the goal is reached.
  }
}

/** Whether the directory that would hold `path` exists. */
export function parentExists(path: string): boolean {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** The lock file that guards a UNIX socket path. */
export function lockPathOf(path: string): string {
  return `${path}.lock`;
}

// A file holding `text` (a pid first), made under a name no other process
// uses, then linked to `path`: link(2) fails if `path` exists, so the lock
// appears whole and only once (open with O_EXCL would show it empty for a
// moment).
function linkNew(path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  fs.writeFileSync(temp, text, { flag: "wx", mode: 0o644 });
  try {
    fs.linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return false;
    throw err;
  } finally {
    removeFile(temp);
  }
}

// The pid in a lock file, or null when there is none (or no lock).
function holderOf(path: string): number | null {
  const pid = Number(readText(path)?.split(" ")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function readText(path: string): string | null {
  try {
    return fs.readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, as another user's.
    return (err as { code?: string }).code === "EPERM";
  }
}

/** The outcome of {@linkcode lockSocketPath}. */
export type SocketLock =
  | { readonly held: true; release(): void }
  | { readonly held: false; readonly holder: number };

/**
 * Takes the lock file beside a UNIX socket path, as flock would: made
 * atomically, holding our pid; one held by a dead process is taken over
 * (under a second lock, so that two takers cannot both win).
 *
 * @returns The lock, or the live process that holds it.
 */
export function lockSocketPath(path: string): SocketLock {
  const lock = lockPathOf(path);
  // Our pid, and a token telling this lock from another of this process.
  const mine = `${process.pid} ${Math.random().toString(36).slice(2)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (linkNew(lock, mine)) return ownLock(lock, mine);
    const holder = holderOf(lock);
    if (holder !== null && alive(holder)) return { held: false, holder };
    // Stale: its holder died. Only the one that makes the take-over lock
    // may replace it, and only if it is still the stale one.
    const steal = `${lock}.takeover`;
    if (!linkNew(steal, mine)) {
      const thief = holderOf(steal);
      if (thief !== null && !alive(thief)) removeFile(steal);
      continue;
    }
    try {
      if (holderOf(lock) === holder) removeFile(lock);
    } finally {
      removeFile(steal);
    }
  }
  const holder = holderOf(lock);
  return { held: false, holder: holder ?? 0 };
}

function ownLock(lock: string, mine: string): SocketLock {
  return {
    held: true,
    release: () => {
      if (readText(lock) === mine) removeFile(lock);
    },
  };
}

/**
 * A directory only we can enter, beside `path` (same filesystem, so that a
 * socket made in it can be renamed to `path`), with the path of a socket
 * in it.
 */
export function privateSocketDir(path: string): { dir: string; path: string } {
  const slash = path.lastIndexOf("/");
  const parent = slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
  const dir = fs.mkdtempSync(`${parent}/.dc-`);
  fs.chmodSync(dir, 0o700);
  return { dir, path: `${dir}/s` };
}

/**
 * Gives a socket file its mode and owner (those given), then moves it to
 * `to` (replacing it).
 */
export function publishSocket(
  from: string,
  to: string,
  mode: number | undefined,
  owner: { uid?: number; gid?: number } | undefined,
): void {
  if (mode !== undefined) fs.chmodSync(from, mode);
  if (owner !== undefined) {
    fs.chownSync(from, owner.uid ?? -1, owner.gid ?? -1);
  }
  fs.renameSync(from, to);
}

/** Removes an empty directory, ignoring one already gone. */
export function removeDir(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // Gone already, or not empty (then it is not ours to remove).
  }
}
