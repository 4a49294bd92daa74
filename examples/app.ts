// A Deno or Bun app using the cache: `deno run -A app.ts` or `bun app.ts`,
// with a server running (`npm start` in the checkout).
import process from "node:process";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_RETRY,
  DcCtx,
} from "@distcache/distcache/dc_client";

// What `npm start` listens on; on a web host, its local proxy's address
// (`distcache client`, e.g. UNIX:/tmp/scache).
const cache = await DcCtx.create(
  process.env.DISTCACHE_ADDR ?? "UNIX:/tmp/dcserver",
  DC_CTX_FLAG_PERSISTENT | DC_CTX_FLAG_PERSISTENT_RETRY,
);

await cache.addSession("sid:1f2e3d", JSON.stringify({ user: 42 }), 30 * 60_000);
const raw = await cache.get("sid:1f2e3d"); // Uint8Array, or null
console.log(raw && JSON.parse(new TextDecoder().decode(raw))); // { user: 42 }
await cache.removeSession("sid:1f2e3d");
cache.close();
