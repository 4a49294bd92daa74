// A deadline for every command, kept by one timer for all: a Cluster client
// retries a command through redirections and failovers (each retry a new
// wait), so its own per-command timeout does not bound how long a request
// waits. Commands start in order and share one timeout, so the oldest
// expires first: a sweep looks at the head of a queue only.

type Reject = (reason: unknown) => void;

interface Pending {
  at: number;
  done: boolean;
  reject: Reject;
}

/** Rejects what takes longer than `timeoutMs`. */
export class Deadlines {
  readonly #timeoutMs: number;
  #queue: Pending[] = [];
  #head = 0;
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** `value`, or a rejection once the timeout has passed. */
  bound<T>(value: Promise<T>): Promise<T> {
    const entry: Pending = {
      at: Date.now() + this.#timeoutMs,
      done: false,
      reject: noop,
    };
    this.#queue.push(entry);
    if (this.#timer === null) {
      this.#timer = setInterval(
        () => this.#sweep(),
        Math.max(10, this.#timeoutMs >> 3),
      );
    }
    return new Promise<T>((resolve, reject) => {
      entry.reject = reject;
      value.then((v) => {
        entry.done = true;
        resolve(v);
      }, (err) => {
        entry.done = true;
        reject(err);
      });
    });
  }

  /** Stops the timer; what is pending is rejected. */
  close(): void {
    this.#sweep(Infinity);
  }

  #sweep(now = Date.now()): void {
    const q = this.#queue;
    let i = this.#head;
    for (; i < q.length && (q[i].done || q[i].at <= now); i++) {
      const entry = q[i];
      if (!entry.done) {
        entry.done = true;
        entry.reject(
          new Error(`no answer from Redis within ${this.#timeoutMs} ms`),
        );
      }
    }
    if (i === q.length) {
      this.#queue = [];
      this.#head = 0;
      if (this.#timer !== null) clearInterval(this.#timer);
      this.#timer = null;
    } else if (i > 1024 && i * 2 > q.length) {
      this.#queue = q.slice(i);
      this.#head = 0;
    } else {
      this.#head = i;
    }
  }
}

function noop(): void {}
