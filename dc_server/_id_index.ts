// The default store's index from id hash to record: open addressing with
// linear probing in one Int32Array of (ref + 1, hash) pairs, so that a
// probe reads one cache line and skips ids whose hash differs without
// touching their bytes. Deletion shifts later entries back instead of
// leaving tombstones, so probe lengths do not creep up under churn. Internal.

// Entries per table entry before the table doubles: 3/4 keeps linear
// probing short (about 2.5 probes for a hit at worst).
const LOAD_NUM = 3;
const LOAD_DEN = 4;

/**
 * Hash to record ref (any int32 but -1). Lookups by id are done by the
 * store, which walks `table` from `hash & mask` comparing hashes and then id
 * bytes; an empty entry (ref + 1 = 0) ends a probe.
 */
export class IdIndex {
  /** Pairs (ref + 1, hash); 0 in the first marks an empty entry. */
  table: Int32Array;
  /** Entries - 1 (entries are a power of two). */
  mask: number;
  #count = 0;
  #limit: number;

  /** An index that holds `expected` refs before it first grows. */
  constructor(expected: number) {
    let entries = 16;
    while (entries * LOAD_NUM < expected * LOAD_DEN) entries *= 2;
    this.table = new Int32Array(entries * 2);
    this.mask = entries - 1;
    this.#limit = (entries * LOAD_NUM) / LOAD_DEN;
  }

  /** Bytes of the table. */
  get reserved(): number {
    return this.table.byteLength;
  }

  /** Adds `ref` under `hash` (the ref must not be in the index). */
  insert(hash: number, ref: number): void {
    if (++this.#count > this.#limit) this.#grow();
    this.#place(hash, (ref + 1) | 0);
  }

  /** Where `ref`, stored under `hash`, sits in the table (pair index). */
  positionOf(hash: number, ref: number): number {
    const t = this.table;
    const mask = this.mask;
    const entry = (ref + 1) | 0;
    let i = hash & mask;
    while (t[i << 1] !== entry) i = (i + 1) & mask;
    return i;
  }

  /** Empties the entry at pair index `i`, shifting its successors back. */
  removeAt(i: number): void {
    const t = this.table;
    const mask = this.mask;
    this.#count--;
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      if (t[j << 1] === 0) break;
      // The entry at j may fill the hole at i only if its home position is
      // not in (i, j] (cyclically): otherwise a probe from home would stop
      // at the hole before reaching it.
      const home = t[(j << 1) + 1] & mask;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        t[i << 1] = t[j << 1];
        t[(i << 1) + 1] = t[(j << 1) + 1];
        i = j;
      }
    }
    t[i << 1] = 0;
  }

  #place(hash: number, entry: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = hash & mask;
    while (t[i << 1] !== 0) i = (i + 1) & mask;
    t[i << 1] = entry;
    t[(i << 1) + 1] = hash;
  }

  #grow(): void {
    const old = this.table;
    const entries = old.length; // twice the old entry count
    this.table = new Int32Array(entries * 2);
    this.mask = entries - 1;
    this.#limit = (entries * LOAD_NUM) / LOAD_DEN;
    for (let k = 0; k < old.length; k += 2) {
      if (old[k] !== 0) this.#place(old[k + 1], old[k]);
    }
  }
}
