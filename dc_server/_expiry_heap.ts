// The default store's expiry order: a binary min-heap of records keyed by
// expiry time, in typed arrays. Each heap entry holds its key beside its
// record's ref, so that comparing two children reads one place in memory,
// and each record's header holds its heap index, so that removing any
// session costs O(log n). Internal.

import { HEAD_POS, pageOf, type Slab, wordOf } from "./_slab.ts";

const FIRST_CAPACITY = 1024;

/** Records (by slab ref) ordered by expiry time. */
export class ExpiryHeap {
  /** Records in the heap. */
  size = 0;
  readonly #slab: Slab;
  readonly #max: number;
  // Pairs (expiry, ref), the heap proper.
  #entries: Float64Array;

  /** A heap of at most `max` records of `slab`. */
  constructor(slab: Slab, max: number) {
    this.#slab = slab;
    this.#max = max;
    this.#entries = new Float64Array(Math.min(max, FIRST_CAPACITY) * 2);
  }

  /** Bytes of the heap array. */
  get reserved(): number {
    return this.#entries.byteLength;
  }

  /** The record that expires first (the heap must not be empty). */
  first(): number {
    return this.#entries[1];
  }

  /** When the first record expires (Infinity for an empty heap). */
  firstExpiry(): number {
    return this.size > 0 ? this.#entries[0] : Infinity;
  }

  /** Calls `visit` with every record and its expiry, in heap order. */
  forEach(visit: (ref: number, expiry: number) => void): void {
    const e = this.#entries;
    for (let i = 0; i < this.size; i++) visit(e[2 * i + 1], e[2 * i]);
  }

  /** Adds record `ref`, which expires at `expiry`. */
  push(ref: number, expiry: number): void {
    if (this.size * 2 === this.#entries.length) {
      const entries = new Float64Array(Math.min(this.#max, this.size * 2) * 2);
      entries.set(this.#entries);
      this.#entries = entries;
    }
    this.#up(this.size++, ref, expiry);
  }

  /** Removes record `ref`, which must be in the heap. */
  remove(ref: number): void {
    const i = this.#slab.i32[pageOf(ref)][wordOf(ref) + HEAD_POS];
    const n = --this.size;
    if (i === n) return;
    // The last entry takes the hole and moves whichever way its key says.
    const e = this.#entries;
    const last = e[2 * n + 1];
    const key = e[2 * n];
    if (i > 0 && key < e[2 * ((i - 1) >> 1)]) this.#up(i, last, key);
    else this.#down(i, last, key);
  }

  // Moves the hole at `i` up until (key, ref) fits in it.
  #up(i: number, ref: number, key: number): void {
    const e = this.#entries;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (e[2 * p] <= key) break;
      this.#put(i, e[2 * p + 1], e[2 * p]);
      i = p;
    }
    this.#put(i, ref, key);
  }

  // Moves the hole at `i` down until (key, ref) fits in it.
  #down(i: number, ref: number, key: number): void {
    const e = this.#entries;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && e[2 * c + 2] < e[2 * c]) c++;
      if (e[2 * c] >= key) break;
      this.#put(i, e[2 * c + 1], e[2 * c]);
      i = c;
    }
    this.#put(i, ref, key);
  }

  #put(i: number, ref: number, key: number): void {
    this.#entries[2 * i] = key;
    this.#entries[2 * i + 1] = ref;
    this.#slab.i32[pageOf(ref)][wordOf(ref) + HEAD_POS] = i;
  }
}
