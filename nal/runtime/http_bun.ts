/**
 * The Bun HTTP adapter: `Bun.serve` (TCP and UNIX) and `fetch` (with its
 * `unix` option for UNIX targets).
 *
 * @module
 */

import { answerOf, fetchHandler, urlOf } from "./_http_fetch.ts";
import type { HttpAdapter, HttpHandler, RuntimeHttpServer } from "./http.ts";
import type { SocketTarget } from "./types.ts";

// The few members of Bun's HTTP API used here, so that the file
// type-checks without Bun's own type package.
interface BunHttpServer {
  readonly port?: number;
  stop(closeActive?: boolean): Promise<void> | void;
}

interface BunHttpGlobal {
  serve(
    options:
      & ({ hostname: string; port: number } | { unix: string })
      & { fetch: (request: Request) => Promise<Response> },
  ): BunHttpServer;
}

function bun(): BunHttpGlobal {
  return (globalThis as unknown as { Bun: BunHttpGlobal }).Bun;
}

/** HTTP through `Bun.serve` and `fetch`. */
export const bunHttp: HttpAdapter = {
  name: "bun",
  serve(
    target: SocketTarget,
    handler: HttpHandler,
  ): Promise<RuntimeHttpServer> {
    const fetch = fetchHandler(handler);
    const server = bun().serve(
      target.kind === "unix"
        ? { unix: target.path, fetch }
        : { hostname: target.host, port: target.port, fetch },
    );
    return Promise.resolve({
      target: target.kind === "tcp" && server.port !== undefined
        ? { ...target, port: server.port }
        : target,
      close: async () => {
        await server.stop(true);
      },
    });
  },
  async get(target, path, timeoutMs) {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = target.kind === "tcp"
      ? await fetch(urlOf(target.host, target.port, path), { signal })
      : await fetch(
        urlOf(null, 0, path),
        { signal, unix: target.path } as RequestInit,
      );
    return await answerOf(response);
  },
};
