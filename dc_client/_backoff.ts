// The delay before each reconnect attempt: a first one soon, then twice as
// long each time, up to a longest one; back to the first once the link
// proved it works. Internal to dc_client.

export class Backoff {
  readonly #first: number;
  readonly #max: number;
  #next: number;

  constructor(first: number, max: number) {
    this.#first = first;
    this.#max = max;
    this.#next = first;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    const delay = this.#next;
    this.#next = Math.min(this.#max, delay * 2);
    return delay;
  }

  /** Starts over from the first delay. */
  reset(): void {
    this.#next = this.#first;
  }
}
