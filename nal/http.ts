/**
 * A small HTTP server and client on libnal addresses (`IP:127.0.0.1:9101`,
 * `UNIX:/run/distcache/stats.sock`), over the runtime's own HTTP
 * implementation: what the tools' monitoring endpoints (`-stats`) and
 * `distcache stats` are made of.
 *
 * @module
 */

import { formatTarget, NalAddress } from "./address.ts";
import { NalAddressError, NalSocketError } from "./errors.ts";
import { prepareUnixPath } from "./listener.ts";
import {
  defaultHttpAdapter,
  type HttpAdapter,
  type HttpAnswer,
  type HttpHandler,
  type RuntimeHttpServer,
} from "./runtime/http.ts";
import { defaultAdapter } from "./runtime/mod.ts";
import { parentExists, removeFile, socketInode } from "./runtime/unix_path.ts";

/** Options for {@linkcode NalHttpServer.listen} and {@linkcode nalHttpGet}. */
export interface NalHttpOptions {
  /** The runtime's HTTP implementation. @default {defaultHttpAdapter()} */
  adapter?: HttpAdapter;
}

/**
 * An HTTP server listening on a libnal address. A UNIX socket file is
 * treated as socket listeners treat theirs: a stale one is replaced, a live
 * server's or any other file is refused, and it is removed at close if it
 * is still this server's.
 *
 * @example Serve one path, fetch it
 * ```ts
 * import assert from "node:assert/strict";
 * import { nalHttpGet, NalHttpServer } from "@distcache/distcache/nal";
 *
 * const server = await NalHttpServer.listen("IP:127.0.0.1:0", (req) => ({
 *   status: req.path === "/hello" ? 200 : 404,
 *   contentType: "text/plain",
 *   body: "hello\n",
 * }));
 * const answer = await nalHttpGet(server.addr, "/hello");
 * assert.equal(answer.body, "hello\n");
 * await server.close();
 * ```
 */
export class NalHttpServer {
  /** The address listened on (with the real port when port 0 was asked). */
  readonly addr: string;
  readonly #runtime: RuntimeHttpServer;
  readonly #unixPath: string | null;
  readonly #unixInode: number;
  #closing: Promise<void> | null = null;

  private constructor(runtime: RuntimeHttpServer) {
    this.#runtime = runtime;
    this.addr = formatTarget(runtime.target);
    this.#unixPath = runtime.target.kind === "unix"
      ? runtime.target.path
      : null;
    this.#unixInode = this.#unixPath === null
      ? -1
      : socketInode(this.#unixPath);
  }

  /**
   * Listens on `address` and answers every request with `handler`.
   *
   * @throws {NalAddressError} for a bad or unusable address.
   * @throws {NalSocketError} (code `ERR_LISTEN`, `ERR_ADDRESS_IN_USE`) when
   *   it cannot listen.
   */
  static async listen(
    address: string,
    handler: HttpHandler,
    options: NalHttpOptions = {},
  ): Promise<NalHttpServer> {
    const addr = NalAddress.parse(address);
    if (!addr.canListen()) {
      throw new NalAddressError(`cannot listen on "${address}"`);
    }
    const target = addr.target();
    if (target.kind === "unix") {
      if (!parentExists(target.path)) {
        throw new NalSocketError(
          "ERR_LISTEN",
          `cannot listen on "${address}": directory does not exist`,
        );
      }
      const problem = await prepareUnixPath(
        defaultAdapter(),
        target.path,
        address,
      );
      if (problem !== null) throw problem;
    }
    const adapter = options.adapter ?? defaultHttpAdapter();
    try {
      return new NalHttpServer(await adapter.serve(target, handler));
    } catch (err) {
      const inUse = /in use|EADDRINUSE|AddrInUse/i.test(String(err)) ||
        (err as { code?: string }).code === "EADDRINUSE";
      throw new NalSocketError(
        inUse ? "ERR_ADDRESS_IN_USE" : "ERR_LISTEN",
        `cannot listen on "${address}": ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Stops listening and closes open connections; a UNIX socket file that is
   * still this server's is removed.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      await this.#runtime.close();
      const path = this.#unixPath;
      if (path !== null && socketInode(path) === this.#unixInode) {
        removeFile(path);
      }
    })();
  }

  /** Same as {@linkcode NalHttpServer.prototype.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * GETs `path` from an HTTP server at a libnal address.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalHttpServer, nalHttpGet } from "@distcache/distcache/nal";
 *
 * const http = await NalHttpServer.listen("IP:127.0.0.1:0", () => ({
 *   status: 200,
 *   contentType: "application/json",
 *   body: '{"ok":true}',
 * }));
 * const stats = await nalHttpGet(http.addr, "/stats");
 * assert.deepEqual(JSON.parse(stats.body), { ok: true });
 * await http.close();
 * ```
 *
 * @param address Where the server listens, e.g. `IP:127.0.0.1:9101`.
 * @param path The path, e.g. `/stats`.
 * @param options `timeoutMs` (default 5000) and the adapter.
 * @throws {NalAddressError} for a bad or listen-only address.
 * @throws {NalSocketError} (code `ERR_CONNECT`) when no answer came.
 */
export async function nalHttpGet(
  address: string,
  path: string,
  options: NalHttpOptions & { timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const addr = NalAddress.parse(address);
  if (!addr.canConnect()) {
    throw new NalAddressError(
      `cannot connect to "${address}": a listen-only address (give the host, e.g. IP:127.0.0.1:9101)`,
    );
  }
  const adapter = options.adapter ?? defaultHttpAdapter();
  try {
    return await adapter.get(addr.target(), path, options.timeoutMs ?? 5000);
  } catch (err) {
    throw new NalSocketError(
      "ERR_CONNECT",
      `cannot GET ${path} from "${address}": ${(err as Error).message}`,
      { cause: err },
    );
  }
}
