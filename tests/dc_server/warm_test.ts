// The warm step: before a turn serves its clients, the store is handed the
// ids of every whole GET, HAVE and REMOVE waiting (pipelined ones too), and
// nothing it does with them changes an answer: not for expired sessions,
// nor for ids an earlier request of the same batch removes or adds.

import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  type DcCache,
  DcServer,
  type DcServerClient,
  DefaultCache,
  serve,
  type Server,
} from "../../dc_server/mod.ts";
import { NalConnection } from "../../nal/mod.ts";
import {
  addPayload,
  bytes,
  command,
  concat,
  hex,
  OP,
  RawClient,
} from "../_wire.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";

const td = new TextDecoder();

// The default store, logging each call by id; `warm` is left out when
// `warms` is false (a store that cannot warm).
function logged(
  log: string[],
  warms = true,
): { store: DcCache; inner: DefaultCache } {
  const inner = new DefaultCache(10_000);
  const name = (id: Uint8Array) => td.decode(id);
  const store: DcCache = {
    add: (now, t, id, data) => {
      log.push(`add ${name(id)}`);
      return inner.add(now, t, id, data);
    },
    get: (now, id) => {
      log.push(`get ${name(id)}`);
      return inner.get(now, id);
    },
    remove: (now, id) => {
      log.push(`remove ${name(id)}`);
      return inner.remove(now, id);
    },
    have: (now, id) => {
      log.push(`have ${name(id)}`);
      return inner.have(now, id);
    },
    numItems: (now) => inner.numItems(now),
    close: () => inner.close(),
  };
  if (warms) {
    // Worth it whatever the size, so that the server keeps warming.
    store.warm = (ids) => {
      log.push(`warm ${ids.map(name).join(",")}`);
      inner.warm(ids);
      return true;
    };
  }
  return { store, inner };
}

// The next `n` answers a server client sends, as "uid:hex" each: its
// plug flushed, then read at the peer as they arrive.
async function answers(
  client: DcServerClient,
  peer: NalConnection,
  n: number,
): Promise<string[]> {
  const out: string[] = [];
  await until(
    () => {
      client.plug.io();
      peer.io();
      const rb = peer.getRead();
      for (;;) {
        const b = rb.readPtr();
        if (b.length < 14) break;
        const v = new DataView(b.buffer, b.byteOffset);
        const len = v.getUint16(12);
        if (b.length < 14 + len) break;
        out.push(`${v.getUint32(5)}:${hex(b.subarray(14, 14 + len))}`);
        rb.takeData(null, 14 + len);
      }
      return out.length >= n;
    },
    5000,
    `${n} answers`,
  );
  return out;
}

// A pipeline that, in one batch, asks for an expired session, removes a
// session and then asks for it, adds a session and then asks for it, and
// replaces an expired one: made at time 5000, after `setUp` at time 0.
const setUp = concat([
  command(1, OP.ADD, addPayload("old", "old data", 1000)),
  command(2, OP.ADD, addPayload("keep", "kept", 60_000)),
  command(3, OP.ADD, addPayload("gone", "going", 60_000)),
]);
const batch = concat([
  command(10, OP.GET, bytes("old")),
  command(11, OP.HAVE, bytes("old")),
  command(12, OP.GET, bytes("keep")),
  command(13, OP.REMOVE, bytes("gone")),
  command(14, OP.GET, bytes("gone")),
  command(15, OP.HAVE, bytes("gone")),
  command(16, OP.ADD, addPayload("new", "new data", 60_000)),
  command(17, OP.GET, bytes("new")),
  command(18, OP.ADD, addPayload("old", "old again", 60_000)),
  command(19, OP.GET, bytes("old")),
  command(20, OP.REMOVE, bytes("keep")),
  command(21, OP.GET, bytes("keep")),
  command(22, OP.HAVE, bytes("nothing")),
]);
const BATCH_ANSWERS = [
  "10:01", // GET of an expired session: a miss
  "11:01",
  `12:${hex(bytes("kept"))}`,
  "13:00", // removed...
  "14:01", // ...so the GET behind it misses
  "15:01",
  "16:00", // added...
  `17:${hex(bytes("new data"))}`, // ...so the GET behind it finds it
  "18:00", // the expired session replaced
  `19:${hex(bytes("old again"))}`,
  "20:00",
  "21:01",
  "22:01",
];

// A server client over a connection pair, and a way to send it bytes:
// they are in its connection's read buffer once send() resolves.
function connected(server: DcServer) {
  const [a, b] = [new NalConnection(), new NalConnection()];
  assert.ok(NalConnection.createPair(a, b, 65536));
  const client = server.newClient(a);
  const send = async (bytes: Uint8Array) => {
    assert.equal(b.getSend().write(bytes), bytes.length);
    const want = a.getRead().used() + bytes.length;
    await until(
      () => {
        b.io();
        a.io();
        return a.getRead().used() >= want;
      },
      5000,
      "the bytes",
    );
  };
  return { client, peer: b, send };
}

describe("DcServer warm()", () => {
  it("hands the store the ids of every lookup waiting, pipelined ones too, before any is served", async () => {
    const log: string[] = [];
    const server = new DcServer(1024, { cache: logged(log).store });
    const { client, peer, send } = connected(server);
    await send(setUp);
    assert.ok(client.plug.io());
    assert.ok(server.processClient(client, 0));
    assert.equal((await answers(client, peer, 3)).length, 3);
    // Half of a last request: not whole, so not warmed.
    await send(
      concat([batch, command(23, OP.GET, bytes("half")).subarray(0, 16)]),
    );
    log.length = 0;
    server.warm([client]);
    assert.deepEqual(log, [
      "warm old,old,keep,gone,gone,gone,new,old,keep,keep,nothing",
    ]);
    assert.equal(server.stats(0).operations, 3, "warm() served none");
    assert.ok(server.processClient(client, 5000));
    assert.deepEqual(
      await answers(client, peer, BATCH_ANSWERS.length),
      BATCH_ANSWERS,
    );
    assert.equal(
      log.filter((e) => e.startsWith("warm")).length,
      1,
      "processClient() does not warm",
    );
    server.close();
  });

  it("asks a store that says it gains nothing again only 4096 calls later", async () => {
    const log: string[] = [];
    const { store, inner } = logged(log);
    store.warm = (ids) => {
      log.push(`warm ${ids.length}`);
      return inner.warm(ids); // false: a small store
    };
    const server = new DcServer(1024, { cache: store });
    const { client, send } = connected(server);
    const two = concat([
      command(1, OP.GET, bytes("a")),
      command(2, OP.GET, bytes("b")),
    ]);
    await send(two);
    for (let i = 0; i < 4097; i++) server.warm([client]);
    assert.deepEqual(log, ["warm 2"]);
    server.warm([client]);
    assert.deepEqual(log, ["warm 2", "warm 2"]);
    server.close();
  });

  it("passes over a store without warm, and a lone request", async () => {
    const log: string[] = [];
    const server = new DcServer(1024, { cache: logged(log, false).store });
    const first = connected(server);
    await first.send(batch);
    server.warm([first.client]);
    assert.ok(server.processClient(first.client, 0));
    assert.deepEqual(log.filter((e) => e.startsWith("warm")), []);
    server.close();

    log.length = 0;
    const alone = new DcServer(1024, { cache: logged(log).store });
    const lone = connected(alone);
    await lone.send(command(1, OP.GET, bytes("a")));
    alone.warm([lone.client]);
    assert.deepEqual(log, [], "one id: nothing to overlap");
    assert.ok(alone.processClient(lone.client, 0));
    assert.deepEqual(await answers(lone.client, lone.peer, 1), ["1:01"]);
    assert.deepEqual(log, ["get a"]);
    alone.close();
  });
});

for (const { adapter, transport, label } of matrix()) {
  describe(`serve() warming over ${label}`, () => {
    let tmp = "";
    let now = 0;
    const logs: { warming: string[]; plain: string[] } = {
      warming: [],
      plain: [],
    };
    let warming: Server;
    let plain: Server;
    let clients: RawClient[] = [];
    const connect = async (s: Server) => {
      const c = await RawClient.connect(s.addr);
      clients.push(c);
      return c;
    };
    before(async () => {
      tmp = makeTempDir();
      const common = { adapter, clock: () => now, sessions: 10_000 };
      warming = await serve({
        ...common,
        listen: listenAddress(transport, tmp, "warming"),
        cache: logged(logs.warming).store,
      });
      plain = await serve({
        ...common,
        listen: listenAddress(transport, tmp, "plain"),
        cache: logged(logs.plain, false).store,
      });
    });
    afterEach(() => {
      for (const c of clients) c.close();
      clients = [];
    });
    after(async () => {
      await warming.close();
      await plain.close();
      removeDir(tmp);
    });

    it("answers a pipeline of lookups, removes and adds as a store that does not warm", async () => {
      const got: Record<string, string[]> = {};
      now = 0;
      const setUps = [await connect(warming), await connect(plain)];
      for (const c of setUps) c.send(setUp);
      for (const c of setUps) for (let i = 0; i < 3; i++) await c.answer();
      now = 5000;
      for (
        const [key, s] of [["warming", warming], ["plain", plain]] as const
      ) {
        logs[key].length = 0;
        const c = await connect(s);
        c.send(batch);
        got[key] = [];
        for (let i = 0; i < BATCH_ANSWERS.length; i++) {
          const a = await c.answer();
          got[key].push(`${a.uid}:${hex(a.payload)}`);
        }
      }
      assert.deepEqual(got.warming, BATCH_ANSWERS);
      assert.deepEqual(got.plain, BATCH_ANSWERS);
      // Without warm, the same calls in the same order.
      assert.deepEqual(
        logs.warming.filter((e) => !e.startsWith("warm")),
        logs.plain,
      );
    });
  });
}
