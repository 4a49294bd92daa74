// A cache server inside an app of your own (Deno or Bun): what
// `distcache server` runs, with its options in code.
import process from "node:process";
import { serve } from "@distcache/distcache/dc_server";

const server = await serve({
  listen: process.env.DISTCACHE_LISTEN ?? "IP:0.0.0.0:9001",
  sessions: 1_000_000,
});
console.log(`listening on ${server.addr}`, server.stats());
process.on("SIGTERM", () => server.close());
await server.finished;
