/**
 * Files as distcache's servers keep them (snapshots, key files): opened
 * without following a symbolic link, written whole or not at all (a
 * temporary file in the same directory, flushed to disk, then renamed over
 * the old one), through `node:fs`, which Deno, Bun and Node all provide.
 *
 * @module
 */

import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { NalFileError } from "../errors.ts";

const {
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
} = fs.constants;

/** A regular file open for reading, from {@linkcode openFileNoFollow}. */
export interface NalFileReader {
  /** Its size in bytes when opened. */
  readonly size: number;
  /** Its permission bits, e.g. `0o600`. */
  readonly mode: number;
  /**
   * Reads up to `length` bytes at `position` (fewer only at the end).
   *
   * @throws {NalFileError} (code `ERR_FILE_IO`) when the read fails.
   */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Closes it. */
  close(): Promise<void>;
}

function failure(path: string, what: string, err: unknown): NalFileError {
  const code = (err as { code?: string }).code;
  if (code === "ENOENT") {
    return new NalFileError("ERR_FILE_NOT_FOUND", `${path}: no such file`, {
      cause: err,
    });
  }
  if (code === "ELOOP") {
    return new NalFileError(
      "ERR_FILE_LINK",
      `${path}: is a symbolic link (refused: give the real path)`,
      { cause: err },
    );
  }
  return new NalFileError(
    "ERR_FILE_IO",
    `${path}: cannot ${what}: ${(err as Error).message}`,
    { cause: err },
  );
}

/**
 * Opens a regular file for reading, refusing a symbolic link (at the last
 * component) and anything that is not a regular file (a FIFO is never
 * waited on).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openFileNoFollow, writeFileAtomic } from "@distcache/distcache/nal";
 *
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/f`, [new TextEncoder().encode("hello")]);
 * const file = await openFileNoFollow(`${dir}/f`);
 * assert.equal(new TextDecoder().decode(await file.read(0, file.size)), "hello");
 * await file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @throws {NalFileError} (`ERR_FILE_NOT_FOUND`, `ERR_FILE_LINK`,
 *   `ERR_FILE_TYPE`, `ERR_FILE_IO`).
 */
export async function openFileNoFollow(path: string): Promise<NalFileReader> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    throw failure(path, "open", err);
  }
  let st: fs.Stats;
  try {
    st = await handle.stat();
  } catch (err) {
    await handle.close();
    throw failure(path, "stat", err);
  }
  if (!st.isFile()) {
    await handle.close();
    throw new NalFileError("ERR_FILE_TYPE", `${path}: not a regular file`);
  }
  return {
    size: st.size,
    mode: st.mode & 0o7777,
    async read(position: number, length: number): Promise<Uint8Array> {
      const out = new Uint8Array(length);
      let got = 0;
      try {
        while (got < length) {
          const { bytesRead } = await handle.read(
            out,
            got,
            length - got,
            position + got,
          );
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (err) {
        throw failure(path, "read", err);
      }
      return got === length ? out : out.subarray(0, got);
    },
    close: () => handle.close(),
  };
}

/** Options for {@linkcode writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the new file. @default {0o600} */
  mode?: number;
}

/**
 * Writes `chunks` as the new content of `path`, whole or not at all: into
 * a temporary file of the same directory (created exclusively, never
 * through a link, with `mode`), flushed to disk, then renamed over `path`
 * (a symbolic link there is replaced, never followed), and the directory
 * flushed. A crash leaves the old file, or the new one, never a mix; a
 * temporary file it leaves is removed by {@linkcode removeStaleTemps}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openFileNoFollow, writeFileAtomic } from "@distcache/distcache/nal";
 *
 * const dir = await Deno.makeTempDir();
 * const bytes = await writeFileAtomic(`${dir}/f`, [new Uint8Array(3), new Uint8Array(2)]);
 * assert.equal(bytes, 5);
 * assert.equal((await openFileNoFollow(`${dir}/f`)).mode, 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @returns The bytes written.
 * @throws {NalFileError} (code `ERR_FILE_IO`) when any step fails; `path`
 *   is then untouched.
 */
export async function writeFileAtomic(
  path: string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  options: WriteFileAtomicOptions = {},
): Promise<number> {
  const temp = tempName(path);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(
      temp,
      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
      options.mode ?? 0o600,
    );
  } catch (err) {
    throw failure(temp, "create", err);
  }
  let bytes = 0;
  try {
    try {
      // The mode asked, whatever the umask.
      await handle.chmod(options.mode ?? 0o600);
      for await (const chunk of chunks) {
        let at = 0;
        while (at < chunk.length) {
          const { bytesWritten } = await handle.write(
            chunk,
            at,
            chunk.length - at,
          );
          at += bytesWritten;
        }
        bytes += chunk.length;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, path);
  } catch (err) {
    await fsp.unlink(temp).catch(() => {});
    throw err instanceof NalFileError ? err : failure(path, "write", err);
  }
  await syncDirectory(dirOf(path));
  return bytes;
}

/**
 * Removes the temporary files {@linkcode writeFileAtomic} left beside
 * `path` when a process died while writing (regular files only).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeStaleTemps } from "@distcache/distcache/nal";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/.snapshot.0123456789abcdef.tmp`, "half");
 * assert.equal(await removeStaleTemps(`${dir}/snapshot`), 1);
 * await Deno.remove(dir);
 * ```
 *
 * @returns How many were removed.
 */
export async function removeStaleTemps(path: string): Promise<number> {
  const dir = dirOf(path);
  const prefix = `.${baseOf(path)}.`;
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (
      !name.startsWith(prefix) || !TEMP_TAIL.test(name.slice(prefix.length))
    ) {
      continue;
    }
    const full = `${dir}/${name}`;
    try {
      if (!(await fsp.lstat(full)).isFile()) continue;
      await fsp.unlink(full);
      removed++;
    } catch {
      // Gone meanwhile.
    }
  }
  return removed;
}

/**
 * Renames a file (a link is renamed itself, never followed), e.g. to move
 * a file that was refused out of the way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renameFile, writeFileAtomic } from "@distcache/distcache/nal";
 *
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/a`, [new Uint8Array(1)]);
 * await renameFile(`${dir}/a`, `${dir}/b`);
 * assert.equal((await Deno.stat(`${dir}/b`)).size, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @throws {NalFileError} when it cannot.
 */
export async function renameFile(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (err) {
    throw failure(from, `rename to ${to}`, err);
  }
}

const TEMP_TAIL = /^[0-9a-f]{16}\.tmp$/;

function tempName(path: string): string {
  const random = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `${dirOf(path)}/.${baseOf(path)}.${random}.tmp`;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

// The rename is durable once the directory is flushed too.
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(dir, O_RDONLY | O_DIRECTORY);
  } catch {
    return;
  }
  try {
    await handle.sync();
  } catch {
    // Some file systems cannot flush a directory; the rename stands.
  } finally {
    await handle.close();
  }
}
