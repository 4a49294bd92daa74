// A Deno or Bun app reaching a TLS cache server directly (no local proxy):
// `deno run -A tls.ts` or `bun tls.ts`, in the directory of the files.
import * as fs from "node:fs";
import process from "node:process";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "@distcache/distcache/dc_client";

const cache = await DcCtx.create(
  process.env.DISTCACHE_ADDR ?? "IP:10.0.0.5:9001",
  DC_CTX_FLAG_PERSISTENT,
  {
    tls: {
      ca: fs.readFileSync("ca.crt"), // the only CA trusted for the server
      cert: fs.readFileSync("web1.crt"), // this host's certificate (-tls-ca)
      key: fs.readFileSync("web1.key"),
      // serverName: "cache1", // the name to check, if not the address's host
    },
  },
);
await cache.addSession("sid:tls", "sent over TLS", 60_000);
console.log(new TextDecoder().decode((await cache.get("sid:tls"))!)); // sent over TLS
cache.close();
