/**
 * Snapshots of a server's sessions (`-snapshot FILE`): written encrypted
 * (AES-256-GCM, see `snapshot_format.ts`) on a clean stop and, with an
 * interval, periodically; loaded at start, each session with its lifetime
 * shortened by the time since the snapshot, expired ones dropped. Files
 * are written whole or not at all (a temporary file, flushed, renamed),
 * with mode 0600, and never read or written through a symbolic link.
 *
 * @module
 */

import {
  DistcacheError,
  NalFileError,
  openFileNoFollow,
  removeStaleTemps,
  renameFile,
  writeFileAtomic,
} from "../nal/mod.ts";
import { DcOptionError } from "./errors.ts";
import type { DcServer } from "./server.ts";
import {
  DcSnapshotError,
  openSnapshot,
  sealSnapshot,
  SNAPSHOT_KEY_BYTES,
  SnapshotPacker,
} from "./snapshot_format.ts";

/** What `serve({ snapshot })` is given. */
export interface SnapshotOptions {
  /** The snapshot file. */
  path: string;
  /** The 32-byte key (see {@linkcode readSnapshotKey}). */
  key: Uint8Array;
  /**
   * Also write every this many milliseconds (0: only on a clean stop).
   * @default {0}
   */
  intervalMs?: number;
  /** Told of each load, write and failure (the server keeps serving). */
  onEvent?: (event: SnapshotEvent) => void;
}

/** What happened to a snapshot. */
export type SnapshotEvent =
  | {
    /** Read at start. */
    kind: "loaded";
    /** The file. */
    path: string;
    /** Sessions restored. */
    sessions: number;
    /** Sessions whose time ran out since the snapshot. */
    expired: number;
    /** When it was written (ms since the epoch). */
    writtenAt: number;
  }
  | {
    /** No file at start: the server starts empty. */
    kind: "absent";
    /** The file. */
    path: string;
  }
  | {
    /** Unusable at start: the server starts empty. */
    kind: "refused";
    /** The file. */
    path: string;
    /** Why. */
    error: DistcacheError;
    /** Where the refused file was moved (null: it could not be). */
    movedTo: string | null;
  }
  | {
    /** Written. */
    kind: "written";
    /** The file. */
    path: string;
    /** The last one, written as the server stops. */
    final: boolean;
    /** Sessions written. */
    sessions: number;
    /** Bytes of the file. */
    bytes: number;
  }
  | {
    /** Not written (the old file, if any, stays as it was). */
    kind: "failed";
    /** The file. */
    path: string;
    /** The last one, written as the server stops. */
    final: boolean;
    /** Why. */
    error: DistcacheError;
  };

/**
 * Reads a snapshot key file: exactly 32 bytes, or 64 hexadecimal digits
 * (what `openssl rand -hex 32` prints, a final newline allowed). The file
 * must be a regular file (not a link) that neither group nor others may
 * read or write (mode 0600 or 0400).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs";
 * import * as os from "node:os";
 * import * as path from "node:path";
 * import { readSnapshotKey } from "@distcache/distcache/dc_server";
 *
 * const dir = fs.mkdtempSync(path.join(os.tmpdir(), "key-"));
 * const file = path.join(dir, "snapshot.key");
 * fs.writeFileSync(file, "ab".repeat(32) + "\n", { mode: 0o600 });
 * assert.equal((await readSnapshotKey(file)).length, 32);
 * fs.rmSync(dir, { recursive: true });
 * ```
 *
 * @throws {DcSnapshotError} (code `ERR_SNAPSHOT_KEY_FILE`) saying what is
 *   wrong and how to fix it.
 */
export async function readSnapshotKey(path: string): Promise<Uint8Array> {
  const fail = (message: string, cause?: unknown) =>
    new DcSnapshotError(
      "ERR_SNAPSHOT_KEY_FILE",
      `snapshot key ${path}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  let file;
  try {
    file = await openFileNoFollow(path);
  } catch (err) {
    throw fail((err as Error).message.replace(`${path}: `, ""), err);
  }
  try {
    if ((file.mode & 0o077) !== 0) {
      throw fail(
        `mode ${
          (file.mode & 0o777).toString(8).padStart(4, "0")
        } lets group or others at the key: chmod 600 ${path}`,
      );
    }
    const bytes = await file.read(0, Math.min(file.size, 1024));
    if (bytes.length === SNAPSHOT_KEY_BYTES) return bytes.slice();
    const text = new TextDecoder().decode(bytes).replace(/\r?\n$/, "");
    if (/^[0-9a-fA-F]{64}$/.test(text)) {
      return Uint8Array.from(
        text.match(/../g)!,
        (pair) => parseInt(pair, 16),
      );
    }
    throw fail(
      `must hold ${SNAPSHOT_KEY_BYTES} bytes, or 64 hex digits (e.g. from "openssl rand -hex 32"); it holds ${file.size} bytes`,
    );
  } finally {
    await file.close();
  }
}

/**
 * Writes every live session of `server` to `path`, encrypted with `key`.
 * The sessions are read at once (the store does not change meanwhile),
 * then sealed and written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs";
 * import * as os from "node:os";
 * import * as path from "node:path";
 * import { DcServer, loadSnapshot, writeSnapshot } from "@distcache/distcache/dc_server";
 *
 * const dir = fs.mkdtempSync(path.join(os.tmpdir(), "snap-"));
 * const file = path.join(dir, "sessions.snap");
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * const a = new DcServer(512);
 * a.importSession(60_000, new TextEncoder().encode("id"), new TextEncoder().encode("data!"), 0);
 * assert.equal((await writeSnapshot(a, file, key, 1000)).sessions, 1);
 * const b = new DcServer(512);
 * assert.equal((await loadSnapshot(b, file, key, 2000))?.sessions, 1);
 * fs.rmSync(dir, { recursive: true });
 * ```
 *
 * @throws {DcOptionError} when the server's store cannot be snapshotted.
 * @throws {NalFileError} when the file cannot be written (it is then as
 *   it was).
 */
export async function writeSnapshot(
  server: DcServer,
  path: string,
  key: Uint8Array,
  now: number = Date.now(),
): Promise<{ sessions: number; bytes: number }> {
  const packer = new SnapshotPacker();
  server.exportSessions((id, data, ms) => packer.add(id, data, ms), now);
  const bytes = await writeFileAtomic(path, sealSnapshot(key, now, packer), {
    mode: 0o600,
  });
  return { sessions: packer.sessions, bytes };
}

/**
 * Restores the sessions of the snapshot at `path` into `server`, each with
 * what it had left less the time since the snapshot was written; those
 * whose time ran out are dropped. Nothing is restored unless the whole
 * file checks out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcServer, loadSnapshot } from "@distcache/distcache/dc_server";
 *
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * assert.equal(await loadSnapshot(new DcServer(512), "/no/such/snapshot", key), null);
 * ```
 *
 * @returns What was restored, or null when there is no file.
 * @throws {DcSnapshotError} for a file that is not a good snapshot made
 *   with `key` (nothing is restored).
 * @throws {NalFileError} for a link, a file of another kind, a failed read.
 */
export async function loadSnapshot(
  server: DcServer,
  path: string,
  key: Uint8Array,
  now: number = Date.now(),
): Promise<
  { sessions: number; expired: number; writtenAt: number } | null
> {
  let file;
  try {
    file = await openFileNoFollow(path);
  } catch (err) {
    if (err instanceof NalFileError && err.code === "ERR_FILE_NOT_FOUND") {
      return null;
    }
    throw err;
  }
  let opened;
  try {
    opened = await openSnapshot(key, file, `snapshot ${path}`);
  } finally {
    await file.close();
  }
  // A clock that went back since counts as no time passed.
  const elapsed = Math.max(0, now - opened.writtenAt);
  let sessions = 0;
  let expired = 0;
  for (const s of opened.sessions) {
    const left = s.remainingMs - elapsed;
    if (left <= 0) expired++;
    else if (server.importSession(left, s.id, s.data, now)) sessions++;
  }
  return { sessions, expired, writtenAt: opened.writtenAt };
}

/** Snapshots of one running server: the load, periodic writes, the last. */
export class Snapshotter {
  readonly #server: DcServer;
  readonly #options: SnapshotOptions;
  readonly #clock: () => number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #writing: Promise<void> = Promise.resolve();
  #busy = false;

  /**
   * Checks the options against the server.
   *
   * @throws {DcOptionError} for a key that is not 32 bytes, a bad interval,
   *   or a store that cannot be snapshotted.
   */
  constructor(server: DcServer, options: SnapshotOptions, clock: () => number) {
    if (!(options.key instanceof Uint8Array) || options.key.length !== 32) {
      throw new DcOptionError(
        `invalid snapshot key: must be ${SNAPSHOT_KEY_BYTES} bytes (a Uint8Array; see readSnapshotKey)`,
      );
    }
    const interval = options.intervalMs ?? 0;
    if (!Number.isInteger(interval) || interval < 0) {
      throw new DcOptionError(
        `invalid snapshot intervalMs ${interval}: must be an integer >= 0 (0: only on stop)`,
      );
    }
    if (!server.canSnapshot()) {
      throw new DcOptionError(
        "snapshot: this store keeps no sessions to snapshot (it has no exportSessions/importSession)",
      );
    }
    this.#server = server;
    this.#options = options;
    this.#clock = clock;
  }

  /** Loads the file; a bad one is moved aside to `<path>.refused`. */
  async load(): Promise<void> {
    const { path, key } = this.#options;
    await removeStaleTemps(path);
    try {
      const loaded = await loadSnapshot(this.#server, path, key, this.#clock());
      this.#emit(
        loaded === null
          ? { kind: "absent", path }
          : { kind: "loaded", path, ...loaded },
      );
    } catch (err) {
      const aside = `${path}.refused`;
      let movedTo: string | null = aside;
      try {
        await renameFile(path, aside);
      } catch {
        movedTo = null;
      }
      this.#emit({ kind: "refused", path, error: asDistcache(err), movedTo });
    }
  }

  /** Starts the periodic writes, if an interval was given. */
  start(): void {
    const interval = this.#options.intervalMs ?? 0;
    if (interval === 0) return;
    this.#timer = setInterval(() => {
      // One write at a time: a tick during a long write is skipped.
      if (!this.#busy) void this.write(false);
    }, interval);
  }

  /**
   * Writes now (after any write under way); failures become events.
   *
   * @param final Whether this is the last one, as the server stops.
   */
  write(final: boolean): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      this.#busy = true;
      const { path, key } = this.#options;
      try {
        const done = await writeSnapshot(
          this.#server,
          path,
          key,
          this.#clock(),
        );
        this.#emit({ kind: "written", path, final, ...done });
      } catch (err) {
        this.#emit({ kind: "failed", path, final, error: asDistcache(err) });
      } finally {
        this.#busy = false;
      }
    });
    return this.#writing;
  }

  /** Stops the periodic writes and writes the last snapshot. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.write(true);
  }

  #emit(event: SnapshotEvent): void {
    this.#options.onEvent?.(event);
  }
}

function asDistcache(err: unknown): DistcacheError {
  return err instanceof DistcacheError ? err : new DcSnapshotError(
    "ERR_SNAPSHOT_IO",
    (err as Error)?.message ?? String(err),
    { cause: err },
  );
}
