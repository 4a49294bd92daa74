/**
 * `serve()`: a whole cache server in one call.
 *
 * @module
 */

import { NalAddress } from "../nal/address.ts";
import type { DistcacheError } from "../nal/errors.ts";
import { NalListener } from "../nal/listener.ts";
import type { RuntimeAdapter } from "../nal/runtime/types.ts";
import type { DcCache, DcCacheFactory } from "./cache.ts";
import { ReadyLoop } from "./_ready_loop.ts";
import { DcServer } from "./server.ts";
import type { DcServerStats } from "./stats.ts";

/** Default address of {@linkcode serve} and of the `server` tool. */
export const DEFAULT_SERVER_ADDRESS = "UNIX:/tmp/dcserver";
/** Default session bound, as the C `dc_server`. */
export const DEFAULT_SESSIONS = 512;

/** Options for {@linkcode serve}. */
export interface ServeOptions {
  /** Address to listen on, in libnal syntax. @default {"UNIX:/tmp/dcserver"} */
  listen?: string;
  /** Most sessions kept at once (64 .. 10,000,000 and more). @default {512} */
  sessions?: number;
  /**
   * Store to use: a factory given the session bound (and `maxBytes`), or a
   * store already made, such as a Redis store (the server closes it when
   * it stops). @default {createDefaultCache}
   */
  cache?: DcCacheFactory | DcCache;
  /**
   * Most bytes of session ids and data stored (`-maxbytes`): the default
   * store evicts the sessions that expire soonest to stay under it. From
   * 32832. @default {Infinity}
   */
  maxBytes?: number;
  /**
   * Raise every ADD's lifetime to at least this many milliseconds
   * (`-min-timeout`; at most 7 days): 300000 for Apache httpd 2.4's
   * mod_socache_dc, which sends lifetimes of 0..999 ms. @default {0}
   */
  minTimeoutMs?: number;
  /** Socket adapter. @default {defaultAdapter()} */
  adapter?: RuntimeAdapter;
  /** Clock in milliseconds (tests inject one). @default {Date.now} */
  clock?: () => number;
  /** Buffer size of client connections (0: the libnal default). @default {0} */
  bufferSize?: number;
  /**
   * Called when a client is dropped for breaking the protocol (corrupt
   * frame, wrong protocol version): only that client is dropped.
   */
  onClientError?: (error: DistcacheError) => void;
}

/** A running server, as {@linkcode serve} returns it. */
export interface Server {
  /** The address listened on (with the real port when port 0 was asked). */
  readonly addr: string;
  /** Counters: sessions, bytes, operations by kind, connections... */
  stats(): DcServerStats;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops: closes every client and the listener (removing a UNIX socket file). */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a cache server and resolves once it listens.
 *
 * @example Serve on a UNIX socket, then stop
 * ```ts
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * const server = await serve({ listen: "UNIX:/tmp/example.sock" });
 * console.log(server.addr, server.stats().items);
 * await server.close();
 * ```
 *
 * @throws {NalAddressError} for a bad address.
 * @throws {DcCacheRangeError} for `sessions` or `maxBytes` out of range.
 * @throws {DcOptionError} for `minTimeoutMs` out of range.
 * @throws {NalSocketError} when it cannot listen (port in use, live server on
 *   the UNIX path, missing directory).
 */
export async function serve(options: ServeOptions = {}): Promise<Server> {
  const addr = NalAddress.parse(
    options.listen ?? DEFAULT_SERVER_ADDRESS,
    options.bufferSize ?? 0,
  );
  const clock = options.clock ?? Date.now;
  let loop: ReadyLoop | null = null;
  const server = new DcServer(options.sessions ?? DEFAULT_SESSIONS, {
    cache: options.cache,
    maxBytes: options.maxBytes,
    minTimeoutMs: options.minTimeoutMs,
    onWake: (client) => loop?.markReady(client),
    onClientError: options.onClientError,
  });
  const list = new NalListener({ adapter: options.adapter });
  if (!(await list.create(addr))) {
    server.close();
    throw list.error!;
  }
  loop = new ReadyLoop(server, list, clock);
  const running = loop;
  const finished = (async () => {
    try {
      await running.run();
    } finally {
      server.close();
      await list.closeAndWait();
    }
  })();

  const close = async (): Promise<void> => {
    running.stop();
    await finished;
  };
  return {
    addr: list.address(),
    stats: () => server.stats(clock()),
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}
