// A Node HTTPS host for the tls bench section (`bench/sections/tls.ts`),
// on the npm build (dist/): one way of resuming TLS 1.2 sessions each.
//
//   node bench/tls_host.mjs MODE PORT CERT KEY [CACHE]
//
// MODE: "cache" (useSessionCache on a DcCtx to CACHE, no tickets),
// "memory" (the same events on a Map in this process, no tickets),
// "tickets" (Node's own session tickets). GET /lookups answers the
// durations of the session lookups since the last ask (JSON, microseconds):
// the time each resumed handshake waited for its session.

import * as fs from "node:fs";
import * as https from "node:https";
import { constants } from "node:crypto";
import { Buffer } from "node:buffer";
import process from "node:process";
// The npm build is loaded by URL: `deno task check` runs before any build,
// and a static import of dist/ would fail it on a fresh clone.
const dist = (entry) =>
  new URL(`../dist/${entry}/mod.js`, import.meta.url).href;
const { DC_CTX_FLAG_PERSISTENT, DcCtx } = await import(dist("dc_client"));
const { useSessionCache } = await import(dist("tls"));

const [mode, port, certFile, keyFile, cacheAddr] = process.argv.slice(2);
const server = https.createServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
  sessionIdContext: "distcache-bench",
  secureOptions: mode === "tickets" ? 0 : constants.SSL_OP_NO_TICKET,
}, (req, res) => {
  if (req.url !== "/lookups") return res.end("ok\n");
  res.end(JSON.stringify(lookups.splice(0)));
});

const lookups = [];
// The lookups of a store, timed from the ask to the answer.
const timed = (store) => ({
  addSession: (id, data, ms) => store.addSession(id, data, ms),
  async get(id) {
    const t0 = performance.now();
    try {
      return await store.get(id);
    } finally {
      lookups.push((performance.now() - t0) * 1000);
    }
  },
});

if (mode === "cache") {
  useSessionCache(
    server,
    timed(await DcCtx.create(cacheAddr, DC_CTX_FLAG_PERSISTENT)),
  );
} else if (mode === "memory") {
  const sessions = new Map();
  // The same events and store calls as "cache", on a Map.
  useSessionCache(
    server,
    timed({
      addSession: (id, data) => {
        sessions.set(Buffer.from(id).toString("hex"), data);
        return Promise.resolve(true);
      },
      get: (id) =>
        Promise.resolve(sessions.get(Buffer.from(id).toString("hex")) ?? null),
    }),
  );
}
server.listen(Number(port), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
