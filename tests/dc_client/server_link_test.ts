// DcServerLink, the proxy's upstream: reconnects with a growing delay and
// says so in typed events, gives up on a server that stops answering, and
// keeps requests in flight within its bounds (count and bytes).

import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as path from "node:path";
import {
  DcProxy,
  DcServerLink,
  type DcUpstreamLostEvent,
  startProxy,
} from "../../dc_client/mod.ts";
import { serve } from "../../dc_server/mod.ts";
import {
  addPayload,
  bytes,
  command,
  concat,
  frame,
  OP,
  RawClient,
} from "../_wire.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";

// A server that answers every request 1 (no such session), but only when
// the test says, and counts what it holds unanswered: requests and bytes.
class HoldingServer {
  readonly server: net.Server;
  readonly sockets: net.Socket[] = [];
  held: { uid: number; op: number; bytes: number }[] = [];
  maxCount = 0;
  maxBytes = 0;
  // The largest bytes outstanding while more than one request was.
  maxBytesShared = 0;
  answering = false;

  constructor() {
    this.server = net.createServer((s) => {
      // What an earlier connection left unanswered is forgotten.
      this.sockets.push(s);
      this.held = [];
      let buf: Uint8Array = new Uint8Array(0);
      let partial = 0;
      s.on("data", (d: Uint8Array) => {
        buf = concat([buf, d]);
        while (buf.length >= 14) {
          const len = (buf[12] << 8) | buf[13];
          if (buf.length < 14 + len) break;
          const v = new DataView(buf.buffer, buf.byteOffset);
          partial += 14 + len;
          // A command ends with its frame marked complete.
          if (buf[11] === 1) {
            this.held.push({
              uid: v.getUint32(5),
              op: buf[10],
              bytes: partial,
            });
            partial = 0;
          }
          buf = buf.slice(14 + len);
        }
        const count = this.held.length;
        const total = this.held.reduce((n, h) => n + h.bytes, 0);
        this.maxCount = Math.max(this.maxCount, count);
        this.maxBytes = Math.max(this.maxBytes, total);
        if (count > 1) {
          this.maxBytesShared = Math.max(this.maxBytesShared, total);
        }
        if (this.answering) this.answerAll();
      });
      s.on("error", () => {});
    });
  }

  listen(sock: string): Promise<void> {
    return new Promise((resolve) => this.server.listen(sock, resolve));
  }

  answerAll(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) {
      this.sockets.at(-1)?.write(
        frame({ uid: h.uid, op: h.op, response: true, data: Uint8Array.of(1) }),
      );
    }
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe("DcServerLink", () => {
  let tmp = "";
  beforeEach(() => {
    tmp = makeTempDir("distcache-link-");
  });
  afterEach(() => removeDir(tmp));

  // A proxy in front of `upstream`, and one raw client of it.
  const proxied = async (upstream: DcServerLink) => {
    const proxy = await startProxy({
      listen: `UNIX:${path.join(tmp, "p.sock")}`,
      upstream,
    });
    const c = await RawClient.connect(proxy.addr);
    return {
      c,
      close: async () => {
        c.close();
        await proxy.close();
      },
    };
  };

  it("retries a server that is not there after 100 ms, then twice as late each time, up to retryMs; lost is told once", async () => {
    const link = new DcServerLink(`UNIX:${path.join(tmp, "nobody.sock")}`, {
      retryMs: 400,
    });
    const delays: number[] = [];
    const lost: DcUpstreamLostEvent[] = [];
    link.addEventListener("retry", (e) => delays.push(e.delayMs));
    link.addEventListener("lost", (e) => lost.push(e));
    const proxy = new DcProxy({ upstream: link });
    try {
      await until(() => delays.length >= 5, 5000, "five retries");
      assert.deepEqual(delays.slice(0, 5), [100, 200, 400, 400, 400]);
      assert.equal(lost.length, 1, "one outage, one lost event");
      assert.equal(lost[0].failed, 0);
      assert.ok(link.stats().attempts >= 5);
      assert.equal(link.up, false);
    } finally {
      await proxy.close();
    }
  });

  it("a server that comes up is found on a retry: back is told, and requests go through", async () => {
    const addr = `UNIX:${path.join(tmp, "late.sock")}`;
    const link = new DcServerLink(addr, { retryMs: 200 });
    const back: number[] = [];
    link.addEventListener("back", (e) => back.push(e.downMs));
    const { c, close } = await proxied(link);
    try {
      c.send(command(1, OP.HAVE, bytes("x")));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(2), "down: 2");
      await using server = await serve({ listen: addr });
      await until(() => back.length === 1, 5000, "the back event");
      assert.ok(back[0] > 0);
      c.send(command(2, OP.ADD, addPayload("s", "back again", 60_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      assert.equal(link.stats().reconnects, 1);
      assert.equal(server.stats().adds, 1);
    } finally {
      await close();
    }
  });

  it("a server that stops answering: after timeoutMs its requests are answered 2, the link is lost (ERR_TIMEOUT) and made again", async () => {
    const sock = path.join(tmp, "mute.sock");
    const mute = new HoldingServer();
    await mute.listen(sock);
    const link = new DcServerLink(`UNIX:${sock}`, { timeoutMs: 200 });
    const lost: DcUpstreamLostEvent[] = [];
    link.addEventListener("lost", (e) => lost.push(e));
    const { c, close } = await proxied(link);
    try {
      c.send(concat([
        command(1, OP.GET, bytes("a")),
        command(2, OP.GET, bytes("b")),
      ]));
      const a = await c.answer(10_000);
      const b = await c.answer(10_000);
      assert.deepEqual([a.uid, b.uid], [1, 2]);
      assert.deepEqual([a.payload, b.payload], [
        Uint8Array.of(2),
        Uint8Array.of(2),
      ]);
      assert.equal(lost.length, 1);
      assert.equal(lost[0].failed, 2);
      assert.equal((lost[0].reason as { code?: string }).code, "ERR_TIMEOUT");
      assert.equal(link.stats().timeouts, 1);
      // Made again: a server that answers now is used.
      mute.answering = true;
      await until(() => mute.sockets.length === 2, 5000, "a new link");
      await until(() => link.established, 5000, "the new link");
      c.send(command(3, OP.GET, bytes("c")));
      const d = await c.answer(10_000);
      assert.equal(d.uid, 3);
      assert.deepEqual(d.payload, Uint8Array.of(1), "answered by the server");
    } finally {
      await close();
      await mute.close();
    }
  });

  it("keeps at most `pipeline` requests in flight, and at most 4096 bytes of them unless one alone is larger", async () => {
    const sock = path.join(tmp, "hold.sock");
    const holding = new HoldingServer();
    await holding.listen(sock);
    const proxy = await startProxy({
      listen: `UNIX:${path.join(tmp, "p.sock")}`,
      server: `UNIX:${sock}`,
      pipeline: 8,
      timeoutMs: 30_000,
    });
    const clients = await Promise.all(
      Array.from({ length: 5 }, () => RawClient.connect(proxy.addr)),
    );
    try {
      // Small requests, ADDs of 1500 bytes, and one of 6000.
      clients.forEach((c, k) => {
        const reqs = [];
        for (let i = 0; i < 20; i++) {
          reqs.push(command(i, OP.HAVE, bytes(`id-${k}-${i}`)));
          if (i % 2 === 0) {
            reqs.push(
              command(
                100 + i,
                OP.ADD,
                addPayload(`a-${k}-${i}`, new Uint8Array(1500), 60_000),
              ),
            );
          }
        }
        if (k === 0) {
          reqs.push(
            command(
              999,
              OP.ADD,
              addPayload("big", new Uint8Array(6000), 60_000),
            ),
          );
        }
        c.send(concat(reqs));
      });
      const total = 5 * 30 + 1;
      let answered = 0;
      const counts = clients.map(() => 0);
      while (answered < total) {
        await until(() => holding.held.length > 0, 5000, "requests");
        // Let every request the proxy is willing to send arrive.
        await new Promise((r) => setTimeout(r, 20));
        const n = holding.held.length;
        holding.answerAll();
        answered += n;
      }
      for (let k = 0; k < clients.length; k++) {
        while (counts[k] < 30 + (k === 0 ? 1 : 0)) {
          await clients[k].answer();
          counts[k]++;
        }
      }
      assert.ok(holding.maxCount <= 8, `${holding.maxCount} in flight`);
      assert.ok(holding.maxCount >= 2, "requests were pipelined");
      // The C server's read buffer.
      assert.ok(
        holding.maxBytesShared <= 4096,
        `${holding.maxBytesShared} bytes in flight together`,
      );
      assert.ok(holding.maxBytes > 4096, "the big one went alone");
    } finally {
      for (const c of clients) c.close();
      await proxy.close();
      await holding.close();
    }
  });

  it("an answer to a request never asked breaks the link: what is in flight is answered 2", async () => {
    const sock = path.join(tmp, "liar.sock");
    const liar = net.createServer((s) => {
      s.on("data", () => {
        s.write(
          frame({
            uid: 12345,
            op: OP.HAVE,
            response: true,
            data: Uint8Array.of(0),
          }),
        );
      });
      s.on("error", () => {});
    });
    await new Promise<void>((r) => liar.listen(sock, r));
    const link = new DcServerLink(`UNIX:${sock}`);
    const lost: DcUpstreamLostEvent[] = [];
    link.addEventListener("lost", (e) => lost.push(e));
    const { c, close } = await proxied(link);
    try {
      c.send(command(1, OP.HAVE, bytes("x")));
      const ans = await c.answer();
      assert.equal(ans.uid, 1);
      assert.deepEqual(ans.payload, Uint8Array.of(2));
      assert.equal((lost[0].reason as { code?: string }).code, "ERR_PROTOCOL");
      assert.match(lost[0].reason.message, /request_uid 12345/);
    } finally {
      await close();
      await new Promise((r) => liar.close(r));
    }
  });

  it("refuses options out of range, naming them", () => {
    assert.throws(
      () => new DcServerLink("IP:127.0.0.1:1", { pipeline: 0 }),
      /invalid pipeline: 0; must be an integer from 1/,
    );
    assert.throws(
      () => new DcServerLink("IP:127.0.0.1:1", { timeoutMs: 1.5 }),
      /invalid timeoutMs/,
    );
    assert.throws(
      () => new DcServerLink("IP:9001"),
      /listen-only/,
    );
    assert.throws(() => new DcProxy({}), /server address/);
    assert.throws(
      () => new DcProxy({ server: "IP:127.0.0.1:1", clientBytes: 100 }),
      /invalid clientBytes: 100; must be an integer from 65536/,
    );
  });
});
