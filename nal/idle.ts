/**
 * NalIdleTracker: what has been idle too long, found with one timer for
 * all (a server's clients, a proxy's local connections).
 *
 * @module
 */

import type { NalLoop, NalLoopTimer } from "./loop.ts";

/**
 * Tells, through `onIdle`, of each key not touched for `ms` milliseconds.
 * Keys are kept in the order of their last touch, so a sweep looks only
 * at those that are due: a touch costs a map update, an idle connection
 * nothing until its time comes.
 *
 * @example Drop what was not touched
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalIdleTracker, NalLoop } from "@distcache/distcache/nal";
 *
 * await using loop = new NalLoop();
 * const idle: string[] = [];
 * const tracker = new NalIdleTracker<string>(loop, 20, (key) => idle.push(key));
 * tracker.touch("quiet");
 * await new Promise((r) => setTimeout(r, 60));
 * assert.deepEqual(idle, ["quiet"]);
 * tracker.close();
 * ```
 */
export class NalIdleTracker<K> {
  readonly #loop: NalLoop;
  readonly #ms: number;
  readonly #onIdle: (key: K) => void;
  readonly #last = new Map<K, number>();
  #timer: NalLoopTimer | null = null;

  /**
   * Makes a tracker whose sweeps run in `loop`'s turns.
   *
   * @param loop The loop.
   * @param ms How long a key may go untouched.
   * @param onIdle Called once for a key untouched that long; it is
   *   forgotten first (touch it again to keep it).
   */
  constructor(loop: NalLoop, ms: number, onIdle: (key: K) => void) {
    this.#loop = loop;
    this.#ms = ms;
    this.#onIdle = onIdle;
  }

  /** Keys tracked. */
  get size(): number {
    return this.#last.size;
  }

  /**
   * Notes activity of `key` now (tracking it if it was not).
   *
   * @param key What was active.
   */
  touch(key: K): void {
    const last = this.#last;
    last.delete(key);
    last.set(key, Date.now());
    if (this.#timer === null) this.#arm(this.#ms);
  }

  /**
   * Stops tracking `key`.
   *
   * @param key What is gone.
   */
  delete(key: K): void {
    this.#last.delete(key);
  }

  /** Stops tracking everything. */
  close(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#last.clear();
  }

  #arm(ms: number): void {
    this.#timer = this.#loop.after(ms, () => this.#sweep());
  }

  #sweep(): void {
    this.#timer = null;
    const now = Date.now();
    for (const [key, at] of this.#last) {
      const left = at + this.#ms - now;
      if (left > 0) {
        this.#arm(left);
        return;
      }
      this.#last.delete(key);
      this.#onIdle(key);
    }
  }
}
