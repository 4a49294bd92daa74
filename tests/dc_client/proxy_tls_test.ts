// The proxy's link to its server over TLS, over every adapter: requests go
// through a mutual-TLS server, the link fails over (every request answered
// 2 while the server is away) and recovers when it is back, as the plain
// link does; a server certificate that does not verify keeps the link down.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  DC_CTX_FLAG_PERSISTENT,
  DcCtx,
  DcServerLink,
  type DcUpstreamLostEvent,
  startProxy,
} from "../../dc_client/mod.ts";
import { serve, type Server } from "../../dc_server/mod.ts";
import { availableAdapters, NalAllowList } from "../../nal/mod.ts";
import { makePki, type Pki } from "../_certs.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";
import { bytes, command, OP, RawClient } from "../_wire.ts";

let dir = "";
let pki: Pki;
before(() => {
  dir = makeTempDir("distcache-proxy-tls-");
  pki = makePki(dir);
});
after(() => removeDir(dir));

for (const adapter of availableAdapters()) {
  describe(`proxy link over TLS (${adapter.name})`, () => {
    const serverTls = () => ({
      cert: pki.server.cert,
      key: pki.server.key,
      ca: pki.ca,
    });

    it("serves through a mutual-TLS server, answers 2 while it is away, and recovers when it is back", async () => {
      let server: Server | null = await serve({
        adapter,
        listen: "IP:127.0.0.1:0",
        tls: serverTls(),
      });
      const addr = server.addr;
      const link = new DcServerLink(addr, {
        adapter,
        retryMs: 200,
        tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
      });
      const lost: DcUpstreamLostEvent[] = [];
      let back = 0;
      link.addEventListener("lost", (e) => lost.push(e));
      link.addEventListener("back", () => back++);
      const proxy = await startProxy({
        listen: `UNIX:${path.join(dir, `${adapter.name}.sock`)}`,
        upstream: link,
        adapter,
      });
      const ctx = await DcCtx.create(proxy.addr, DC_CTX_FLAG_PERSISTENT, {
        adapter,
      });
      const raw = await RawClient.connect(proxy.addr);
      try {
        await until(() => proxy.serverUp(), 5000, "the TLS link");
        assert.equal(await ctx.addSession("sid", "over TLS", 60_000), true);
        assert.equal(server.stats().adds, 1);
        await server.close();
        server = null;
        await until(() => lost.length === 1, 5000, "the lost event");
        raw.send(command(1, OP.HAVE, bytes("sid")));
        assert.deepEqual((await raw.answer()).payload, Uint8Array.of(2));
        server = await serve({ adapter, listen: addr, tls: serverTls() });
        await until(() => back === 1, 5000, "the back event");
        assert.equal(await ctx.addSession("sid", "back again", 60_000), true);
        raw.send(command(2, OP.HAVE, bytes("sid")));
        assert.deepEqual((await raw.answer()).payload, Uint8Array.of(0));
        assert.equal(server.stats().items, 1);
        assert.equal(lost.length, 1);
      } finally {
        raw.close();
        ctx.close();
        await proxy.close();
        await server?.close();
      }
    });

    it("a server whose certificate does not verify keeps the link down, each attempt a lost connection", async () => {
      const server = await serve({
        adapter,
        listen: "IP:127.0.0.1:0",
        tls: { cert: pki.server.cert, key: pki.server.key },
      });
      const link = new DcServerLink(server.addr, {
        adapter,
        retryMs: 100,
        tls: { ca: pki.otherCa },
      });
      const lost: DcUpstreamLostEvent[] = [];
      link.addEventListener("lost", (e) => lost.push(e));
      const proxy = await startProxy({
        listen: "IP:127.0.0.1:0",
        upstream: link,
        adapter,
      });
      const raw = await RawClient.connect(proxy.addr);
      try {
        await until(() => link.stats().attempts >= 3, 5000, "three attempts");
        assert.equal(link.stats().reconnects, 0);
        assert.equal(lost.length, 1, "one outage, told once");
        // The operator reads why: the runtime's own words for it.
        assert.match(lost[0].reason.message, /certificate|issuer|verify/i);
        raw.send(command(1, OP.HAVE, bytes("x")));
        assert.deepEqual((await raw.answer()).payload, Uint8Array.of(2));
        assert.equal(server.stats().operations, 0);
      } finally {
        raw.close();
        await proxy.close();
        await server.close();
      }
    });

    it("the proxy's own listener speaks TLS and keeps to its allow list", async () => {
      const server = await serve({ adapter, listen: "IP:127.0.0.1:0" });
      const denied: string[] = [];
      const proxy = await startProxy({
        listen: "IP:127.0.0.1:0",
        server: server.addr,
        adapter,
        tls: { cert: pki.server.cert, key: pki.server.key },
        allow: NalAllowList.parse("127.0.0.1"),
      });
      const closed = await startProxy({
        listen: "IP:127.0.0.1:0",
        server: server.addr,
        adapter,
        allow: NalAllowList.parse("192.0.2.0/24"),
        onDenied: (_count, address) => denied.push(address),
      });
      try {
        const ctx = await DcCtx.create(proxy.addr, DC_CTX_FLAG_PERSISTENT, {
          adapter,
          tls: { ca: pki.ca },
        });
        assert.equal(await ctx.addSession("tls-app", "12345678", 60_000), true);
        ctx.close();
        const c = await RawClient.connect(closed.addr);
        assert.ok(await c.waitClosed());
        c.close();
        await until(() => denied.length === 1, 5000, "the refusal");
        assert.equal(closed.stats().clientsTotal, 0);
      } finally {
        await proxy.close();
        await closed.close();
        await server.close();
      }
    });
  });
}
