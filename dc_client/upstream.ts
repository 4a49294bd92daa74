/**
 * What a {@linkcode DcProxy} forwards its local clients' requests to: an
 * upstream. {@linkcode DcServerLink} is one, a persistent connection to a
 * distcache server; a store the proxy talks to directly (Redis) is
 * another kind. The proxy checks every request before it hands it over,
 * keeps each local client's answers in order, and answers `2`
 * (`DC_ERR_DISCONNECTED`) itself while the upstream is not up.
 *
 * @module
 */

import type { DcCmd } from "../dc_enc/mod.ts";
import type { NalLoop } from "../nal/mod.ts";

/**
 * A request a proxy handed to its upstream: the upstream keeps it and gives
 * it back with the answer, and reads nothing in it but `cmd`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DcUpstreamTicket } from "@distcache/distcache/dc_client";
 * import { DcCmd } from "@distcache/distcache/dc_enc";
 *
 * const ticket: DcUpstreamTicket = { cmd: DcCmd.GET };
 * assert.equal(ticket.cmd, DcCmd.GET);
 * ```
 */
export interface DcUpstreamTicket {
  /** The request's command. */
  readonly cmd: DcCmd;
}

/**
 * Where an upstream delivers what happens to the requests it was handed
 * (the proxy gives one to {@linkcode DcProxyUpstream.start}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { DcUpstreamSink } from "@distcache/distcache/dc_client";
 *
 * const answers: (Uint8Array | null)[] = [];
 * const sink: DcUpstreamSink = {
 *   answer: (_ticket, payload) => answers.push(payload && payload.slice()),
 *   room: () => {},
 * };
 * sink.answer({ cmd: 1 }, new Uint8Array([0]));
 * sink.answer({ cmd: 1 }, null);
 * assert.deepEqual(answers, [new Uint8Array([0]), null]);
 * ```
 */
export interface DcUpstreamSink {
  /**
   * The answer to a request: its payload (a view valid only during the
   * call), or null when there will be none (the link was lost, the request
   * timed out): the proxy then answers `2`. Called once per request, from
   * a turn of the proxy's loop; it must not hand the upstream a request.
   * The answers reach the clients' sockets at the next `room()`, which
   * must follow a batch of them.
   */
  answer(ticket: DcUpstreamTicket, payload: Uint8Array | null): void;
  /**
   * Called after a batch of answers, and whenever requests refused for
   * lack of room may be tried again (room was freed, or the upstream went
   * up or down): answers go out, waiting requests go on. It may hand the
   * upstream requests.
   */
  room(): void;
}

/**
 * Counters of an upstream, for stats and metrics.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcServerLink, type DcUpstreamStats } from "@distcache/distcache/dc_client";
 *
 * const s: DcUpstreamStats = new DcServerLink("IP:127.0.0.1:9").stats();
 * assert.equal(s.inFlight, 0); // not started: nothing handed over
 * ```
 */
export interface DcUpstreamStats {
  /** Whether it takes requests now (connected, or connecting). */
  up: boolean;
  /** Whether it is connected and has been answering (not merely connecting). */
  established: boolean;
  /** Requests handed over and not answered yet. */
  inFlight: number;
  /** Times it was lost (link closed, broken or timed out). */
  lost: number;
  /** Of those, times no answer came within the timeout. */
  timeouts: number;
  /** Times it came back after being lost. */
  reconnects: number;
  /** Attempts made to connect, the first one included. */
  attempts: number;
}

/**
 * The upstream was lost (event `lost`): its requests in flight are answered
 * `2`, and it tries again after a delay (a `retry` event).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcUpstreamLostEvent } from "@distcache/distcache/dc_client";
 *
 * const e = new DcUpstreamLostEvent(new Error("closed by the peer"), 3);
 * assert.equal(e.type, "lost");
 * assert.equal(e.failed, 3);
 * ```
 */
export class DcUpstreamLostEvent extends Event {
  /** Why it was lost. */
  readonly reason: Error;
  /** Requests in flight that were answered `2` for it. */
  readonly failed: number;

  /**
   * Makes the event.
   *
   * @param reason Why the upstream was lost.
   * @param failed Requests in flight answered `2`.
   */
  constructor(reason: Error, failed: number) {
    super("lost");
    this.reason = reason;
    this.failed = failed;
  }
}

/**
 * The upstream is back after being lost (event `back`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcUpstreamBackEvent } from "@distcache/distcache/dc_client";
 *
 * assert.equal(new DcUpstreamBackEvent(1200).downMs, 1200);
 * ```
 */
export class DcUpstreamBackEvent extends Event {
  /** How long it was away, in milliseconds. */
  readonly downMs: number;

  /**
   * Makes the event.
   *
   * @param downMs How long the upstream was away.
   */
  constructor(downMs: number) {
    super("back");
    this.downMs = downMs;
  }
}

/**
 * The upstream will try to connect again (event `retry`), after a delay
 * that grows from a first quick retry up to the longest one allowed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcUpstreamRetryEvent } from "@distcache/distcache/dc_client";
 *
 * const e = new DcUpstreamRetryEvent(2, 200);
 * assert.deepEqual([e.type, e.attempt, e.delayMs], ["retry", 2, 200]);
 * ```
 */
export class DcUpstreamRetryEvent extends Event {
  /** The attempt coming (1 for the first retry). */
  readonly attempt: number;
  /** Milliseconds until it. */
  readonly delayMs: number;

  /**
   * Makes the event.
   *
   * @param attempt The retry coming (from 1).
   * @param delayMs Milliseconds until it.
   */
  constructor(attempt: number, delayMs: number) {
    super("retry");
    this.attempt = attempt;
    this.delayMs = delayMs;
  }
}

/**
 * The events of an upstream, by type, for
 * {@linkcode DcProxyUpstream.addEventListener}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DcUpstreamEventMap, DcUpstreamLostEvent } from "@distcache/distcache/dc_client";
 *
 * const describe = (e: DcUpstreamEventMap["lost"]) => `lost: ${e.reason.message}`;
 * assert.equal(describe(new DcUpstreamLostEvent(new Error("reset"), 0)), "lost: reset");
 * ```
 */
export interface DcUpstreamEventMap {
  /** Lost: see {@linkcode DcUpstreamLostEvent}. */
  lost: DcUpstreamLostEvent;
  /** Back: see {@linkcode DcUpstreamBackEvent}. */
  back: DcUpstreamBackEvent;
  /** A retry is scheduled: see {@linkcode DcUpstreamRetryEvent}. */
  retry: DcUpstreamRetryEvent;
}

/**
 * What a {@linkcode DcProxy} forwards requests to. It is an `EventTarget`
 * of {@linkcode DcUpstreamEventMap}'s events. The proxy calls `start`
 * once, then `send` for each checked request, and `close` at the end.
 *
 * @example An upstream that answers every request itself
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcProxy, type DcProxyUpstream, type DcUpstreamSink, type DcUpstreamStats, type DcUpstreamTicket } from "@distcache/distcache/dc_client";
 * import type { NalLoop } from "@distcache/distcache/nal";
 *
 * class Miss extends EventTarget implements DcProxyUpstream {
 *   #sink: DcUpstreamSink | null = null;
 *   readonly up = true;
 *   start(_loop: NalLoop, sink: DcUpstreamSink): void {
 *     this.#sink = sink;
 *   }
 *   send(ticket: DcUpstreamTicket): boolean {
 *     queueMicrotask(() => this.#sink?.answer(ticket, new Uint8Array([1])));
 *     return true;
 *   }
 *   stats(): DcUpstreamStats {
 *     return { up: true, established: true, inFlight: 0, lost: 0, timeouts: 0, reconnects: 0, attempts: 1 };
 *   }
 *   close(): void {}
 * }
 * await using proxy = new DcProxy({ upstream: new Miss() });
 * assert.equal(proxy.stats().upstream.up, true);
 * ```
 */
export interface DcProxyUpstream extends EventTarget {
  /**
   * Listens to one of the upstream's events, typed by its name.
   *
   * @param type `lost`, `back` or `retry`.
   * @param listener Called with the event.
   * @param options As `EventTarget.addEventListener`'s.
   */
  addEventListener<K extends keyof DcUpstreamEventMap>(
    type: K,
    listener: (event: DcUpstreamEventMap[K]) => void,
    options?: Parameters<EventTarget["addEventListener"]>[2],
  ): void;
  /**
   * Listens to an event by any name (`EventTarget`'s form).
   *
   * @param type The event's name.
   * @param listener Called with the event.
   * @param options As `EventTarget.addEventListener`'s.
   */
  addEventListener(
    type: string,
    listener: Parameters<EventTarget["addEventListener"]>[1],
    options?: Parameters<EventTarget["addEventListener"]>[2],
  ): void;
  /**
   * Whether requests are taken now; while false, the proxy answers every
   * request `2` at once.
   */
  readonly up: boolean;
  /**
   * Starts (connects); answers and room go to `sink`, in turns of `loop`.
   *
   * @param loop The proxy's loop.
   * @param sink Where answers go.
   */
  start(loop: NalLoop, sink: DcUpstreamSink): void;
  /**
   * Hands over a request; its answer comes to the sink's `answer` later
   * (never during this call).
   *
   * @param ticket Given back with the answer.
   * @param cmd The command.
   * @param payload The payload (a view, valid only during the call).
   * @returns `false` when there is no room now (the bound on requests in
   *   flight): the sink's `room` says when to try again.
   */
  send(ticket: DcUpstreamTicket, cmd: DcCmd, payload: Uint8Array): boolean;
  /** Counters. */
  stats(): DcUpstreamStats;
  /**
   * Stops: requests in flight get no answer (the proxy is closing its
   * clients).
   */
  close(): void;
}
