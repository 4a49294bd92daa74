// The proxy as operators run it (`distcache client` and `distcache server`
// processes): one local client's malformed request never cuts the others
// off, a server that stops answering costs a timeout and then `2`, not a
// wait forever, and a client that half-closes gets every answer.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { CliSandbox, listenAddr } from "../_cli.ts";
import { until } from "../_servers.ts";
import { addPayload, bytes, command, concat, OP, RawClient } from "../_wire.ts";

// An ADD frame whose payload is 0 bytes: the server drops a connection
// that sends it.
const SHORT_ADD = Uint8Array.from(
  "0011000000000000010000010000".match(/../g)!,
  (h) => parseInt(h, 16),
);

describe("distcache client isolates its local clients", () => {
  const box = new CliSandbox("distcache-proxy-iso-");

  const startPair = async (name: string, proxyArgs: string[] = []) => {
    const server = await box.start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, `${name}-s.sock`)}`,
    ]);
    const proxy = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, `${name}-p.sock`)}`,
      "-server",
      listenAddr(server),
      ...proxyArgs,
    ]);
    return { server, proxy, addr: listenAddr(proxy) };
  };

  it("the 14-byte ADD, sent again and again by one client, never fails another client's GET", async () => {
    const { addr } = await startPair("short");
    const ctxs = await Promise.all(
      Array.from(
        { length: 4 },
        () => DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT),
      ),
    );
    try {
      assert.equal(
        await ctxs[0].addSession("kept", "kept session", 600_000),
        true,
      );
      let stop = false;
      let sent = 0;
      let dropped = 0;
      const attacker = (async () => {
        while (!stop) {
          const bad = await RawClient.connect(addr);
          bad.send(SHORT_ADD);
          sent++;
          if (await bad.waitClosed(2000)) dropped++;
          bad.close();
        }
      })();
      const results = await Promise.all(ctxs.map(async (ctx) => {
        let ok = 0;
        let failed = 0;
        while (sent < 30) {
          const got = await ctx.get("kept");
          if (
            got !== null && new TextDecoder().decode(got) === "kept session"
          ) {
            ok++;
          } else failed++;
        }
        return { ok, failed };
      }));
      stop = true;
      await attacker;
      for (const r of results) {
        assert.equal(r.failed, 0, `${r.failed} GETs failed, ${r.ok} succeeded`);
        assert.ok(r.ok > 0);
      }
      assert.equal(
        dropped,
        sent,
        "each sender is dropped, as the server would",
      );
    } finally {
      for (const ctx of ctxs) ctx.close();
    }
  });

  it("a server stopped with SIGSTOP: a GET through the proxy is answered 2 after -timeout; after SIGCONT, service resumes", async () => {
    const { server, addr } = await startPair("stop", ["-timeout", "400"]);
    const c = await RawClient.connect(addr);
    try {
      c.send(command(1, OP.ADD, addPayload("s", "stopped data", 600_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      server.signal("SIGSTOP");
      try {
        c.send(command(2, OP.GET, bytes("s")));
        // Far longer than -timeout: without one, the proxy waits forever.
        const ans = await c.answer(15_000);
        assert.equal(ans.uid, 2);
        assert.deepEqual(ans.payload, Uint8Array.of(2), "DC_ERR_DISCONNECTED");
      } finally {
        server.signal("SIGCONT");
      }
      let uid = 10;
      await until(
        async () => {
          c.send(command(++uid, OP.GET, bytes("s")));
          const ans = await c.answer(15_000);
          assert.equal(ans.uid, uid);
          return new TextDecoder().decode(ans.payload) === "stopped data";
        },
        15_000,
        "service to resume",
      );
    } finally {
      c.close();
    }
  });

  it("a client that pipelines 100 GETs of 32 KB sessions and half-closes gets every answer, then the close", async () => {
    const { addr } = await startPair("half");
    const id = "half";
    const data = new Uint8Array(32768 - 8 - id.length).map((_, i) =>
      (i * 13) & 0xff
    );
    const c = await RawClient.connect(addr);
    try {
      c.send(command(1, OP.ADD, addPayload(id, data, 600_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      const gets = [];
      for (let i = 0; i < 100; i++) {
        gets.push(command(100 + i, OP.GET, bytes(id)));
      }
      c.send(concat(gets));
      c.socket.end();
      for (let i = 0; i < 100; i++) {
        const ans = await c.answer(10_000).catch((err: Error) => {
          throw new Error(`answer ${i + 1} of 100: ${err.message}`);
        });
        assert.equal(ans.uid, 100 + i);
        assert.deepEqual(ans.payload, data, `answer ${i + 1}`);
      }
      assert.ok(await c.waitClosed(), "the proxy closed after answering");
      assert.equal(c.buffered, 0, "nothing after the last answer");
    } finally {
      c.close();
    }
  });

  it("-min-timeout 300000: an ADD of 100 ms through the proxy is still there 600 ms later", async () => {
    const { addr } = await startPair("floor", ["-min-timeout", "300000"]);
    const ctx = await DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT);
    try {
      assert.equal(await ctx.addSession("apache", "apache session", 100), true);
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(await ctx.hasSession("apache"), true);
    } finally {
      ctx.close();
    }
  });
});
