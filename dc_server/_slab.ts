// The default store's session memory, after memcached's slabs: each session
// is one record (a small header, the id, the data) in a chunk cut from large
// ArrayBuffer pages, one size class per chunk size. A million sessions cost
// a few hundred buffers rather than a million objects, and a lookup reads
// the header, id and data from one place. Freed chunks go on their class's
// free list for the next record of that class. Internal.

/** Largest page, in bytes. */
const MAX_PAGE = 1 << 20;
// A ref is the page number above PAGE_SHIFT bits and the chunk's offset in
// 8-byte units below: 32 bits in all, for the hash table's Int32Array.
const PAGE_SHIFT = 17;
const OFFSET_MASK = (1 << PAGE_SHIFT) - 1;
// One page fewer than 32 bits allow, so that no ref is -1 (all bits set),
// which the index cannot store as ref + 1.
const MAX_PAGES = (1 << (32 - PAGE_SHIFT)) - 1;
// A class's first page is small so that a store of a few hundred sessions
// of many sizes does not reserve a megabyte per size; pages then double.
const FIRST_PAGE = 16 << 10;

/** Page number of a ref. */
export function pageOf(ref: number): number {
  return ref >>> PAGE_SHIFT;
}

/** Index of a ref's first int32 within its page's `i32` view. */
export function wordOf(ref: number): number {
  return (ref & OFFSET_MASK) << 1;
}

/**
 * A record's header, in int32 units from the start of its chunk: the
 * expiry time (a float64 over the first two), the record's index in the
 * expiry heap, the id's hash, and the lengths (data << 8 | id).
 */
export const HEAD_EXPIRY = 0;
/** Int32 index of the heap position in a record header. */
export const HEAD_POS = 2;
/** Int32 index of the id hash in a record header. */
export const HEAD_HASH = 3;
/** Int32 index of the lengths (data << 8 | id) in a record header. */
export const HEAD_LENS = 4;
/** Bytes of a record header; the id follows it, then the data. */
export const HEAD_BYTES = 20;

// Records up to this size get a class every 8 bytes.
const FINE_UP_TO = 1024;

/**
 * Size classes from 8 bytes up to `maxRecord`: every 8 bytes up to 1 KiB,
 * then steps of about 1/32 of the size. A chunk wastes at most 7 bytes on
 * rounding, or about 3% of its size past 1 KiB: a session of a 16-byte id
 * and 512 bytes of data (a 548-byte record) takes 552 bytes, where steps
 * of 1/16 gave it 584. Fewer than 256 classes (a class is a byte).
 */
function classSizes(maxRecord: number): number[] {
  const sizes: number[] = [];
  let size = 8;
  while (size < maxRecord) {
    sizes.push(size);
    size = size < FINE_UP_TO
      ? size + 8
      : Math.max(size + 8, (size + (size >> 5) + 7) & ~7);
  }
  sizes.push((maxRecord + 7) & ~7);
  return sizes;
}

/**
 * Chunks of record memory, each named by a ref (an int32: see PAGE_SHIFT).
 * `i32[pageOf(ref)][wordOf(ref)]` is the first int32 of the chunk; `pages`
 * and `f64` view the same pages. A free chunk holds the ref
 * of the next free chunk of its class in its first int32.
 */
export class Slab {
  /** Pages by page number. */
  readonly buffers: ArrayBuffer[] = [];
  /** Pages as bytes. */
  readonly pages: Uint8Array[] = [];
  /** Pages as int32s. */
  readonly i32: Int32Array[] = [];
  /** Pages as float64s. */
  readonly f64: Float64Array[] = [];
  /** Bytes of all pages. */
  reserved = 0;
  readonly #sizes: Int32Array;
  // Class of a record of `len` bytes, at index (len + 7) >> 3.
  readonly #classOf: Uint8Array;
  // First free chunk of each class, or -1.
  readonly #free: Int32Array;
  // Next unused chunk of each class's newest page (a ref), and chunks left.
  readonly #next: Int32Array;
  readonly #left: Int32Array;
  readonly #pageChunks: Int32Array;

  /** A slab for records of 1 to `maxRecord` bytes. */
  constructor(maxRecord: number) {
    const sizes = classSizes(maxRecord);
    this.#sizes = Int32Array.from(sizes);
    this.#classOf = new Uint8Array(((maxRecord + 7) >> 3) + 1);
    for (let c = 0, units = 0; units < this.#classOf.length; units++) {
      while (units << 3 > sizes[c]) c++;
      this.#classOf[units] = c;
    }
    this.#free = new Int32Array(sizes.length).fill(-1);
    this.#next = new Int32Array(sizes.length);
    this.#left = new Int32Array(sizes.length);
    this.#pageChunks = Int32Array.from(
      sizes,
      (size) => Math.max(1, Math.floor(FIRST_PAGE / size)),
    );
  }

  /**
   * The ref of a chunk for a record of `len` bytes (1 .. maxRecord), or -1
   * when no page can be added (32 GiB of pages reached).
   */
  alloc(len: number): number {
    const c = this.#classOf[(len + 7) >> 3];
    const ref = this.#free[c];
    if (ref !== -1) {
      this.#free[c] = this.i32[pageOf(ref)][wordOf(ref)];
      return ref;
    }
    if (this.#left[c] === 0 && !this.#addPage(c)) return -1;
    this.#left[c]--;
    const fresh = this.#next[c];
    this.#next[c] = fresh + (this.#sizes[c] >> 3);
    return fresh;
  }

  /** Returns the chunk at `ref`, which held a record of `len` bytes. */
  free(ref: number, len: number): void {
    const c = this.#classOf[(len + 7) >> 3];
    this.i32[pageOf(ref)][wordOf(ref)] = this.#free[c];
    this.#free[c] = ref;
  }

  #addPage(c: number): boolean {
    const page = this.pages.length;
    if (page === MAX_PAGES) return false;
    const size = this.#sizes[c];
    const chunks = this.#pageChunks[c];
    const buffer = new ArrayBuffer(chunks * size);
    this.buffers.push(buffer);
    this.pages.push(new Uint8Array(buffer));
    this.i32.push(new Int32Array(buffer));
    this.f64.push(new Float64Array(buffer));
    this.reserved += buffer.byteLength;
    this.#next[c] = page << PAGE_SHIFT;
    this.#left[c] = chunks;
    this.#pageChunks[c] = Math.min(chunks * 2, Math.floor(MAX_PAGE / size));
    return true;
  }
}
