/**
 * The life of a service that runs on a {@linkcode NalLoop} (a server, a
 * proxy, a relay): it stops when asked, or when its loop ends.
 *
 * @module
 */

import type { NalLoop } from "./loop.ts";

/** A running service's end, as {@linkcode loopService} makes it. */
export interface NalService {
  /**
   * Settles once the service has stopped: by `close()`, or because its
   * loop ended (a shared loop closed, or a visit threw: then it rejects
   * with that error).
   */
  readonly finished: Promise<void>;
  /** Stops the service (once) and resolves when it has. */
  close(): Promise<void>;
}

/**
 * Ties `stop` to `loop`: `stop` runs once, when `close()` is called or when
 * the loop ends, whichever comes first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loopService, NalLoop } from "@distcache/distcache/nal";
 *
 * const loop = new NalLoop();
 * let stops = 0;
 * const service = loopService(loop, async () => {
 *   stops++;
 *   await loop.close();
 * });
 * await service.close();
 * await service.close();
 * await service.finished;
 * assert.equal(stops, 1);
 * ```
 *
 * @param loop The loop the service runs on.
 * @param stop Stops the service (releases what it holds).
 */
export function loopService(
  loop: NalLoop,
  stop: () => Promise<void>,
): NalService {
  let stopped: Promise<void> | null = null;
  const stopOnce = (): Promise<void> => stopped ??= stop();
  let closing = () => {};
  const finished = Promise.race([
    new Promise<void>((resolve, reject) => {
      loop.finished.then(
        () => stopOnce().then(resolve, reject),
        (err) => stopOnce().finally(() => reject(err)),
      );
    }),
    new Promise<void>((resolve) => {
      closing = resolve;
    }),
  ]);
  return {
    finished,
    close: async () => {
      await stopOnce();
      closing();
      await finished;
    },
  };
}
