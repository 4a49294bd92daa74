// The same with Bun: `bun web_bun.ts`.
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";

const sessions = await DcCtx.create(
  Bun.env.DISTCACHE_ADDR ?? "UNIX:/tmp/dcserver",
  DC_CTX_FLAG_PERSISTENT,
);

const server = Bun.serve({
  port: Number(Bun.env.PORT ?? 8080),
  async fetch(req) {
    const sid = req.headers.get("x-session") ?? crypto.randomUUID();
    const seen = await sessions.get(sid);
    const visits = seen
      ? JSON.parse(new TextDecoder().decode(seen)).visits + 1
      : 1;
    await sessions.removeSession(sid);
    await sessions.addSession(sid, JSON.stringify({ visits }), 15 * 60_000);
    return new Response(`visit ${visits}\n`, { headers: { "x-session": sid } });
  },
});
console.log(`listening on ${server.port}`);
