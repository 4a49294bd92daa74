// A Node app using the cache: `node app.mjs`, in a project that installed
// the package, with a server running (`npx distcache server`).
import process from "node:process";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";

const cache = await DcCtx.create(
  process.env.DISTCACHE_ADDR ?? "UNIX:/tmp/dcserver",
  DC_CTX_FLAG_PERSISTENT,
);
await cache.addSession("sid:1f2e3d", JSON.stringify({ user: 42 }), 30 * 60_000);
const raw = await cache.get("sid:1f2e3d");
console.log(raw && JSON.parse(new TextDecoder().decode(raw))); // { user: 42 }
await cache.removeSession("sid:1f2e3d");
cache.close();
