/**
 * Filesystem facts about UNIX socket paths, for listeners that must replace
 * a stale socket file but never steal a live one or delete a regular file.
 *
 * @module
 */

import * as fs from "node:fs";

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
