/**
 * The server's `-snapshot` flags: which file, which key, how often, and
 * what the operator is told of each load and write.
 *
 * @module
 */

import {
  readSnapshotKey,
  type SnapshotEvent,
  type SnapshotOptions,
} from "@distcache/distcache/dc_server";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";
import type { Log } from "./log.ts";

/** Flags of `distcache server` for snapshots. */
export const SNAPSHOT_FLAGS: FlagSpec[] = [
  {
    name: "snapshot",
    kind: "string",
    arg: "<file>",
    help:
      "keep the sessions across restarts: write them (encrypted) here on stop, load them at start",
  },
  {
    name: "snapshot-key",
    kind: "string",
    arg: "<file>",
    help:
      "key of the snapshot: 32 bytes or 64 hex digits, mode 0600 (openssl rand -hex 32)",
  },
  {
    name: "snapshot-interval",
    kind: "int",
    arg: "<secs>",
    min: 1,
    max: 86400,
    help: "also write the snapshot this often (default: only on stop)",
  },
];

const WHY_A_KEY =
  "sessions are secrets (a TLS session holds its master secret), so a " +
  "snapshot is only written encrypted; make a key with " +
  '"openssl rand -hex 32 > FILE && chmod 600 FILE"';

/**
 * The snapshot the flags ask for (reading the key file), or undefined.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consoleLog } from "./log.ts";
 * import { snapshotOptions } from "./snapshot.ts";
 *
 * assert.equal(await snapshotOptions({}, consoleLog()), undefined);
 * await assert.rejects(
 *   snapshotOptions({ snapshot: "sessions.snap" }, consoleLog()),
 *   /needs -snapshot-key/,
 * );
 * ```
 *
 * @throws {UsageError} for -snapshot without -snapshot-key, or the others
 *   without -snapshot.
 * @throws {DcSnapshotError} for a key file that cannot be used.
 */
export async function snapshotOptions(
  flags: FlagValues,
  log: Log,
): Promise<SnapshotOptions | undefined> {
  const path = flags.snapshot as string | undefined;
  if (path === undefined) {
    for (const other of ["snapshot-key", "snapshot-interval"]) {
      if (flags[other] !== undefined) {
        throw new UsageError(`flag -${other} needs -snapshot <file>`);
      }
    }
    return undefined;
  }
  const keyFile = flags["snapshot-key"] as string | undefined;
  if (keyFile === undefined) {
    throw new UsageError(
      `flag -snapshot needs -snapshot-key <file>: ${WHY_A_KEY}`,
    );
  }
  return {
    path,
    key: await readSnapshotKey(keyFile),
    intervalMs: ((flags["snapshot-interval"] as number | undefined) ?? 0) *
      1000,
    onEvent: (event) => report(event, log),
  };
}

function report(event: SnapshotEvent, log: Log): void {
  switch (event.kind) {
    case "absent":
      return log.info(`snapshot ${event.path}: none yet, starting empty`);
    case "loaded":
      return log.info(
        `snapshot ${event.path}: restored ${event.sessions} sessions` +
          ` (${event.expired} expired since it was written)`,
      );
    case "refused":
      return log.error(
        `snapshot refused, starting empty: ${event.error.message}` +
          (event.movedTo === null ? "" : ` (moved to ${event.movedTo})`),
      );
    case "written":
      if (event.final) {
        log.info(
          `snapshot ${event.path}: wrote ${event.sessions} sessions (${event.bytes} bytes)`,
        );
      }
      return;
    case "failed":
      return log.error(`snapshot not written: ${event.error.message}`);
  }
}
