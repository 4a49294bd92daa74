/**
 * NAL_BUFFER: a bounded FIFO of bytes, the read and send halves of every
 * connection.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

// Backing arrays of closed connections' buffers, kept for the next ones:
// with a connection per request, two fresh 32 KiB arrays per connection
// (allocated, zeroed, then collected) cost more than the request itself.
// Only arrays of the usual size are kept, zeroed, a bounded number.
const SPARE_SIZE = 32768;
const MAX_SPARE = 128;
const spare: Uint8Array[] = [];

function allocate(size: number): Uint8Array {
  return size === SPARE_SIZE && spare.length > 0
    ? spare.pop()!
    : new Uint8Array(size);
}

let recycle: (buf: NalBuffer) => void;

/**
 * Empties `buf` and keeps its array for a buffer allocated later; for
 * owners that drop `buf` and every view of it (a connection that closes).
 * Internal to nal.
 */
export function recycleBuffer(buf: NalBuffer): void {
  recycle(buf);
}

/**
 * A fixed-capacity byte FIFO (the C API's `NAL_BUFFER`).
 *
 * Data is kept at `[start, end)` of one backing array: taking data from the
 * front only moves `start`, and the bytes are moved back to offset 0 only when
 * a writer needs the room, so consuming many small frames costs no copying.
 * The array is allocated on the first write, so that a connection that
 * never carries traffic (an idle client among thousands) costs no buffer
 * memory.
 *
 * @example Write, peek and take
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalBuffer } from "@distcache/distcache/nal";
 *
 * const buf = new NalBuffer(8);
 * buf.write(new Uint8Array([1, 2, 3]));
 * assert.equal(buf.used(), 3);
 * assert.deepEqual(buf.readPtr(), new Uint8Array([1, 2, 3]));
 * buf.takeData(null, 2); // discard two bytes
 * assert.deepEqual(buf.readPtr(), new Uint8Array([3]));
 * ```
 */
export class NalBuffer {
  static {
    recycle = (buf) => {
      const data = buf.#data;
      const dirty = buf.#dirty;
      buf.#data = EMPTY;
      buf.#start = buf.#end = buf.#dirty = 0;
      if (data.length === SPARE_SIZE && spare.length < MAX_SPARE) {
        // No connection sees another's bytes, even in writePtr()'s room;
        // only what was ever handed out is cleared (a request of a few
        // hundred bytes, not the whole 32 KiB: with a connection per
        // request, zeroing two whole arrays per connection showed in
        // profiles).
        spare.push(data.fill(0, 0, dirty));
      }
    };
  }
  #data: Uint8Array = EMPTY;
  // The capacity; #data is this long once allocated, EMPTY before.
  #size = 0;
  #start = 0;
  #end = 0;
  // #data[0, #dirty) may hold bytes (data, or room handed out by
  // writePtr()); beyond it the array is all zeros.
  #dirty = 0;

  /**
   * Makes a buffer that can hold `size` bytes (0 when omitted: set it later
   * with {@linkcode NalBuffer.prototype.setSize}).
   *
   * @param size Capacity in bytes.
   */
  constructor(size = 0) {
    if (size > 0) this.setSize(size);
  }

  /** Whether the buffer holds no data. */
  empty(): boolean {
    return this.#end === this.#start;
  }

  /** Whether the buffer has no room left. */
  full(): boolean {
    return this.#end - this.#start === this.#size;
  }

  /** Whether the buffer holds some data. */
  notEmpty(): boolean {
    return this.#end !== this.#start;
  }

  /** Whether the buffer has some room left. */
  notFull(): boolean {
    return this.#end - this.#start < this.#size;
  }

  /** Bytes of data held. */
  used(): number {
    return this.#end - this.#start;
  }

  /** Bytes of room left. */
  unused(): number {
    return this.#size - (this.#end - this.#start);
  }

  /** Capacity in bytes. */
  size(): number {
    return this.#size;
  }

  /**
   * Changes the capacity. Data beyond the new size is cropped (lost), leaving
   * the buffer full.
   *
   * @param size New capacity in bytes (0 or more).
   * @returns `false` only for a size that is not a non-negative integer.
   */
  setSize(size: number): boolean {
    if (!Number.isInteger(size) || size < 0) return false;
    if (size === this.#size) return true;
    this.#size = size;
    if (this.#data === EMPTY) return true;
    const keep = Math.min(this.used(), size);
    const next = size === 0 ? EMPTY : new Uint8Array(size);
    next.set(this.#data.subarray(this.#start, this.#start + keep));
    this.#data = next;
    this.#start = 0;
    this.#end = this.#dirty = keep;
    return true;
  }

  /**
   * Appends as much of `src` as fits.
   *
   * @param src Bytes to append.
   * @returns The number of bytes actually appended.
   */
  write(src: Uint8Array): number {
    const n = Math.min(src.length, this.unused());
    if (n === 0) return 0;
    if (this.#data === EMPTY) this.#data = allocate(this.#size);
    this.#makeRoom(n);
    this.#data.set(n === src.length ? src : src.subarray(0, n), this.#end);
    this.#end += n;
    if (this.#end > this.#dirty) this.#dirty = this.#end;
    return n;
  }

  /**
   * Moves up to `dest.length` bytes from the front of the buffer into `dest`.
   *
   * @param dest Where to copy the data.
   * @returns The number of bytes moved.
   */
  read(dest: Uint8Array): number {
    return this.takeData(dest, dest.length);
  }

  /**
   * A view of the data held (`used()` bytes). It stays valid until the
   * buffer is next written to or resized.
   */
  readPtr(): Uint8Array {
    return this.#data.subarray(this.#start, this.#end);
  }

  /**
   * A view of the free room (`unused()` bytes, or the first `max` of them)
   * at the end of the data. Fill some of it, then call
   * {@linkcode NalBuffer.prototype.wrote} with the count.
   *
   * @example Frame bytes in place
   * ```ts
   * import assert from "node:assert/strict";
   * import { NalBuffer } from "@distcache/distcache/nal";
   *
   * const buf = new NalBuffer(8);
   * const room = buf.writePtr(2);
   * assert.equal(room.length, 2);
   * room.set([7, 9]);
   * buf.wrote(2);
   * assert.deepEqual(buf.readPtr(), new Uint8Array([7, 9]));
   * ```
   *
   * @param max Most bytes of room wanted (a writer that knows how many it
   *   will write says so: a connection's buffer is cleared for the next
   *   one only as far as it was handed out). @default {unused()}
   */
  writePtr(max: number = Infinity): Uint8Array {
    if (this.#data === EMPTY && this.#size > 0) {
      this.#data = allocate(this.#size);
    }
    const room = this.unused();
    this.#makeRoom(room);
    const end = this.#end + Math.max(0, Math.min(room, Math.floor(max)));
    if (end > this.#dirty) this.#dirty = end;
    return end === this.#data.length
      ? this.#data.subarray(this.#end)
      : this.#data.subarray(this.#end, end);
  }

  /**
   * Removes up to `n` bytes from the front, copying them into `dest` when it
   * is not null (`NAL_BUFFER_takedata`).
   *
   * @param dest Where to copy the bytes, or null to discard them.
   * @param n Most bytes to remove (at most `dest.length` when copying).
   * @returns The number of bytes removed.
   */
  takeData(dest: Uint8Array | null, n: number): number {
    let count = Math.min(Math.max(0, Math.floor(n)), this.used());
    if (dest !== null) {
      count = Math.min(count, dest.length);
      dest.set(this.#data.subarray(this.#start, this.#start + count));
    }
    this.#start += count;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return count;
  }

  /**
   * Marks `n` more bytes of the room returned by
   * {@linkcode NalBuffer.prototype.writePtr} as data.
   *
   * @param n Bytes written at the write pointer.
   * @returns The number of bytes accepted (at most `unused()`).
   */
  wrote(n: number): number {
    const count = Math.min(
      Math.max(0, Math.floor(n)),
      this.#data.length - this.#end,
    );
    this.#end += count;
    if (this.#end > this.#dirty) this.#dirty = this.#end;
    return count;
  }

  /** Moves the data back to offset 0 when fewer than `n` bytes follow it. */
  #makeRoom(n: number): void {
    if (this.#start === 0 || this.#data.length - this.#end >= n) return;
    this.#data.copyWithin(0, this.#start, this.#end);
    this.#end -= this.#start;
    this.#start = 0;
  }
}
