/**
 * Users and groups for `-user`, `-sockowner` and `-sockgroup`: names looked
 * up in /etc/passwd and /etc/group, and the switch from root to another
 * user that `-user` asks for.
 *
 * @module
 */

import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { UsageError } from "./flags.ts";
import { denoLibc } from "./libc.ts";

/** A user to become: ids from /etc/passwd. */
export interface Credentials {
  /** The name or number given. */
  readonly name: string;
  /** User id. */
  readonly uid: number;
  /** Primary group id, the only group kept. */
  readonly gid: number;
}

/**
 * The user id of a name or number (`-sockowner`).
 *
 * @throws {UsageError} naming `flag` for an unknown user.
 */
export function userId(name: string, flag: string): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  return Number(entry("/etc/passwd", name, flag, "user")[2]);
}

/**
 * The group id of a name or number (`-sockgroup`).
 *
 * @throws {UsageError} naming `flag` for an unknown group.
 */
export function groupId(name: string, flag: string): number {
  if (/^[0-9]+$/.test(name)) return Number(name);
  return Number(entry("/etc/group", name, flag, "group")[2]);
}

/**
 * What `-user` would switch to, checked before anything listens: the user
 * exists, this process is root, and the runtime can drop supplementary
 * groups (Bun and Node through `process.setgroups`, Deno through libc).
 *
 * @throws {UsageError} naming `-user` and what is missing.
 */
export function planUserSwitch(name: string): Credentials {
  const numeric = /^[0-9]+$/.test(name);
  const fields = readEntries("/etc/passwd").find((f) =>
    numeric ? f[2] === name : f[0] === name
  );
  if (fields === undefined) {
    throw new UsageError(
      numeric
        ? `flag -user: no user with id ${name} in /etc/passwd`
        : `flag -user: unknown user "${name}"`,
    );
  }
  const creds = { name, uid: Number(fields[2]), gid: Number(fields[3]) };
  const p = process as ProcessIds;
  if (typeof p.setuid !== "function" || typeof p.setgid !== "function") {
    throw new UsageError(
      "flag -user: this runtime cannot change the process user",
    );
  }
  if (typeof p.setgroups !== "function") {
    const libc = denoLibc();
    if (typeof libc === "string") {
      throw new UsageError(
        `flag -user: cannot drop the supplementary groups: ${libc}`,
      );
    }
  }
  const uid = p.getuid?.();
  if (uid !== 0) {
    throw new UsageError(
      `flag -user: only root can switch user (this process runs as uid ${uid})`,
    );
  }
  return creds;
}

/**
 * Becomes `creds`: supplementary groups set to the primary group alone,
 * then group, then user. On Linux it reads back every thread's ids, since
 * credentials there belong to threads.
 *
 * @throws {UsageError} when a step fails.
 */
export function switchUser(creds: Credentials): void {
  const p = process as ProcessIds;
  try {
    if (typeof p.setgroups === "function") {
      p.setgroups([creds.gid]);
    } else {
      const libc = denoLibc();
      if (typeof libc === "string") throw new Error(libc);
      libc.setgroups([creds.gid]);
    }
    p.setgid!(creds.gid);
    p.setuid!(creds.uid);
  } catch (err) {
    throw new UsageError(
      `flag -user: cannot become "${creds.name}": ${(err as Error).message}`,
    );
  }
  const left = threadsNotSwitched(creds);
  if (left !== null) {
    throw new UsageError(
      `flag -user: a thread of this process kept its ids (${left})`,
    );
  }
}

/**
 * Whether the user of `creds` may remove `file` (write and search on its
 * directory, search on the directories above, and with the sticky bit,
 * owning the file or the directory).
 */
export function canRemove(file: string, creds: Credentials): boolean {
  const dir = path.dirname(path.resolve(file));
  try {
    for (let d = dir;; d = path.dirname(d)) {
      if (!allowed(fs.statSync(d), creds, 0o1)) return false;
      if (d === path.dirname(d)) break;
    }
    const st = fs.statSync(dir);
    if (!allowed(st, creds, 0o2)) return false;
    if ((st.mode & 0o1000) === 0) return true;
    return st.uid === creds.uid || fs.lstatSync(file).uid === creds.uid;
  } catch {
    return false;
  }
}

// The parts of node:process used here; setgroups is absent under Deno.
interface ProcessIds {
  getuid?: () => number;
  setuid?: (id: number) => void;
  setgid?: (id: number) => void;
  setgroups?: (ids: number[]) => void;
}

// `bits` (1 search, 2 write) in the owner, group or other class that
// applies to the user.
function allowed(st: fs.Stats, creds: Credentials, bits: number): boolean {
  const shift = st.uid === creds.uid ? 6 : st.gid === creds.gid ? 3 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

// On Linux, a description of the first thread whose ids or groups differ
// from `creds`, or null.
function threadsNotSwitched(creds: Credentials): string | null {
  let tasks: string[];
  try {
    tasks = fs.readdirSync("/proc/self/task");
  } catch {
    return null;
  }
  const ids = `${creds.uid}`;
  for (const task of tasks) {
    let status = "";
    try {
      status = fs.readFileSync(`/proc/self/task/${task}/status`, "utf8");
    } catch {
      continue;
    }
    const uids = /^Uid:\s*(.*)$/m.exec(status)?.[1].trim().split(/\s+/);
    const gids = /^Gid:\s*(.*)$/m.exec(status)?.[1].trim().split(/\s+/);
    const groups = /^Groups:\s*(.*)$/m.exec(status)?.[1].trim();
    if (uids?.some((u) => u !== ids)) return `thread ${task}: Uid ${uids}`;
    if (gids?.some((g) => g !== `${creds.gid}`)) {
      return `thread ${task}: Gid ${gids}`;
    }
    if (groups !== undefined && groups !== "" && groups !== `${creds.gid}`) {
      return `thread ${task}: Groups ${groups}`;
    }
  }
  return null;
}

function entry(
  file: string,
  name: string,
  flag: string,
  what: string,
): string[] {
  const found = readEntries(file).find((fields) => fields[0] === name);
  if (found === undefined) {
    throw new UsageError(`flag ${flag}: unknown ${what} "${name}"`);
  }
  return found;
}

function readEntries(file: string): string[][] {
  try {
    return fs.readFileSync(file, "utf8").split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split(":"));
  } catch {
    return [];
  }
}
