// Commands sent as few as the traffic allows. The Redis client's cost is
// mostly per command, not per key: 64 concurrent GETs cost about one GET's
// worth when they go as one MGET of 64 keys (on this workload, a third of
// Redis's own rate one by one, above it batched). Requests of different
// clients reach the server in separate tasks, so gathering them for a
// fixed time would add that time to every request; instead a command goes
// out at once while few are in flight, and those that arrive meanwhile go
// together as soon as one comes back: runs of GETs as MGETs, the others
// one by one, all in arrival order (a client's REMOVE never overtakes its
// GET).

import type { Buffer } from "node:buffer";

type Resolve<T> = (value: T) => void;
type Reject = (reason: unknown) => void;

// Sends of commands in flight before new ones wait to go together. With
// one, a request that finds Redis busy waits at most one round trip, and at
// 64 connections a send carries about 30 requests (4 MGETs and the ADDs
// between them, in one write); with two, sends are half as large and cost
// Redis and the client more per request.
const MAX_IN_FLIGHT = 1;
// Keys of one MGET: a huge one would hold Redis up for everyone else.
const MAX_KEYS = 256;

// A command waiting its turn: a GET (`key`) or any other (`run`).
interface Waiting {
  key: Buffer | null;
  run: (() => Promise<unknown>) | null;
  resolve: Resolve<unknown>;
  reject: Reject;
}

/** Sends commands at once while Redis keeps up, together when it does not. */
export class CommandQueue {
  readonly #get: (key: Buffer) => Promise<Buffer | null>;
  readonly #mget: (keys: Buffer[]) => Promise<(Buffer | null)[]>;
  readonly #cork: () => void;
  readonly #uncork: () => void;
  #inFlight = 0;
  #waiting: Waiting[] = [];
  readonly #done = () => {
    this.#inFlight--;
    if (this.#waiting.length > 0) this.#send();
  };

  /**
   * @param get Fetches one key (GET).
   * @param mget Fetches several keys, answers in their order (MGET).
   * @param cork Holds the writes to Redis back (they then go as one).
   * @param uncork Lets them go.
   */
  constructor(
    get: (key: Buffer) => Promise<Buffer | null>,
    mget: (keys: Buffer[]) => Promise<(Buffer | null)[]>,
    cork: () => void,
    uncork: () => void,
  ) {
    this.#get = get;
    this.#mget = mget;
    this.#cork = cork;
    this.#uncork = uncork;
  }

  /** The value of `key`. */
  get(key: Buffer): Promise<Buffer | null> {
    if (this.#inFlight < MAX_IN_FLIGHT && this.#waiting.length === 0) {
      this.#inFlight++;
      const value = this.#get(key);
      value.then(this.#done, this.#done);
      return value;
    }
    return this.#wait(key, null) as Promise<Buffer | null>;
  }

  /** Runs another command, in its turn. */
  run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#inFlight < MAX_IN_FLIGHT && this.#waiting.length === 0) {
      this.#inFlight++;
      const value = command();
      value.then(this.#done, this.#done);
      return value;
    }
    return this.#wait(null, command) as Promise<T>;
  }

  #wait(
    key: Buffer | null,
    run: (() => Promise<unknown>) | null,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ key, run, resolve, reject });
    });
  }

  // Sends everything that waited, in order, as one unit in flight and (its
  // writes held meanwhile) one write.
  #send(): void {
    this.#cork();
    try {
      this.#sendAll();
    } finally {
      this.#uncork();
    }
  }

  #sendAll(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#inFlight++;
    let left = 0;
    const settled = () => {
      if (--left === 0) this.#done();
    };
    for (let i = 0; i < waiting.length;) {
      const w = waiting[i];
      left++;
      if (w.run !== null) {
        w.run().then(w.resolve, w.reject).then(settled);
        i++;
        continue;
      }
      let end = i + 1;
      while (
        end < waiting.length && end - i < MAX_KEYS && waiting[end].key !== null
      ) end++;
      if (end - i === 1) {
        this.#get(w.key!).then(w.resolve, w.reject).then(settled);
      } else {
        const run = waiting.slice(i, end);
        this.#mget(run.map((r) => r.key!)).then((values) => {
          for (let k = 0; k < run.length; k++) run[k].resolve(values[k]);
        }, (err) => {
          for (const r of run) r.reject(err);
        }).then(settled);
      }
      i = end;
    }
  }
}
