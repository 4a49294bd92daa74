// One HTTPS host of a web farm: TLS 1.2 sessions and TLS 1.3 ticket keys
// shared with the other hosts through the cache, so that a client resumes
// on whichever host it reaches. Run one per host (same certificate, same
// sessionIdContext):
//   DISTCACHE_ADDR=UNIX:/tmp/scache TLS_CERT=cert.pem TLS_KEY=key.pem node tls_host.mjs
import * as fs from "node:fs";
import * as https from "node:https";
import process from "node:process";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_RETRY,
  DcCtx,
} from "@distcache/distcache/dc_client";
import { shareTicketKeys, useSessionCache } from "@distcache/distcache/tls";

const cache = await DcCtx.create(
  process.env.DISTCACHE_ADDR ?? "UNIX:/tmp/scache",
  DC_CTX_FLAG_PERSISTENT | DC_CTX_FLAG_PERSISTENT_RETRY,
);
const server = https.createServer({
  cert: fs.readFileSync(process.env.TLS_CERT ?? "cert.pem"),
  key: fs.readFileSync(process.env.TLS_KEY ?? "key.pem"),
  sessionIdContext: "my-web-farm", // the same on every host
}, (_req, res) => res.end("hello\n"));
const detach = useSessionCache(server, cache); // TLS 1.2 session ids
const keys = await shareTicketKeys(server, cache); // tickets, TLS 1.3 and 1.2

server.listen(Number(process.env.PORT ?? 8443), () => {
  console.log(`listening on ${server.address().port}`);
});
process.on("SIGTERM", () => {
  detach();
  keys.close();
  server.close(() => cache.close());
});
