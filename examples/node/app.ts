// The same app in TypeScript, type-checked with `tsc -p .` (tsconfig.json
// here): the package's .d.ts need only @types/node.
import process from "node:process";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";

const cache: DcCtx = await DcCtx.create(
  process.env.DISTCACHE_ADDR ?? "UNIX:/tmp/dcserver",
  DC_CTX_FLAG_PERSISTENT,
);
await cache.addSession("sid:1f2e3d", JSON.stringify({ user: 42 }), 30 * 60_000);
const raw: Uint8Array | null = await cache.get("sid:1f2e3d");
const session: { user: number } | null = raw &&
  JSON.parse(new TextDecoder().decode(raw));
console.log(session?.user); // 42
await cache.removeSession("sid:1f2e3d");
cache.close();
