// One web host of a farm, as its own process, for the end-to-end tests:
// an HTTPS server sharing TLS sessions and ticket keys through the cache.
//
//   <runtime> _https_host.ts -cache ADDR -cert FILE -key FILE [-name N]
//
// Prints "listening <port>" once serving, "tickets: <mode>" (or
// "tickets: unsupported: <why>"), and "stopped" after SIGTERM.

import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import process from "node:process";
import { parseArgs } from "node:util";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_LATE,
  DC_CTX_FLAG_PERSISTENT_RETRY,
  DcCtx,
} from "../../dc_client/mod.ts";
import { shareTicketKeys, useSessionCache } from "../../tls/mod.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    cache: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    name: { type: "string", default: "host" },
  },
});

// LATE: the host starts (and serves) whether or not the cache is up.
const cache = await DcCtx.create(
  values.cache!,
  DC_CTX_FLAG_PERSISTENT | DC_CTX_FLAG_PERSISTENT_RETRY |
    DC_CTX_FLAG_PERSISTENT_LATE,
  { timeoutMs: 1000 },
);
const server = https.createServer({
  key: fs.readFileSync(values.key!),
  cert: fs.readFileSync(values.cert!),
  sessionIdContext: "distcache-e2e",
}, (_req, res) => res.end(`hello from ${values.name}\n`));
// A lookup bound far above the default: a loaded CI machine must not turn
// a resumption into a full handshake here.
const detach = useSessionCache(server, cache, { lookupTimeoutMs: 2000 });
let keys: { close(): void } | null = null;
try {
  const handle = await shareTicketKeys(server, cache);
  keys = handle;
  console.log(`tickets: ${handle.state.mode}`);
} catch (err) {
  console.log(`tickets: unsupported: ${(err as Error).message}`);
}
server.listen(0, "127.0.0.1", () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
process.on("SIGTERM", () => {
  detach();
  keys?.close();
  cache.close();
  server.closeAllConnections?.();
  server.close(() => {
    console.log("stopped");
    process.exit(0);
  });
});
