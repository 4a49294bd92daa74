// The same with Hono and its session middleware (@hono/session), served by
// @hono/node-server:
//   DISTCACHE_ADDR=UNIX:/tmp/scache node hono_app.mjs
import process from "node:process";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { useSession, useSessionStorage } from "@hono/session";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";
import { distcacheStorage } from "@distcache/distcache/session";

const cache = await DcCtx.create(
  process.env.DISTCACHE_ADDR ?? "UNIX:/tmp/scache",
  DC_CTX_FLAG_PERSISTENT,
);
const app = new Hono()
  .use(useSessionStorage(distcacheStorage(cache, { ttlMs: 30 * 60_000 })))
  // 32 bytes of hex, the same on every host.
  .use(useSession({ secret: process.env.SESSION_SECRET ?? "ab".repeat(32) }))
  .get("/", async (c) => {
    const visits = ((await c.var.session.get())?.visits ?? 0) + 1;
    await c.var.session.update({ visits });
    return c.text(`visit ${visits}\n`);
  });

const server = serve({
  fetch: app.fetch,
  port: Number(process.env.PORT ?? 8080),
}, (info) => {
  console.log(`listening on ${info.port}`);
});
process.on("SIGTERM", () => server.close(() => cache.close()));
