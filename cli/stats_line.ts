/**
 * The server's periodic stats line, in the C `dc_server` format:
 * `Info, total operations =      12  (+     7), total sessions =     2  (+  1)`.
 *
 * @module
 */

/**
 * Decides when to print a stats line and formats it: only when something
 * changed, and with a `-progress` step, only once that many operations
 * passed since the last line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StatsLine } from "./stats_line.ts";
 *
 * const line = new StatsLine(0);
 * assert.equal(
 *   line.next(5, 1),
 *   "Info, total operations =       5  (+     5), total sessions =     1  (+  1)",
 * );
 * assert.equal(line.next(5, 1), null); // nothing changed
 * ```
 */
export class StatsLine {
  readonly #step: number;
  #ops = 0;
  #items = 0;

  /**
   * @param step Operations between lines (0: any change).
   */
  constructor(step: number) {
    this.#step = step;
  }

  /**
   * The line to print for these totals, or null when none is due.
   *
   * @param operations Total operations so far.
   * @param items Sessions stored now.
   */
  next(operations: number, items: number): string | null {
    const dOps = operations - this.#ops;
    const dItems = items - this.#items;
    if (dOps === 0 && dItems === 0) return null;
    if (this.#step > 0 && dOps < this.#step) return null;
    this.#ops = operations;
    this.#items = items;
    return `Info, total operations = ${pad(operations, 7)}  (${
      signed(dOps, 6)
    }), ` +
      `total sessions = ${pad(items, 5)}  (${signed(dItems, 3)})`;
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width);
}

function signed(n: number, width: number): string {
  return (n < 0 ? "-" : "+") + pad(Math.abs(n), width);
}
