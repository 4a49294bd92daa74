/**
 * Keeps a listener from spinning when the process runs out of file
 * descriptors, for runtimes whose own accept loop retries a failing
 * accept(2) at once (Bun's, for `Bun.listen` and its `node:net`): there
 * the only way to stop the spin is to stop listening. The guard checks
 * that some descriptors are left once many sockets are open, pauses the
 * listener when they are not, and resumes it once they are again.
 *
 * @module
 */

import * as fs from "node:fs";
import { clearTimeout, setTimeout } from "node:timers";

// Descriptors that must be free for the listener to keep accepting: room
// for the sockets the runtime may accept in one go, and for the files the
// process opens meanwhile.
const HEADROOM = 16;
// How often a paused listener looks again.
const RETRY_MS = 250;

/** What a guarded listener does when told to stop or to go on accepting. */
export interface Pausable {
  /** Stops accepting; accepted sockets stay open. */
  pause(): void;
  /** Listens again (on the same address). */
  resume(): Promise<void>;
}

/** The soft limit on open descriptors, or null where it cannot be read. */
export function softFdLimit(): number | null {
  try {
    const limits = fs.readFileSync("/proc/self/limits", "utf8");
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/**
 * Whether `HEADROOM` descriptors can be opened now; the error when they
 * cannot (EMFILE, ENFILE).
 */
function probe(): Error | null {
  const fds: number[] = [];
  try {
    for (let i = 0; i < HEADROOM; i++) fds.push(fs.openSync("/dev/null", "r"));
    return null;
  } catch (err) {
    return err as Error;
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/** One listener's guard: told of every socket accepted and closed. */
export class FdGuard {
  readonly #target: Pausable;
  readonly #report: (error: Error) => void;
  // Open sockets from which descriptors are checked on each accept (half
  // the limit: below that, the check would cost syscalls for nothing).
  readonly #checkFrom: number;
  #open = 0;
  #paused = false;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(target: Pausable, report: (error: Error) => void) {
    this.#target = target;
    this.#report = report;
    const limit = softFdLimit();
    this.#checkFrom = limit === null ? Infinity : Math.floor(limit / 2);
  }

  /** A socket was accepted. */
  accepted(): void {
    this.#open++;
    if (this.#open >= this.#checkFrom && !this.#paused) this.#check();
  }

  /** An accepted socket closed. */
  released(): void {
    this.#open--;
  }

  /** The listener closed for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #check(): void {
    const error = probe();
    if (error === null) return;
    this.#paused = true;
    this.#target.pause();
    this.#report(error);
    this.#retryLater();
  }

  #retryLater(): void {
    this.#timer = setTimeout(async () => {
      if (this.#closed) return;
      const error = probe();
      if (error !== null) {
        this.#report(error);
        this.#retryLater();
        return;
      }
      try {
        await this.#target.resume();
        this.#paused = false;
      } catch (err) {
        this.#report(err as Error);
        this.#retryLater();
      }
    }, RETRY_MS);
  }
}
