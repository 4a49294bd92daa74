/**
 * NAL_SELECTOR: wait for "useful network events" on many connections and
 * listeners at once.
 *
 * @module
 */

import { type NalConnection, transportOf } from "./connection.ts";
import { listenerCoreOf, type NalListener } from "./listener.ts";
import { yieldToRuntime } from "./runtime/tick.ts";
import {
  NAL_SELECT_FLAG_READ,
  NAL_SELECT_FLAG_RW,
  NAL_SELECT_FLAG_SEND,
  NEWS_OPENED,
} from "./transport.ts";

export { NAL_SELECT_FLAG_READ, NAL_SELECT_FLAG_RW, NAL_SELECT_FLAG_SEND };

// Selects in a row that found something ready without waiting, after which
// one yields to the runtime's event loop.
const MAX_BUSY_TURNS = 64;

/**
 * A selector (the C API's `NAL_SELECTOR`), with its "two states in one": a
 * select uses the objects added since the previous select and wipes that
 * list, so the next select can be prepared while the results of this one
 * are being used.
 *
 * Events: a listener with a connection to accept; a connection with arrived
 * data while its read buffer is not full (READ), with queued data while the
 * socket can take it (SEND), whose connect completed, or that closed or
 * whose peer ended its stream. It is the rule of
 * {@linkcode NalConnection.prototype.hasWork}, except that a closed or
 * ended connection is an event on every select (as select(2) reports end
 * of file) where a watcher is told once.
 *
 * @example One round of a select loop
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress, NalListener, NalSelector } from "@distcache/distcache/nal";
 *
 * const list = new NalListener();
 * await list.create(NalAddress.parse("IP:127.0.0.1:0"));
 * const sel = new NalSelector();
 * sel.addListener(list);
 * const events = await sel.select(10_000); // wait at most 10 ms
 * assert.equal(events, 0); // nobody connected
 * list.close();
 * ```
 */
export class NalSelector {
  #conns = new Map<NalConnection, number>();
  #lists = new Set<NalListener>();
  #spareConns = new Map<NalConnection, number>();
  #spareLists = new Set<NalListener>();
  #waiting: (() => void) | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #interrupted = false;
  #busyTurns = 0;

  /**
   * Adds a connection to the next select (`NAL_SELECTOR_add_conn_ex`).
   *
   * @param conn The connection.
   * @param flags Which events to wait for. @default {NAL_SELECT_FLAG_RW}
   * @returns `false` for a connection that has no socket.
   */
  addConn(conn: NalConnection, flags: number = NAL_SELECT_FLAG_RW): boolean {
    if (transportOf(conn) === undefined) return false;
    this.#conns.set(conn, (this.#conns.get(conn) ?? 0) | flags);
    return true;
  }

  /**
   * Removes a connection added since the last select.
   *
   * @param conn The connection.
   * @returns Whether it had been added.
   */
  delConn(conn: NalConnection): boolean {
    return this.#conns.delete(conn);
  }

  /**
   * Adds a listener to the next select.
   *
   * @param list A listening listener.
   * @returns `false` for a listener that is not listening.
   */
  addListener(list: NalListener): boolean {
    if (listenerCoreOf(list) === undefined) return false;
    this.#lists.add(list);
    return true;
  }

  /**
   * Removes a listener added since the last select.
   *
   * @param list The listener.
   * @returns Whether it had been added.
   */
  delListener(list: NalListener): boolean {
    return this.#lists.delete(list);
  }

  /**
   * Waits until an added object has an event, or the timeout passes.
   *
   * @param usecTimeout Most microseconds to wait; omitted: wait indefinitely;
   *   0: only poll.
   * @returns How many objects had events (0 on timeout).
   */
  async select(usecTimeout?: number): Promise<number> {
    const conns = this.#conns;
    const lists = this.#lists;
    this.#conns = this.#spareConns;
    this.#lists = this.#spareLists;
    for (const conn of conns.keys()) transportOf(conn)!.waker = this;
    for (const list of lists) {
      const core = listenerCoreOf(list);
      if (core !== undefined) core.waker = this;
    }
    let events = scan(conns, lists);
    if (events > 0 && ++this.#busyTurns >= MAX_BUSY_TURNS) {
      // Ready at once, many times in a row: the runtime's own work (timers,
      // other sockets) waits behind such a loop, so let it run once. C's
      // select() would spin the same way, but there the kernel goes on.
      this.#busyTurns = 0;
      await yieldToRuntime();
      events = scan(conns, lists);
    }
    if (events === 0 && usecTimeout !== 0) {
      this.#busyTurns = 0;
      const deadline = usecTimeout === undefined
        ? Infinity
        : performance.now() + usecTimeout / 1000;
      while (events === 0 && !this.#interrupted) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        await this.#wait(left);
        events = scan(conns, lists);
      }
    }
    this.#interrupted = false;
    conns.clear();
    lists.clear();
    this.#spareConns = conns;
    this.#spareLists = lists;
    return events;
  }

  /**
   * Makes the pending select (or the next one) return now, even with no
   * event: how another part of a program ends a select loop's wait, e.g.
   * to shut it down.
   */
  interrupt(): void {
    this.#interrupted = true;
    this.wake();
  }

  /**
   * Has the pending select look again (called by transports and listeners
   * when something happened); it goes on waiting if nothing it watches has
   * an event.
   */
  wake(): void {
    const resolve = this.#waiting;
    if (resolve === null) return;
    this.#waiting = null;
    clearTimeout(this.#timer);
    resolve();
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      if (ms !== Infinity) {
        this.#timer = setTimeout(() => {
          this.#waiting = null;
          resolve();
        }, Math.max(0, Math.ceil(ms)));
      }
    });
  }
}

function scan(
  conns: Map<NalConnection, number>,
  lists: Set<NalListener>,
): number {
  let events = 0;
  for (const [conn, flags] of conns) {
    const t = transportOf(conn);
    if (t === undefined) continue;
    if (t.hasWork(conn.getRead(), conn.getSend(), flags, true)) events++;
    // A completed connect is reported by one select, not by every one.
    t.news &= ~NEWS_OPENED;
  }
  for (const list of lists) {
    if (list.hasWork()) events++;
  }
  return events;
}
