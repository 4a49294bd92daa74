/**
 * The `node:http` adapter. It also runs under Deno and Bun (their Node
 * compatibility), which is how the tests exercise it everywhere.
 *
 * @module
 */

import * as http from "node:http";
import { concatBytes } from "../_util.ts";
import type {
  HttpAdapter,
  HttpAnswer,
  HttpHandler,
  RuntimeHttpServer,
} from "./http.ts";
import type { SocketTarget } from "./types.ts";

function respond(
  handler: HttpHandler,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  // A client speaking through a proxy-style UNIX connector (Deno's) sends
  // the absolute form, http://host/path: keep the path only.
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  Promise.resolve()
    .then(() => handler({ method: req.method ?? "GET", path }))
    .then(
      (reply) => {
        res.writeHead(reply.status, {
          ...reply.headers,
          "content-type": reply.contentType,
        });
        res.end(reply.body);
      },
      () => {
        // A failing handler answers 500; the server keeps serving.
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end("internal error\n");
      },
    );
}

/** HTTP through `node:http`. */
export const nodeHttp: HttpAdapter = {
  name: "node",
  serve(
    target: SocketTarget,
    handler: HttpHandler,
  ): Promise<RuntimeHttpServer> {
    const server = http.createServer((req, res) => respond(handler, req, res));
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const ready = () => {
        server.off("error", reject);
        server.on("error", () => {});
        const addr = server.address();
        resolve({
          target: target.kind === "tcp" && addr !== null &&
              typeof addr !== "string"
            ? { ...target, port: addr.port }
            : target,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections();
            }),
        });
      };
      if (target.kind === "unix") server.listen({ path: target.path }, ready);
      else server.listen({ host: target.host, port: target.port }, ready);
    });
  },
  get(target, path, timeoutMs): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const where = target.kind === "unix"
        ? { socketPath: target.path }
        : { host: target.host, port: target.port, family: target.family };
      const req = http.get({ ...where, path, agent: false }, (res) => {
        const chunks: Uint8Array[] = [];
        res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            body: new TextDecoder().decode(concatBytes(chunks)),
          });
        });
      });
      const timer = setTimeout(() => {
        req.destroy(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  },
};
