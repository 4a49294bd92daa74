// The proxy engine (DcProxy behind startProxy) in this process, in front of
// a real server, driven over real sockets by hand-built frames: every
// request is checked as the server would check it, answers come back in
// request order, and nothing one local client sends reaches the others or
// the shared link.

import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  addPayload,
  addsAndGetsInOrder,
  bytes,
  command,
  concat,
  OP,
} from "../_wire.ts";
import { laterStore, matrix, until } from "../_servers.ts";
import { ProxyRig } from "./_proxy.ts";

// The 14-byte frame of issue 10: an ADD whose payload is 0 bytes long.
const SHORT_ADD = Uint8Array.from(
  "0011000000000000010000010000".match(/../g)!,
  (h) => parseInt(h, 16),
);

// ADDs the server refuses, with the code it answers.
const REFUSED: [string, Uint8Array, number][] = [
  ["lifetime over 7 days", addPayload("id", "data!", 604_800_001), 102],
  ["id length 0", addPayload("", "data!", 60_000), 103],
  ["id of 65 bytes", addPayload("x".repeat(65), "data!", 60_000), 103],
  ["no data (id length = rest)", addPayload("only-id", "", 60_000), 100],
  [
    "id length past the payload",
    (() => {
      const p = addPayload("abc", "data!", 60_000);
      new DataView(p.buffer).setUint32(4, 500);
      return p;
    })(),
    100,
  ],
];

for (const { adapter, transport, label } of matrix()) {
  describe(`proxy engine over ${label}`, () => {
    let rig: ProxyRig | null = null;
    const start = async (store?: typeof laterStore, minTimeoutMs = 0) => {
      rig = await ProxyRig.start(transport, adapter, {
        server: { cache: store },
        proxy: { minTimeoutMs },
      });
      return rig;
    };
    afterEach(async () => {
      await rig?.close();
      rig = null;
    });

    it("ADDs and GETs pipelined through the proxy are answered in order", async () => {
      const r = await start();
      await addsAndGetsInOrder(await r.connect(), 50, "p-");
    });

    for (const [what, payload, code] of REFUSED) {
      it(`an ADD with ${what} is answered ${code} by the proxy, as the server answers it, and never forwarded`, async () => {
        const r = await start();
        const direct = await r.connect(r.server.addr);
        direct.send(command(5, OP.ADD, payload));
        const fromServer = await direct.answer();
        assert.deepEqual(fromServer.payload, Uint8Array.of(code));
        const c = await r.connect();
        c.send(command(6, OP.ADD, payload));
        const ans = await c.answer();
        assert.equal(ans.uid, 6);
        assert.equal(ans.op, OP.ADD);
        assert.deepEqual(ans.payload, fromServer.payload);
        assert.equal(r.proxy.stats().forwarded, 0);
        assert.equal(r.proxy.stats().refused, 1);
      });
    }

    it("GET, HAVE and REMOVE of an empty or 65-byte id are answered 1, as the server answers them", async () => {
      const r = await start();
      const c = await r.connect();
      for (
        const [uid, op, id] of [[1, OP.GET, ""], [2, OP.HAVE, ""], [
          3,
          OP.REMOVE,
          "y".repeat(65),
        ]] as const
      ) {
        c.send(command(uid, op, bytes(id)));
        const ans = await c.answer();
        assert.equal(ans.uid, uid);
        assert.deepEqual(ans.payload, Uint8Array.of(1));
      }
      assert.equal(r.proxy.stats().forwarded, 0);
    });

    it("answers the proxy gives itself wait their turn behind answers still at the server", async () => {
      // A slow store: the GET is at the server while the malformed ADD
      // behind it is answered by the proxy at once.
      const r = await start(laterStore);
      const c = await r.connect();
      c.send(command(1, OP.ADD, addPayload("slow", "slow data", 60_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      c.send(concat([
        command(10, OP.GET, bytes("slow")),
        command(11, OP.ADD, addPayload("", "data!", 60_000)),
        command(12, OP.HAVE, bytes("slow")),
        command(13, OP.GET, bytes("")),
      ]));
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await c.answer());
      assert.deepEqual(answers.map((a) => a.uid), [10, 11, 12, 13]);
      assert.equal(new TextDecoder().decode(answers[0].payload), "slow data");
      assert.deepEqual(answers[1].payload, Uint8Array.of(103));
      assert.deepEqual(answers[2].payload, Uint8Array.of(0));
      assert.deepEqual(answers[3].payload, Uint8Array.of(1));
    });

    it("the 14-byte ADD drops only the client that sent it: the link stays up, the others are answered", async () => {
      const r = await start();
      const good = await r.connect();
      good.send(command(1, OP.ADD, addPayload("kept", "kept data", 60_000)));
      assert.deepEqual((await good.answer()).payload, Uint8Array.of(0));
      const bad = await r.connect();
      bad.send(SHORT_ADD);
      assert.ok(await bad.waitClosed(), "the sender is dropped");
      for (let i = 0; i < 20; i++) {
        good.send(command(100 + i, OP.GET, bytes("kept")));
        const ans = await good.answer();
        assert.equal(new TextDecoder().decode(ans.payload), "kept data");
      }
      const s = r.proxy.stats();
      assert.equal(s.upstream.lost, 0, "the link was never lost");
      assert.equal(s.protocolErrors, 1);
      assert.equal(s.disconnected, 0);
    });

    it("a corrupt stream from one client drops that client only", async () => {
      const r = await start();
      const good = await r.connect();
      const bad = await r.connect();
      bad.send(new Uint8Array(32).fill(0xff));
      assert.ok(await bad.waitClosed());
      good.send(command(1, OP.HAVE, bytes("x")));
      assert.deepEqual((await good.answer()).payload, Uint8Array.of(1));
      assert.equal(r.proxy.stats().upstream.lost, 0);
    });

    it("a client gone while its request is at the server: the answer is dropped, the others are served", async () => {
      const r = await start(laterStore);
      const gone = await r.connect();
      gone.send(command(1, OP.HAVE, bytes("whatever")));
      await until(() => r.proxy.stats().forwarded === 1, 2000, "the forward");
      gone.close();
      await until(() => r.proxy.stats().clients === 0, 2000, "the drop");
      const c = await r.connect();
      c.send(command(2, OP.HAVE, bytes("whatever")));
      const ans = await c.answer();
      assert.equal(ans.uid, 2);
      assert.deepEqual(ans.payload, Uint8Array.of(1));
      await until(() => r.proxy.stats().upstream.inFlight === 0, 2000, "drain");
      assert.equal(r.proxy.stats().upstream.lost, 0);
    });

    it("minTimeoutMs raises an ADD's lifetime on its way: a 50 ms session is still there after 300 ms", async () => {
      const r = await start(undefined, 300_000);
      const c = await r.connect();
      c.send(command(1, OP.ADD, addPayload("short", "short-lived", 50)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      await new Promise((r) => setTimeout(r, 300));
      c.send(command(2, OP.HAVE, bytes("short")));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
    });

    it("idleMs: a client that sends nothing that long is dropped, one that keeps asking is not", async () => {
      // 1 s against a request every 20 ms: late timers on a loaded
      // machine (gaps of 200 ms and more) must not make the busy client
      // look idle.
      rig = await ProxyRig.start(transport, adapter, {
        proxy: { idleMs: 1000 },
      });
      const r = rig;
      const quiet = await r.connect();
      const busy = await r.connect();
      const t0 = Date.now();
      let uid = 0;
      while (!quiet.closed) {
        busy.send(command(++uid, OP.HAVE, bytes("x")));
        assert.deepEqual((await busy.answer()).payload, Uint8Array.of(1));
        assert.ok(Date.now() - t0 < 10_000, "the quiet client is dropped");
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(busy.closed, false);
      assert.equal(r.proxy.stats().idleDrops, 1);
    });

    it("while the server is away every request is answered 2, and in-flight ones too when the link drops", async () => {
      const r = await start(laterStore);
      const c = await r.connect();
      c.send(concat([
        command(1, OP.HAVE, bytes("a")),
        command(2, OP.HAVE, bytes("b")),
      ]));
      await until(() => r.proxy.stats().forwarded === 2, 2000, "the forwards");
      await r.server.close();
      const a = await c.answer();
      const b = await c.answer();
      assert.deepEqual([a.uid, b.uid], [1, 2]);
      // Whether the store answered before the server closed is a race:
      // each answer is the server's (1) or the proxy's 2, never lost.
      for (const x of [a, b]) assert.ok([1, 2].includes(x.payload[0]));
      await until(() => !r.proxy.stats().upstream.up, 2000, "link down");
      c.send(command(3, OP.GET, bytes("a")));
      const d = await c.answer();
      assert.equal(d.uid, 3);
      assert.deepEqual(d.payload, Uint8Array.of(2));
    });
  });
}
