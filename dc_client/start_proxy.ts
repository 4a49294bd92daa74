/**
 * `startProxy()`: a whole local proxy in one call, a listener whose
 * connections a {@linkcode DcProxy} serves.
 *
 * @module
 */

import {
  defaultMaxConnections,
  loopService,
  NalAddress,
  type NalAllowList,
  NalListener,
  type NalSocketError,
  type NalSocketOwner,
  type NalTlsListenOptions,
} from "../nal/mod.ts";
import { DcArgumentError } from "./errors.ts";
import { DcProxy, type DcProxyOptions, type DcProxyStats } from "./proxy.ts";

/**
 * Default address of the local proxy, as the C `dc_client`'s.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DC_PROXY_DEFAULT_ADDRESS } from "@distcache/distcache/dc_client";
 *
 * assert.equal(DC_PROXY_DEFAULT_ADDRESS, "UNIX:/tmp/scache");
 * ```
 */
export const DC_PROXY_DEFAULT_ADDRESS = "UNIX:/tmp/scache";

/** Options of {@linkcode startProxy}: the proxy's, and where to listen. */
export interface StartProxyOptions extends DcProxyOptions {
  /** Local address to listen on. @default {"UNIX:/tmp/scache"} */
  listen?: string;
  /** Buffer size of local connections (0: the libnal default). @default {0} */
  bufferSize?: number;
  /**
   * Called, at most once a second, while accepting connections fails (out
   * of file descriptors); the proxy backs off and keeps serving.
   */
  onAcceptError?: (error: NalSocketError) => void;
  /**
   * Mode of a UNIX socket file, permission bits only (e.g. 0o660): the
   * socket is never reachable with looser permissions, not even while the
   * proxy starts. @default {what the process umask leaves}
   */
  socketMode?: number;
  /**
   * Owner and group of a UNIX socket file (numeric ids), set before the
   * socket is reachable, as the mode is. @default {the process's}
   */
  socketOwner?: NalSocketOwner;
  /**
   * Most local clients connected at once (`-maxconns`); over it a new
   * connection is accepted and closed at once. @default {the open-files
   * soft limit less a margin (see `defaultMaxConnections()` in nal); no
   * bound where that limit cannot be read}
   */
  maxConnections?: number;
  /**
   * Called, at most once a second, with how many connections were refused
   * over `maxConnections` since the last call.
   */
  onRefused?: (count: number, maxConnections: number) => void;
  /**
   * TLS of a TCP listener (`-tls-cert`, `-tls-key`, `-tls-ca`): see
   * `ServeOptions.tls` of dc_server. @default {plain TCP}
   */
  tls?: NalTlsListenOptions;
  /** Peers let in on a TCP listener (`-allow`). @default {every peer} */
  allow?: NalAllowList;
  /**
   * Called, at most once a second, with how many peers `allow` refused
   * since the last call and the last one's address.
   */
  onDenied?: (count: number, address: string) => void;
}

/** A running proxy, as {@linkcode startProxy} returns it. */
export interface DcProxyHandle {
  /** The local address listened on (the real port when port 0 was asked). */
  readonly addr: string;
  /** The engine. */
  readonly proxy: DcProxy;
  /** Whether the link to the server is established now. */
  serverUp(): boolean;
  /** Counters. */
  stats(): DcProxyStats;
  /** Connections closed at accept because `maxConnections` were open. */
  connectionsRefused(): number;
  /** Connections closed at accept because the peer is outside `allow`. */
  connectionsDenied(): number;
  /** Resolves when the proxy has stopped (rejects if its loop failed). */
  readonly finished: Promise<void>;
  /** Stops: closes local clients, the upstream and the listener. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a local proxy and resolves once it listens; the upstream
 * connects at once (and again after every loss).
 *
 * @example A proxy between an application and a server
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCtx, startProxy } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 *
 * await using server = await serve({ listen: "IP:127.0.0.1:0" });
 * await using proxy = await startProxy({ listen: "IP:127.0.0.1:0", server: server.addr });
 * const ctx = await DcCtx.create(proxy.addr);
 * assert.equal(await ctx.addSession("sid", "some data", 60_000), true);
 * assert.equal(await ctx.hasSession("sid"), true);
 * ctx.close();
 * assert.equal(proxy.stats().forwarded, 2);
 * ```
 *
 * @throws {NalAddressError} for a bad address.
 * @throws {DcArgumentError} for a missing server or an option out of range.
 * @throws {NalOptionError} for a socket mode or owner out of range.
 * @throws {NalSocketError} when it cannot listen.
 */
export async function startProxy(
  options: StartProxyOptions,
): Promise<DcProxyHandle> {
  const addr = NalAddress.parse(
    options.listen ?? DC_PROXY_DEFAULT_ADDRESS,
    options.bufferSize ?? 0,
  );
  const maxConnections = options.maxConnections ?? defaultMaxConnections();
  if (!(maxConnections >= 1)) {
    throw new DcArgumentError(
      `invalid maxConnections ${maxConnections}: must be 1 or more`,
    );
  }
  const list = new NalListener({
    adapter: options.adapter,
    onError: options.onAcceptError,
    mode: options.socketMode,
    owner: options.socketOwner,
    tls: options.tls,
    allow: options.allow,
    onDenied: options.onDenied,
  });
  if (!(await list.create(addr))) throw list.error!;
  let proxy: DcProxy;
  try {
    proxy = new DcProxy(options);
  } catch (err) {
    await list.closeAndWait();
    throw err;
  }
  const loop = proxy.loop;
  let refused = 0;
  const acceptor = loop.accept(list, (conn) => proxy.addClient(conn), {
    maxConnections,
    onRefused: (count) => options.onRefused?.(count, maxConnections),
    countRefused: () => refused++,
  });
  // Stopped by close(), or by the loop ending (a shared loop closed, or a
  // visit that threw: then `finished` rejects with its error).
  const { finished, close } = loopService(loop, async () => {
    acceptor.remove();
    try {
      await proxy.close();
    } finally {
      await list.closeAndWait();
    }
  });
  return {
    addr: list.address(),
    proxy,
    serverUp: () => proxy.upstream.stats().established,
    stats: () => proxy.stats(),
    connectionsRefused: () => refused,
    connectionsDenied: () => list.denied(),
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}
