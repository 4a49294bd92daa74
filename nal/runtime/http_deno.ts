/**
 * The Deno HTTP adapter: `Deno.serve` (TCP and UNIX) and `fetch` (through
 * a UNIX-socket client for UNIX targets).
 *
 * @module
 */

import { answerOf, fetchHandler, urlOf } from "./_http_fetch.ts";
import type { HttpAdapter, HttpHandler, RuntimeHttpServer } from "./http.ts";
import type { SocketTarget } from "./types.ts";

// The few members of Deno's HTTP API used here, declared so that the file
// compiles with tsc for npm without Deno's type package.
declare namespace Deno {
  interface HttpServer {
    readonly addr:
      | { transport: "tcp"; hostname: string; port: number }
      | { transport: "unix"; path: string };
    shutdown(): Promise<void>;
  }
  type ServeOptions =
    & ({ hostname: string; port: number } | { path: string; transport: "unix" })
    & { onListen?: (addr: unknown) => void };
  function serve(
    options: ServeOptions,
    handler: (request: Request) => Promise<Response>,
  ): HttpServer;
  interface HttpClient {
    close(): void;
  }
  function createHttpClient(options: {
    proxy: { transport: "unix"; path: string };
  }): HttpClient;
}

/** HTTP through `Deno.serve` and `fetch`. */
export const denoHttp: HttpAdapter = {
  name: "deno",
  serve(
    target: SocketTarget,
    handler: HttpHandler,
  ): Promise<RuntimeHttpServer> {
    // onListen: Deno would otherwise print "Listening on ..." itself.
    const quiet = { onListen: () => {} };
    const server = Deno.serve(
      target.kind === "unix"
        ? { path: target.path, transport: "unix", ...quiet }
        : { hostname: target.host, port: target.port, ...quiet },
      fetchHandler(handler),
    );
    const addr = server.addr;
    return Promise.resolve({
      target: target.kind === "tcp" && addr.transport === "tcp"
        ? { ...target, port: addr.port }
        : target,
      close: () => server.shutdown(),
    });
  },
  async get(target, path, timeoutMs) {
    const signal = AbortSignal.timeout(timeoutMs);
    if (target.kind === "tcp") {
      return await answerOf(
        await fetch(urlOf(target.host, target.port, path), { signal }),
      );
    }
    const client = Deno.createHttpClient({
      proxy: { transport: "unix", path: target.path },
    });
    try {
      const init = { signal, client } as RequestInit;
      return await answerOf(await fetch(urlOf(null, 0, path), init));
    } finally {
      client.close();
    }
  },
};
