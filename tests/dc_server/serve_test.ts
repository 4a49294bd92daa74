import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { type DcCache, serve, type Server } from "../../dc_server/mod.ts";
import {
  addPayload,
  addsAndGetsInOrder,
  ask,
  bytes,
  command,
  concat,
  frame,
  OP,
  RawClient,
} from "../_wire.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  settled,
  until,
} from "../_servers.ts";

const td = new TextDecoder();

for (const { adapter, transport, label } of matrix()) {
  describe(`serve() over ${label}`, () => {
    let tmp = "";
    let server: Server;
    let clients: RawClient[] = [];
    const connect = async () => {
      const c = await RawClient.connect(server.addr);
      clients.push(c);
      return c;
    };
    before(async () => {
      tmp = makeTempDir();
      server = await serve({
        listen: listenAddress(transport, tmp),
        adapter,
        sessions: 10_000,
      });
    });
    afterEach(() => {
      for (const c of clients) c.close();
      clients = [];
    });
    after(async () => {
      await server.close();
      removeDir(tmp);
    });

    it("answers every ADD error code in the C server's order", async () => {
      const c = await connect();
      const id = `codes-${label}`;
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload(id, "data", 60_000)),
        Uint8Array.of(0),
      );
      assert.deepEqual(
        await ask(c, 2, OP.ADD, addPayload(id, "other", 60_000)),
        Uint8Array.of(101),
      );
      assert.deepEqual(
        await ask(c, 3, OP.ADD, addPayload("t", "d", 604800001)),
        Uint8Array.of(102),
      );
      assert.deepEqual(
        await ask(c, 4, OP.ADD, addPayload(`max-${label}`, "d", 604800000)),
        Uint8Array.of(0),
      );
      // id_len not shorter than the rest of the payload: 100, even with a bad id_len.
      const pastEnd = addPayload("abcd", "", 1000);
      assert.deepEqual(await ask(c, 5, OP.ADD, pastEnd), Uint8Array.of(100));
      assert.deepEqual(
        await ask(c, 6, OP.ADD, addPayload("", "data", 1000)),
        Uint8Array.of(103),
      );
      assert.deepEqual(
        await ask(c, 7, OP.ADD, addPayload("x".repeat(65), "data", 1000)),
        Uint8Array.of(103),
      );
      // The timeout check comes before the id checks.
      assert.deepEqual(
        await ask(c, 8, OP.ADD, addPayload("", "data", 604800001)),
        Uint8Array.of(102),
      );
    });

    it("answers GET with the data, misses and HAVE/REMOVE with 0 or 1", async () => {
      const c = await connect();
      const id = `ops-${label}`;
      const data = new Uint8Array(5000).map((_, i) => i * 7);
      assert.deepEqual(
        await ask(c, 10, OP.ADD, addPayload(id, data, 60_000)),
        Uint8Array.of(0),
      );
      assert.deepEqual(await ask(c, 11, OP.GET, bytes(id)), data);
      assert.deepEqual(await ask(c, 12, OP.HAVE, bytes(id)), Uint8Array.of(0));
      assert.deepEqual(
        await ask(c, 13, OP.REMOVE, bytes(id)),
        Uint8Array.of(0),
      );
      assert.deepEqual(
        await ask(c, 14, OP.REMOVE, bytes(id)),
        Uint8Array.of(1),
      );
      assert.deepEqual(await ask(c, 15, OP.GET, bytes(id)), Uint8Array.of(1));
      assert.deepEqual(await ask(c, 16, OP.HAVE, bytes(id)), Uint8Array.of(1));
      assert.deepEqual(
        await ask(c, 17, OP.GET, new Uint8Array(0)),
        Uint8Array.of(1),
        "empty id is a miss",
      );
    });

    it("drops a client whose ADD payload is shorter than 8 bytes, and only it", async () => {
      const bad = await connect();
      const good = await connect();
      bad.send(frame({ uid: 1, op: OP.ADD, data: Uint8Array.of(0, 0, 3) }));
      assert.ok(await bad.waitClosed(), "dropped");
      assert.equal(bad.buffered, 0, "without an answer");
      assert.deepEqual(
        await ask(good, 2, OP.HAVE, bytes("nothing")),
        Uint8Array.of(1),
      );
    });

    it("answers 1,000 pipelined requests in order", async () => {
      const c = await connect();
      const reqs: Uint8Array[] = [];
      for (let i = 0; i < 1000; i++) {
        const id = `pipe-${label}-${i % 50}`;
        const op = i % 4;
        reqs.push(
          command(
            i,
            op,
            op === OP.ADD ? addPayload(id, `value ${i}`, 60_000) : bytes(id),
          ),
        );
      }
      c.send(concat(reqs));
      for (let i = 0; i < 1000; i++) {
        const ans = await c.answer();
        assert.equal(ans.uid, i);
        assert.equal(ans.op, i % 4);
      }
    });

    it("keeps serving healthy clients beside garbage, wrong versions and stalled half frames", async () => {
      const garbage = await connect();
      const version = await connect();
      const stalled = await connect();
      const healthy = await connect();
      garbage.send(new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 0xff));
      version.send(
        frame({
          uid: 9,
          op: OP.HAVE,
          data: bytes("p2"),
          protoLevel: 0x00120000,
        }),
      );
      stalled.send(
        frame({ uid: 5, op: OP.GET, data: bytes("half") }).subarray(0, 9),
      );
      const before = server.stats().protocolErrors;
      for (let i = 0; i < 200; i++) {
        const id = `healthy-${label}-${i}`;
        assert.deepEqual(
          await ask(healthy, i, OP.ADD, addPayload(id, "payload data", 60_000)),
          Uint8Array.of(0),
        );
        assert.deepEqual(
          td.decode(await ask(healthy, i, OP.GET, bytes(id))),
          "payload data",
        );
      }
      assert.ok(await garbage.waitClosed(), "garbage dropped");
      assert.ok(await version.waitClosed(), "wrong version dropped");
      assert.equal(version.buffered, 0);
      assert.equal(stalled.closed, false, "a stalled half frame just waits");
      assert.ok(server.stats().protocolErrors >= before + 2);
    });

    it("stops reading from a client that does not read its answers, then answers all", async () => {
      const big = new Uint8Array(30_000).fill(0x42);
      const c = await connect();
      const id = `big-${label}`;
      // A lifetime no slow machine outlasts: 90 MB of answers over TCP
      // took over a minute under a loaded CI.
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload(id, big, 3_600_000)),
        Uint8Array.of(0),
      );
      const opsBefore = server.stats().operations;
      const n = 3000; // ~90 MB of answers if all were produced at once
      const get = command(7, OP.GET, bytes(id));
      c.socket.pause();
      c.send(concat(Array.from({ length: n }, () => get)));
      // The server's progress stalls well before the end: its count stops
      // moving while most requests are still unread.
      const served = await settled(() => server.stats().operations - opsBefore);
      assert.ok(
        served < n / 4,
        `server executed ${served} of ${n} without the client reading`,
      );
      const other = await connect();
      assert.deepEqual(
        await ask(other, 3, OP.HAVE, bytes(id)),
        Uint8Array.of(0),
        "others still served",
      );
      c.socket.resume();
      for (let i = 0; i < n; i++) {
        const ans = await c.answer(20_000);
        assert.equal(ans.payload.length, big.length);
      }
    });

    it("serves 200 concurrent connections", async () => {
      const conns = await Promise.all(
        Array.from({ length: 200 }, () => connect()),
      );
      await Promise.all(conns.map(async (c, i) => {
        const id = `conc-${label}-${i}`;
        assert.deepEqual(
          await ask(c, i, OP.ADD, addPayload(id, `v${i}`.repeat(10), 60_000)),
          Uint8Array.of(0),
        );
        assert.equal(
          td.decode(await ask(c, i, OP.GET, bytes(id))),
          `v${i}`.repeat(10),
        );
        assert.deepEqual(
          await ask(c, i, OP.REMOVE, bytes(id)),
          Uint8Array.of(0),
        );
      }));
      assert.ok(server.stats().connections >= 200);
    });

    it("counts operations, hits, misses and bytes in stats()", async () => {
      const c = await connect();
      const s0 = server.stats();
      const id = `stats-${label}`;
      await ask(c, 1, OP.ADD, addPayload(id, "12345678", 60_000));
      await ask(c, 2, OP.GET, bytes(id));
      await ask(c, 3, OP.GET, bytes(`${id}-missing`));
      await ask(c, 4, OP.HAVE, bytes(id));
      const s1 = server.stats();
      assert.equal(s1.operations - s0.operations, 4);
      assert.equal(s1.adds - s0.adds, 1);
      assert.equal(s1.hits - s0.hits, 1);
      assert.equal(s1.misses - s0.misses, 1);
      assert.equal(s1.items - s0.items, 1);
      assert.equal(s1.bytes - s0.bytes, id.length + 8);
      await ask(c, 5, OP.REMOVE, bytes(id));
    });
  });
}

describe("serve() lifecycle", () => {
  let tmp = "";
  before(() => {
    tmp = makeTempDir();
  });
  after(() => removeDir(tmp));

  it("removes its UNIX socket file on close and refuses a live one", async () => {
    const addr = listenAddress("UNIX", tmp, "life.sock");
    const server = await serve({ listen: addr });
    assert.ok(fs.existsSync(addr.slice(5)));
    await assert.rejects(serve({ listen: addr }), {
      code: "ERR_ADDRESS_IN_USE",
    });
    await server.close();
    assert.equal(fs.existsSync(addr.slice(5)), false);
  });

  it("rejects a session bound below 64 with a clear error", async () => {
    await assert.rejects(
      serve({ listen: "IP:127.0.0.1:0", sessions: 63 }),
      /63/,
    );
  });

  it("never returns a session past its expiry (injected clock)", async () => {
    let now = 1_000_000;
    const server = await serve({ listen: "IP:127.0.0.1:0", clock: () => now });
    const c = await RawClient.connect(server.addr);
    try {
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload("soon", "gone soon", 1000)),
        Uint8Array.of(0),
      );
      now += 999;
      assert.equal(
        td.decode(await ask(c, 2, OP.GET, bytes("soon"))),
        "gone soon",
      );
      now += 1;
      assert.deepEqual(
        await ask(c, 3, OP.GET, bytes("soon")),
        Uint8Array.of(1),
      );
      assert.deepEqual(
        await ask(c, 4, OP.HAVE, bytes("soon")),
        Uint8Array.of(1),
      );
      assert.deepEqual(
        await ask(c, 5, OP.ADD, addPayload("soon", "again", 1000)),
        Uint8Array.of(0),
      );
    } finally {
      c.close();
      await server.close();
    }
  });

  it("evicts the soonest-expiring sessions when full", async () => {
    const server = await serve({ listen: "IP:127.0.0.1:0", sessions: 64 });
    const c = await RawClient.connect(server.addr);
    try {
      for (let i = 0; i < 64; i++) {
        // Session i expires after (i + 1) minutes: 0 and 1 expire soonest.
        assert.deepEqual(
          await ask(
            c,
            i,
            OP.ADD,
            addPayload(`e${i}`, "data", (i + 1) * 60_000),
          ),
          Uint8Array.of(0),
        );
      }
      assert.deepEqual(
        await ask(c, 100, OP.ADD, addPayload("newcomer", "data", 3_600_000)),
        Uint8Array.of(0),
      );
      // max(1, floor(64 / 30)) = 2 evicted at once.
      assert.deepEqual(
        await ask(c, 101, OP.HAVE, bytes("e0")),
        Uint8Array.of(1),
      );
      assert.deepEqual(
        await ask(c, 102, OP.HAVE, bytes("e1")),
        Uint8Array.of(1),
      );
      assert.deepEqual(
        await ask(c, 103, OP.HAVE, bytes("e2")),
        Uint8Array.of(0),
      );
      assert.deepEqual(
        await ask(c, 104, OP.HAVE, bytes("newcomer")),
        Uint8Array.of(0),
      );
      assert.equal(server.stats().items, 63);
      assert.equal(server.stats().evictions, 2);
    } finally {
      c.close();
      await server.close();
    }
  });

  it("keeps answers in request order with an asynchronous cache", async () => {
    const map = new Map<string, Uint8Array>();
    const key = (id: Uint8Array) => td.decode(id);
    const later = <T>(v: T): Promise<T> =>
      new Promise((r) => setTimeout(() => r(v), Math.random() * 5));
    const cache: DcCache = {
      add: (_n, _t, id, data) =>
        later(
          map.has(key(id)) ? false : (map.set(key(id), data.slice()), true),
        ),
      get: (_n, id) => later(map.get(key(id)) ?? null),
      remove: (_n, id) => later(map.delete(key(id))),
      have: (_n, id) => later(map.has(key(id))),
      numItems: () => map.size,
    };
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: () => cache,
    });
    const c = await RawClient.connect(server.addr);
    try {
      await addsAndGetsInOrder(c, 100, "a");
      await until(
        () => server.stats().operations === 200,
        2000,
        "operation count",
      );
    } finally {
      c.close();
      await server.close();
    }
  });
});
