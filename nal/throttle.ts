/**
 * NalThrottle: reports of repeated events at most once per interval, with
 * counts, for logs that a flood of bad clients or refused connections must
 * not flood in turn.
 *
 * @module
 */

/**
 * Reports events at most once per interval: the first at once, the ones
 * that follow within the interval summed into one report at its end (with
 * the last of them). Nothing is printed here: `report` decides.
 *
 * @example Three events in a row make two reports
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalThrottle } from "@distcache/distcache/nal";
 *
 * const reports: string[] = [];
 * const t = new NalThrottle<string>((count, last) => reports.push(`${count} ${last}`), 20);
 * t.note("a");
 * t.note("b");
 * t.note("c");
 * assert.deepEqual(reports, ["1 a"]);
 * await new Promise((r) => setTimeout(r, 50));
 * assert.deepEqual(reports, ["1 a", "2 c"]);
 * t.close();
 * ```
 */
export class NalThrottle<T> {
  readonly #report: (count: number, last: T) => void;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #count = 0;
  #last: T | undefined;
  #total = 0;

  /**
   * Makes a throttle.
   *
   * @param report Called with how many events happened since the last
   *   report and the last of them.
   * @param intervalMs Least time between two reports. @default {1000}
   */
  constructor(report: (count: number, last: T) => void, intervalMs = 1000) {
    this.#report = report;
    this.#intervalMs = intervalMs;
  }

  /** Events noted since this throttle was made. */
  get total(): number {
    return this.#total;
  }

  /**
   * Notes one event: reported now if the interval since the last report
   * has passed, else at its end.
   *
   * @param event What happened (the last one is reported).
   */
  note(event: T): void {
    this.#total++;
    if (this.#timer === undefined) {
      this.#report(1, event);
      this.#arm();
      return;
    }
    this.#count++;
    this.#last = event;
  }

  /** Reports what is pending now and stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flush();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#count > 0) {
        this.#flush();
        this.#arm();
      }
    }, this.#intervalMs);
  }

  #flush(): void {
    if (this.#count === 0) return;
    const count = this.#count;
    const last = this.#last as T;
    this.#count = 0;
    this.#last = undefined;
    this.#report(count, last);
  }
}
