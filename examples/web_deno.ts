// A Deno web app keeping a visit count per session in the cache:
// `deno run -A web_deno.ts`, then `curl -i localhost:8080` (send the
// x-session header it answers back to count on).
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";

const sessions = await DcCtx.create(
  Deno.env.get("DISTCACHE_ADDR") ?? "UNIX:/tmp/dcserver",
  DC_CTX_FLAG_PERSISTENT,
);

Deno.serve({
  port: Number(Deno.env.get("PORT") ?? 8080),
  onListen: ({ port }) => console.log(`listening on ${port}`),
}, async (req) => {
  const sid = req.headers.get("x-session") ?? crypto.randomUUID();
  const seen = await sessions.get(sid);
  const visits = seen
    ? JSON.parse(new TextDecoder().decode(seen)).visits + 1
    : 1;
  await sessions.removeSession(sid);
  await sessions.addSession(sid, JSON.stringify({ visits }), 15 * 60_000);
  return new Response(`visit ${visits}\n`, { headers: { "x-session": sid } });
});
