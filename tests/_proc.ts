// Test helpers that look at a running process from the outside, through
// Linux's /proc: what it listens on, its credentials, its signal masks.

import * as fs from "node:fs";
import process from "node:process";

/** Whether /proc describes processes here (Linux). */
export const HAVE_PROC = fs.existsSync("/proc/self/status");

/**
 * The TCP ports a process listens on (IPv4 and IPv6), from /proc/net/tcp*
 * matched with the socket inodes among its open descriptors.
 */
export function listeningTcpPorts(pid: number): number[] {
  const byInode = new Map<string, number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = fs.readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address:port in hex, f[3] state (0A = LISTEN), f[9] inode
      if (f.length < 10 || f[3] !== "0A") continue;
      byInode.set(f[9], parseInt(f[1].split(":").pop()!, 16));
    }
  }
  const ports: number[] = [];
  for (const fd of readdir(`/proc/${pid}/fd`)) {
    let link = "";
    try {
      link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    const port = inode === undefined ? undefined : byInode.get(inode);
    if (port !== undefined) ports.push(port);
  }
  return ports.sort((a, b) => a - b);
}

/** A line of /proc/<pid>/status, e.g. `Groups`, for the process and each of its threads. */
export function statusLines(pid: number, field: string): string[] {
  const out: string[] = [];
  for (const task of readdir(`/proc/${pid}/task`)) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/task/${task}/status`, "utf8");
      const m = new RegExp(`^${field}:[ \\t]*(.*)$`, "m").exec(text);
      if (m !== null) out.push(m[1].trim());
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

function readdir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether a process of this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
