// What the Deno and Bun HTTP adapters share: both speak the fetch API
// (Request in, Response out), on the server and the client side.

import type { HttpAnswer, HttpHandler } from "./http.ts";

/** A fetch-style handler (Request to Response) calling `handler`. */
export function fetchHandler(
  handler: HttpHandler,
): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      const reply = await handler({
        method: request.method,
        path: new URL(request.url).pathname,
      });
      return new Response(reply.body, {
        status: reply.status,
        headers: { ...reply.headers, "content-type": reply.contentType },
      });
    } catch {
      // A failing handler answers 500; the server keeps serving.
      return new Response("internal error\n", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
  };
}

/** The URL of `path` on a TCP target (UNIX targets use any host). */
export function urlOf(host: string | null, port: number, path: string): string {
  if (host === null) return `http://localhost${path}`;
  const h = host.includes(":") ? `[${host}]` : host;
  return `http://${h}:${port}${path}`;
}

/** Reads a fetch Response into an {@linkcode HttpAnswer}. */
export async function answerOf(response: Response): Promise<HttpAnswer> {
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    body: await response.text(),
  };
}
