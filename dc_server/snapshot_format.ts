/**
 * The snapshot file format, version 1 (docs/snapshot.md says it in full):
 * a 72-byte header, then chunks of sessions, each sealed with AES-256-GCM
 * under a key derived for this file alone (HKDF-SHA256 of the operator's
 * key and the header's random salt). Every chunk authenticates the header
 * and its own place in the file (its index and whether it is the last in
 * the nonce), so a changed header, a chunk removed, moved or cut short, or
 * a file cut at a chunk boundary is refused, never half-read.
 *
 * ```text
 * header  magic "\x89DCSNAP\n" | version u16 = 1 | flags u16 = 0 |
 *         sessions u32 | written at u64 (ms) | salt 32 | key check 16
 * chunk   length u32 | AES-256-GCM(records) with its 16-byte tag
 * record  remaining ms u32 | id length u8 | data length u16 | id | data
 * ```
 *
 * Integers are big-endian. Only WebCrypto (`crypto.subtle`) is used.
 *
 * @module
 */

import { DC_MAX_ID_LEN, DC_MAX_TOTAL_DATA } from "../dc_enc/mod.ts";
import { DistcacheError } from "../nal/mod.ts";

/**
 * A snapshot that cannot be used (codes `ERR_SNAPSHOT_FORMAT`: not a
 * snapshot, another version, cut short, malformed; `ERR_SNAPSHOT_KEY`:
 * written with another key, or a key of the wrong size;
 * `ERR_SNAPSHOT_TAMPERED`: it fails authentication; `ERR_SNAPSHOT_STORE`:
 * the store keeps no sessions to snapshot; `ERR_SNAPSHOT_KEY_FILE`: a key
 * file that cannot be used; `ERR_SNAPSHOT_IO`: reading or writing failed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcSnapshotError, openSnapshot } from "@distcache/distcache/dc_server";
 *
 * await assert.rejects(
 *   openSnapshot(new Uint8Array(32), new Uint8Array(10)),
 *   (err) => err instanceof DcSnapshotError && err.code === "ERR_SNAPSHOT_FORMAT",
 * );
 * ```
 */
export class DcSnapshotError extends DistcacheError {
  /**
   * Makes a snapshot error.
   *
   * @param code `ERR_SNAPSHOT_FORMAT`, `ERR_SNAPSHOT_KEY`,
   *   `ERR_SNAPSHOT_TAMPERED`, `ERR_SNAPSHOT_STORE`,
   *   `ERR_SNAPSHOT_KEY_FILE` or `ERR_SNAPSHOT_IO`.
   * @param message The file and what is wrong with it.
   * @param options Standard error options (`cause`).
   */
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** Bytes of a snapshot key (AES-256). */
export const SNAPSHOT_KEY_BYTES = 32;
/** The format version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;
/** Bytes of the header. */
export const SNAPSHOT_HEADER_BYTES = 72;

const MAGIC = [0x89, 0x44, 0x43, 0x53, 0x4e, 0x41, 0x50, 0x0a];
const TAG_BYTES = 16;
const RECORD_HEAD = 7;
// Plaintext of one chunk: records are packed whole until the next would
// pass this; one record (at most 7 + 64 + 32768 bytes) always fits.
const CHUNK_PLAINTEXT = 1 << 20;
const MAX_SEALED = CHUNK_PLAINTEXT + TAG_BYTES;
const INFO_KEY = new TextEncoder().encode("distcache snapshot v1 key");
const INFO_CHECK = new TextEncoder().encode("distcache snapshot v1 key check");

/** One session of a snapshot, with the lifetime it had left then. */
export interface SnapshotSession {
  /** Its id. */
  id: Uint8Array;
  /** Its data. */
  data: Uint8Array;
  /** Milliseconds it had left when the snapshot was written. */
  remainingMs: number;
}

/** Packs sessions into the plaintext of chunks. */
export class SnapshotPacker {
  readonly #chunks: Uint8Array[] = [];
  #chunk = new Uint8Array(CHUNK_PLAINTEXT);
  #view = new DataView(this.#chunk.buffer);
  #at = 4;
  #inChunk = 0;
  /** Sessions packed so far. */
  sessions = 0;
  /** Bytes of ids and data packed so far. */
  bytes = 0;

  /** Adds one session (`id` and `data` are copied now). */
  add(id: Uint8Array, data: Uint8Array, remainingMs: number): void {
    const size = RECORD_HEAD + id.length + data.length;
    if (this.#at + size > CHUNK_PLAINTEXT) this.#seal();
    const v = this.#view;
    let at = this.#at;
    v.setUint32(at, Math.min(0xffffffff, Math.max(1, Math.ceil(remainingMs))));
    this.#chunk[at + 4] = id.length;
    v.setUint16(at + 5, data.length);
    at += RECORD_HEAD;
    this.#chunk.set(id, at);
    this.#chunk.set(data, at + id.length);
    this.#at = at + id.length + data.length;
    this.#inChunk++;
    this.sessions++;
    this.bytes += id.length + data.length;
  }

  /** The plaintext chunks (at least one, possibly of no session). */
  finish(): Uint8Array[] {
    this.#seal();
    return this.#chunks;
  }

  #seal(): void {
    if (this.#inChunk === 0 && this.#chunks.length > 0) return;
    this.#view.setUint32(0, this.#inChunk);
    this.#chunks.push(this.#chunk.slice(0, this.#at));
    this.#at = 4;
    this.#inChunk = 0;
  }
}

// The file key and the key check (the type of the key is inferred: Node's
// types name CryptoKey only under node:crypto).
async function deriveKeys(key: Uint8Array, salt: Uint8Array) {
  if (key.length !== SNAPSHOT_KEY_BYTES) {
    throw new DcSnapshotError(
      "ERR_SNAPSHOT_KEY",
      `invalid snapshot key of ${key.length} bytes: must be ${SNAPSHOT_KEY_BYTES}`,
    );
  }
  const base = await crypto.subtle.importKey(
    "raw",
    key as Uint8Array<ArrayBuffer>,
    "HKDF",
    false,
    ["deriveBits"],
  );
  const derive = async (info: Uint8Array, bits: number) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        {
          name: "HKDF",
          hash: "SHA-256",
          salt: salt as Uint8Array<ArrayBuffer>,
          info: info as Uint8Array<ArrayBuffer>,
        },
        base,
        bits,
      ),
    );
  const raw = await derive(INFO_KEY, 256);
  const aes = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return { aes, check: await derive(INFO_CHECK, 128) };
}

function nonce(index: number, last: boolean): Uint8Array<ArrayBuffer> {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setUint32(4, index);
  n[11] = last ? 1 : 0;
  return n;
}

function aad(
  header: Uint8Array,
  sealedLength: number,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(SNAPSHOT_HEADER_BYTES + 4);
  out.set(header);
  new DataView(out.buffer).setUint32(SNAPSHOT_HEADER_BYTES, sealedLength);
  return out;
}

/**
 * Seals packed chunks into the bytes of a snapshot file: the header, then
 * each chunk with its length. Yields pieces to write in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openSnapshot, sealSnapshot, SnapshotPacker } from "@distcache/distcache/dc_server";
 *
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * const packer = new SnapshotPacker();
 * packer.add(new TextEncoder().encode("id"), new TextEncoder().encode("data!"), 60_000);
 * const parts: Uint8Array[] = [];
 * for await (const part of sealSnapshot(key, 1000, packer)) parts.push(part);
 * const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
 * parts.reduce((at, p) => (file.set(p, at), at + p.length), 0);
 * const opened = await openSnapshot(key, file);
 * assert.equal(opened.sessions[0].remainingMs, 60_000);
 * ```
 *
 * @param key The 32-byte key.
 * @param writtenAt The clock's time now (ms since the epoch).
 * @param packer The sessions, packed.
 */
export async function* sealSnapshot(
  key: Uint8Array,
  writtenAt: number,
  packer: SnapshotPacker,
): AsyncGenerator<Uint8Array> {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const { aes, check } = await deriveKeys(key, salt);
  const header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const v = new DataView(header.buffer);
  header.set(MAGIC, 0);
  v.setUint16(8, SNAPSHOT_VERSION);
  v.setUint16(10, 0);
  v.setUint32(12, packer.sessions);
  v.setBigUint64(16, BigInt(Math.max(0, Math.floor(writtenAt))));
  header.set(salt, 24);
  header.set(check, 56);
  yield header;
  const chunks = packer.finish();
  for (let i = 0; i < chunks.length; i++) {
    const plain = chunks[i] as Uint8Array<ArrayBuffer>;
    const length = plain.length + TAG_BYTES;
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: nonce(i, i === chunks.length - 1),
          additionalData: aad(header, length),
        },
        aes,
        plain,
      ),
    );
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setUint32(0, sealed.length);
    yield prefix;
    yield sealed;
    // The plaintext is not needed any more: let it go as we go.
    chunks[i] = new Uint8Array(0);
  }
}

/** A snapshot read back: when it was written and its sessions. */
export interface OpenedSnapshot {
  /** When it was written (ms since the epoch, the writer's clock). */
  writtenAt: number;
  /** Its sessions, each with the lifetime it had left then. */
  sessions: SnapshotSession[];
}

/** Where {@linkcode openSnapshot} reads from: the whole file, or pieces. */
export interface SnapshotSource {
  /** The file's size. */
  readonly size: number;
  /** Bytes at `position` (fewer only at the end). */
  read(position: number, length: number): Promise<Uint8Array>;
}

/**
 * Reads a snapshot, checking everything before giving anything back: the
 * magic, the version, the key, every chunk's authentication, the records'
 * structure and count, and that nothing follows the last chunk.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcSnapshotError, openSnapshot } from "@distcache/distcache/dc_server";
 *
 * const notOne = new TextEncoder().encode("x".repeat(100));
 * await assert.rejects(openSnapshot(new Uint8Array(32), notOne), DcSnapshotError);
 * ```
 *
 * @param key The 32-byte key.
 * @param file The file's bytes, or a reader of them.
 * @param name How to name the file in errors.
 * @throws {DcSnapshotError} naming what is wrong.
 */
export async function openSnapshot(
  key: Uint8Array,
  file: Uint8Array | SnapshotSource,
  name = "snapshot",
): Promise<OpenedSnapshot> {
  const source: SnapshotSource = file instanceof Uint8Array
    ? {
      size: file.length,
      read: (at, n) => Promise.resolve(file.subarray(at, at + n)),
    }
    : file;
  const bad = (message: string) =>
    new DcSnapshotError("ERR_SNAPSHOT_FORMAT", `${name}: ${message}`);
  // A copy of its own, at offset 0 (a Node Buffer's slice() is a view).
  const header = new Uint8Array(await source.read(0, SNAPSHOT_HEADER_BYTES));
  if (
    header.length < MAGIC.length || MAGIC.some((b, i) => header[i] !== b)
  ) {
    throw bad("not a distcache snapshot (no snapshot magic at its start)");
  }
  if (header.length < SNAPSHOT_HEADER_BYTES) {
    throw bad(`cut short: ${source.size} bytes, less than a header`);
  }
  const hv = new DataView(header.buffer);
  const version = hv.getUint16(8);
  if (version !== SNAPSHOT_VERSION) {
    throw bad(
      `format version ${version}: this distcache reads version ${SNAPSHOT_VERSION}`,
    );
  }
  if (hv.getUint16(10) !== 0) throw bad("unknown flags in its header");
  const count = hv.getUint32(12);
  const writtenAt = Number(hv.getBigUint64(16));
  const { aes, check } = await deriveKeys(key, header.subarray(24, 56));
  if (!equalBytes(check, header.subarray(56, 72))) {
    throw new DcSnapshotError(
      "ERR_SNAPSHOT_KEY",
      `${name}: written with another key (or its header was altered)`,
    );
  }
  const sessions: SnapshotSession[] = [];
  let at = SNAPSHOT_HEADER_BYTES;
  for (let index = 0;; index++) {
    if (at === source.size) {
      throw tampered(name, "its last chunk is missing: the file was cut short");
    }
    const prefix = await source.read(at, 4);
    if (prefix.length < 4) throw tampered(name, "cut short in a chunk length");
    const length = new DataView(prefix.buffer, prefix.byteOffset).getUint32(0);
    if (length < TAG_BYTES + 4 || length > MAX_SEALED) {
      throw tampered(name, `chunk ${index} has an impossible length ${length}`);
    }
    const sealed = await source.read(at + 4, length);
    if (sealed.length < length) {
      throw tampered(name, `cut short in chunk ${index}`);
    }
    at += 4 + length;
    const last = at === source.size;
    let plain: Uint8Array;
    try {
      plain = new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: nonce(index, last),
            additionalData: aad(header, length),
          },
          aes,
          sealed.slice(),
        ),
      );
    } catch {
      throw tampered(
        name,
        last
          ? `chunk ${index} fails authentication (altered, or the file was cut short)`
          : `chunk ${index} fails authentication (altered or out of place)`,
      );
    }
    readRecords(plain, sessions, () => bad(`chunk ${index} is malformed`));
    if (last) break;
  }
  if (sessions.length !== count) {
    throw bad(
      `holds ${sessions.length} sessions where its header says ${count}`,
    );
  }
  return { writtenAt, sessions };
}

function tampered(name: string, message: string): DcSnapshotError {
  return new DcSnapshotError("ERR_SNAPSHOT_TAMPERED", `${name}: ${message}`);
}

function readRecords(
  plain: Uint8Array,
  out: SnapshotSession[],
  bad: () => DcSnapshotError,
): void {
  if (plain.length < 4) throw bad();
  const v = new DataView(plain.buffer, plain.byteOffset, plain.length);
  const n = v.getUint32(0);
  let at = 4;
  for (let i = 0; i < n; i++) {
    if (at + RECORD_HEAD > plain.length) throw bad();
    const remainingMs = v.getUint32(at);
    const idLen = plain[at + 4];
    const dataLen = v.getUint16(at + 5);
    at += RECORD_HEAD;
    if (idLen === 0 || idLen > DC_MAX_ID_LEN || dataLen > DC_MAX_TOTAL_DATA) {
      throw bad();
    }
    if (at + idLen + dataLen > plain.length) throw bad();
    out.push({
      id: plain.subarray(at, at + idLen),
      data: plain.subarray(at + idLen, at + idLen + dataLen),
      remainingMs,
    });
    at += idLen + dataLen;
  }
  if (at !== plain.length) throw bad();
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
