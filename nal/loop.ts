/**
 * NalLoop: an event-driven loop for owners of many connections (a server,
 * a proxy, a relay). Where a select loop looks at every connection on
 * every wake-up, here each connection's news schedules a visit of that
 * connection only, so a thousand idle connections cost nothing per
 * request.
 *
 * @module
 */

import { NalConnection } from "./connection.ts";
import type { NalListener } from "./listener.ts";
import { softFdLimit } from "./runtime/fd_guard.ts";
import { yieldToRuntime } from "./runtime/tick.ts";
import { NalThrottle } from "./throttle.ts";

// Turns in a row that found work at once, after which the loop yields to
// the runtime's event loop (socket events, timers) before going on.
const MAX_BUSY_TURNS = 64;

/**
 * What a {@linkcode NalLoop} can watch: {@linkcode NalConnection},
 * {@linkcode NalListener}, and anything built over a connection that adds
 * work of its own (a protocol plug holding a whole command is one).
 *
 * @example A connection is watchable as it is
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalConnection, type NalWatchable } from "@distcache/distcache/nal";
 *
 * const source: NalWatchable = new NalConnection();
 * assert.equal(source.hasWork(), false); // no socket
 * ```
 */
export interface NalWatchable {
  /**
   * Calls `onNews` on each event of the thing (`null`: stop); returns
   * `false` when there is nothing to watch (no socket).
   */
  watch(onNews: (() => void) | null): boolean;
  /**
   * Whether a visit now would find something to do that no event will
   * announce (asked after each visit).
   */
  hasWork(): boolean;
}

// The loop's view of an entry's place in its list (nal-internal: a field
// rather than a Set, since every event asks).
let isQueued: (entry: NalLoopEntry) => boolean;
let setQueued: (entry: NalLoopEntry, queued: boolean) => void;

/**
 * One thing a {@linkcode NalLoop} watches, as {@linkcode NalLoop.prototype.add}
 * returns it.
 *
 * @example Visit again without an event, then stop watching
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalConnection, NalLoop } from "@distcache/distcache/nal";
 *
 * await using loop = new NalLoop();
 * let visits = 0;
 * const entry = loop.add(new NalConnection(), (e) => {
 *   if (++visits === 2) e.remove();
 *   else e.mark();
 * });
 * await loop.idle();
 * assert.equal(visits, 2);
 * assert.ok(entry.removed);
 * ```
 */
export class NalLoopEntry {
  static {
    isQueued = (entry) => entry.#queued;
    setQueued = (entry, queued) => entry.#queued = queued;
  }
  /** What is watched. */
  readonly source: NalWatchable;
  /**
   * Has the loop visit this entry on its next turn: for news the source's
   * events do not carry (an asynchronous answer arrived for it, another
   * connection queued bytes for it).
   */
  readonly mark: () => void;
  readonly #visit: (entry: NalLoopEntry) => void;
  readonly #onRemove: () => void;
  #removed = false;
  // In the loop's list of entries to visit (set and cleared by the loop).
  #queued = false;

  /**
   * Made by {@linkcode NalLoop.prototype.add}.
   *
   * @param source What is watched.
   * @param visit What a visit does.
   * @param schedule How the loop is told to visit this entry.
   * @param onRemove Tells the loop the entry is gone.
   */
  constructor(
    source: NalWatchable,
    visit: (entry: NalLoopEntry) => void,
    schedule: (entry: NalLoopEntry) => void,
    onRemove: () => void,
  ) {
    this.source = source;
    this.#visit = visit;
    this.#onRemove = onRemove;
    this.mark = () => schedule(this);
  }

  /** Whether the entry was removed. */
  get removed(): boolean {
    return this.#removed;
  }

  /** Stops watching the source; no visit follows (it is not closed). */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.source.watch(null);
    this.#onRemove();
  }

  /** Runs the visit (the loop calls it). */
  visit(): void {
    this.#visit(this);
  }
}

/** Options of {@linkcode NalLoop.prototype.accept}. */
export interface NalAcceptOptions {
  /**
   * Most connections of the listener open at once: over it, a new one is
   * accepted and closed at once (its client sees the connection close).
   * @default {Infinity}
   */
  maxConnections?: number;
  /**
   * Told, at most once a second, how many connections were refused over
   * `maxConnections` since the last call.
   */
  onRefused?: (count: number) => void;
  /** Called at each connection refused, as it is (to count them). */
  countRefused?: () => void;
}

/**
 * A connection limit that keeps a process clear of running out of file
 * descriptors: the soft limit on open files less a margin for everything
 * else it opens (64, or half of a limit under 128); `Infinity` where the
 * limit cannot be read (not Linux).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultMaxConnections } from "@distcache/distcache/nal";
 *
 * assert.ok(defaultMaxConnections() > 0);
 * ```
 */
export function defaultMaxConnections(): number {
  const limit = softFdLimit();
  if (limit === null) return Infinity;
  return Math.max(1, limit - Math.min(64, Math.floor(limit / 2)));
}

/** A timer of a {@linkcode NalLoop}, as {@linkcode NalLoop.prototype.after} returns it. */
export interface NalLoopTimer {
  /** Cancels the timer if it has not fired yet. */
  cancel(): void;
}

/**
 * A hook of a {@linkcode NalLoop}, as
 * {@linkcode NalLoop.prototype.beforeVisits} returns it.
 */
export interface NalLoopHook {
  /** Stops the calls (from the next turn on). */
  remove(): void;
}

/** How many turns and visits a {@linkcode NalLoop} made (for tests and diagnostics). */
export interface NalLoopStats {
  /** Turns: rounds of visits. */
  turns: number;
  /** Visits, over all entries. */
  visits: number;
  /** Entries watched now. */
  entries: number;
}

/**
 * An event-driven loop. Each watched thing (a connection, a listener, a
 * plug) has a visit function; a turn of the loop visits only the entries
 * that had news since the previous turn: an event of the source (bytes
 * arrived, send space freed, the peer ended or closed, a connection to
 * accept), a {@linkcode NalLoopEntry.prototype.mark}, or work the source
 * still had right after its last visit ({@linkcode NalWatchable.hasWork}).
 * A visit should do all it can (io(), serving what arrived); entries marked
 * during a turn are visited on the next one, so none starves the others.
 * Timers ({@linkcode NalLoop.prototype.after}) run at the start of a turn.
 *
 * The loop runs from construction until {@linkcode NalLoop.prototype.close}
 * (or `stop()`); it does not close what it watches. While nothing happens
 * it waits on a promise, which keeps no process alive by itself.
 *
 * @example Echo server on a loop
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalConnection, NalListener, NalLoop } from "@distcache/distcache/nal";
 *
 * const list = new NalListener();
 * assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
 * const loop = new NalLoop();
 * loop.accept(list, (conn) => {
 *   loop.add(conn, (entry) => {
 *     const alive = conn.io();
 *     const rb = conn.getRead();
 *     rb.takeData(null, conn.getSend().write(rb.readPtr()));
 *     if (!conn.io() || !alive) {
 *       entry.remove();
 *       conn.close();
 *     }
 *   });
 * });
 * const client = new NalConnection();
 * client.create(NalAddress.parse(list.address()));
 * client.getSend().write(new TextEncoder().encode("ping"));
 * const echoed = new Promise<void>((resolve) => {
 *   loop.add(client, (entry) => {
 *     client.io();
 *     if (client.getRead().used() === 4) {
 *       entry.remove();
 *       resolve();
 *     }
 *   });
 * });
 * await echoed;
 * assert.equal(new TextDecoder().decode(client.getRead().readPtr()), "ping");
 * client.close();
 * await loop.close();
 * await list.closeAndWait();
 * ```
 */
export class NalLoop {
  // Entries to visit on the next turn, in the order of their news; the
  // turn swaps in the spare list, so that entries marked during a turn
  // wait for the next one instead of starving the others.
  #ready: NalLoopEntry[] = [];
  #spare: NalLoopEntry[] = [];
  #due: (() => void)[] = [];
  // Hooks of beforeVisits(), replaced (not changed) when one is added or
  // removed, so that a turn's walk over them is never disturbed.
  #prepares: ((entries: readonly NalLoopEntry[]) => void)[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  // A turn is queued (a microtask, or a task after a yield), or running.
  #scheduled = false;
  #running = false;
  // Turns in a row that found work at once.
  #busy = 0;
  #idleWaiters: (() => void)[] = [];
  #stopping = false;
  #ended = false;
  #turns = 0;
  #visits = 0;
  #entries = 0;
  readonly #onRemove = (): void => {
    this.#entries--;
  };
  readonly #schedule = (entry: NalLoopEntry): void => {
    if (entry.removed || isQueued(entry)) return;
    setQueued(entry, true);
    this.#ready.push(entry);
    this.#kick();
  };
  // Entries to visit once the runtime has delivered the events waiting.
  readonly #gathered = new Set<NalLoopEntry>();
  #gathering = false;
  readonly #tick = (): void => this.#run(false);
  readonly #afterYield = (): void => this.#run(true);
  #settle!: (error?: unknown) => void;

  /** Resolves when the loop has stopped (rejects if a visit threw). */
  readonly finished: Promise<void>;

  /** Makes a loop; it starts at once, waiting for news. */
  constructor() {
    this.finished = new Promise<void>((resolve, reject) => {
      this.#settle = (error) => error === undefined ? resolve() : reject(error);
    });
  }

  /**
   * Watches `source`: `visit` runs in a turn after each of its events, and
   * once soon after this call (news may have come before). Remove the
   * entry (in the visit or elsewhere) once the source is done.
   *
   * @param source What to watch.
   * @param visit What a visit does; it gets the entry.
   * @returns The entry.
   */
  add(
    source: NalWatchable,
    visit: (entry: NalLoopEntry) => void,
  ): NalLoopEntry {
    const entry = new NalLoopEntry(
      source,
      visit,
      this.#schedule,
      this.#onRemove,
    );
    this.#entries++;
    source.watch(entry.mark);
    entry.mark();
    return entry;
  }

  /**
   * Accepts every connection `list` receives, each into a fresh
   * {@linkcode NalConnection} handed to `onConnection` (the one accept
   * loop of servers, proxies and relays), within a connection limit.
   *
   * @param list A listening listener.
   * @param onConnection Takes an accepted, established connection.
   * @param options The connection limit and where refusals are told.
   * @returns The listener's entry (remove it to stop accepting).
   */
  accept(
    list: NalListener,
    onConnection: (conn: NalConnection) => void,
    options: NalAcceptOptions = {},
  ): NalLoopEntry {
    const max = options.maxConnections ?? Infinity;
    const onRefused = options.onRefused;
    const refusals = onRefused === undefined
      ? null
      : new NalThrottle<null>((count) => onRefused(count));
    let conn = new NalConnection();
    return this.add(list, () => {
      while (list.accept(null, conn)) {
        if (list.connections() > max) {
          conn.close();
          options.countRefused?.();
          refusals?.note(null);
        } else {
          onConnection(conn);
        }
        conn = new NalConnection();
      }
    });
  }

  /**
   * Has the loop visit `entry` in a turn after the runtime has delivered
   * the socket events already waiting, rather than on the next turn: for
   * an owner that gathers what several events bring into one write (a
   * proxy's link to its server, written once for the requests that many
   * clients' events bring).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NalConnection, NalLoop } from "@distcache/distcache/nal";
   *
   * await using loop = new NalLoop();
   * let visits = 0;
   * const entry = loop.add(new NalConnection(), () => visits++);
   * await loop.idle();
   * loop.markAfterEvents(entry);
   * loop.markAfterEvents(entry);
   * await loop.idle();
   * assert.equal(visits, 2); // the first visit, then one for both marks
   * entry.remove();
   * ```
   *
   * @param entry An entry of this loop.
   */
  markAfterEvents(entry: NalLoopEntry): void {
    if (entry.removed) return;
    this.#gathered.add(entry);
    if (this.#gathering) return;
    this.#gathering = true;
    void yieldToRuntime().then(() => {
      this.#gathering = false;
      for (const e of this.#gathered) this.#schedule(e);
      this.#gathered.clear();
    });
  }

  /**
   * Runs `fn` at the start of the first turn after `ms` milliseconds (for
   * idle timeouts and retries). A pending timer keeps the process alive.
   *
   * @param ms Delay in milliseconds.
   * @param fn What to run.
   * @returns The timer, to cancel it.
   */
  after(ms: number, fn: () => void): NalLoopTimer {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#due.push(fn);
      this.#kick();
    }, Math.max(0, ms));
    this.#timers.add(timer);
    return {
      cancel: () => {
        if (this.#timers.delete(timer)) clearTimeout(timer);
      },
    };
  }

  /**
   * Calls `prepare` in every turn that has entries to visit, before their
   * visits, with those entries in the order they will be visited (skip
   * those `removed`): for an owner that does better looking at all its
   * ready entries together before serving each (a server warming its
   * store for the requests of every ready client at once).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { NalConnection, NalLoop } from "@distcache/distcache/nal";
   *
   * await using loop = new NalLoop();
   * const order: string[] = [];
   * const hook = loop.beforeVisits((entries) => order.push(`prepare ${entries.length}`));
   * const a = loop.add(new NalConnection(), () => order.push("a"));
   * const b = loop.add(new NalConnection(), () => order.push("b"));
   * await loop.idle();
   * assert.deepEqual(order, ["prepare 2", "a", "b"]);
   * hook.remove();
   * a.remove();
   * b.remove();
   * ```
   *
   * @param prepare Called with the turn's entries.
   * @returns The hook, to remove it.
   */
  beforeVisits(
    prepare: (entries: readonly NalLoopEntry[]) => void,
  ): NalLoopHook {
    this.#prepares = [...this.#prepares, prepare];
    return {
      remove: () => {
        this.#prepares = this.#prepares.filter((p) => p !== prepare);
      },
    };
  }

  /** Turns, visits and entries so far. */
  stats(): NalLoopStats {
    return {
      turns: this.#turns,
      visits: this.#visits,
      entries: this.#entries,
    };
  }

  /**
   * Resolves the next time the loop has nothing to do (no visit or timer
   * due): after the work that is scheduled now is done.
   */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#kick();
    });
  }

  /** Ends the loop after the current turn; pending timers are cancelled. */
  stop(): void {
    this.#stopping = true;
    this.#kick();
  }

  /** Stops the loop and resolves once it has. */
  async close(): Promise<void> {
    this.stop();
    await this.finished;
  }

  /** Same as {@linkcode NalLoop.prototype.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // Runs turns while there is work: a turn is queued as a microtask on the
  // first news (no promise per wake-up), and consecutive turns run back to
  // back, but after MAX_BUSY_TURNS of them the loop yields to the runtime
  // (socket events and timers wait behind such a loop) before going on.
  #run(afterYield: boolean): void {
    this.#scheduled = false;
    if (this.#ended) return;
    this.#running = true;
    try {
      if (afterYield && !this.#stopping) this.#turn();
      while (!this.#stopping) {
        if (this.#ready.length === 0 && this.#due.length === 0) {
          this.#busy = 0;
          const waiters = this.#idleWaiters;
          if (waiters.length > 0 && this.#gathered.size === 0) {
            this.#idleWaiters = [];
            for (const resolve of waiters) resolve();
          }
          return;
        }
        if (++this.#busy >= MAX_BUSY_TURNS) {
          this.#busy = 0;
          this.#scheduled = true;
          yieldToRuntime().then(this.#afterYield);
          return;
        }
        this.#turn();
      }
    } catch (err) {
      this.#end(err);
      return;
    } finally {
      this.#running = false;
    }
    this.#end();
  }

  #end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#due.length = 0;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters = [];
    this.#settle(error);
  }

  #turn(): void {
    this.#turns++;
    if (this.#due.length > 0) {
      const due = this.#due;
      this.#due = [];
      for (const fn of due) fn();
    }
    const batch = this.#ready;
    this.#ready = this.#spare;
    this.#spare = batch;
    const prepares = this.#prepares;
    if (batch.length > 0) {
      for (let i = 0; i < prepares.length; i++) prepares[i](batch);
    }
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i];
      setQueued(entry, false);
      if (entry.removed) continue;
      this.#visits++;
      entry.visit();
      if (!entry.removed && entry.source.hasWork() && !isQueued(entry)) {
        setQueued(entry, true);
        this.#ready.push(entry);
      }
    }
    batch.length = 0;
  }

  #kick(): void {
    if (this.#scheduled || this.#running || this.#ended) return;
    this.#scheduled = true;
    queueMicrotask(this.#tick);
  }
}
