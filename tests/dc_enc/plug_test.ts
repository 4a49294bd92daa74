import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  DC_PLUG_FLAG_NOFREE_CONN,
  DC_PLUG_FLAG_TO_SERVER,
  DcCmd,
  DcDecodeState,
  DcPlug,
  decodeMsg,
  encodeCommand,
  preDecodeMsg,
} from "../../dc_enc/mod.ts";
import {
  NAL_SELECT_FLAG_READ,
  NalConnection,
  NalSelector,
} from "../../nal/mod.ts";
import { concatBytes, toBytes } from "../../nal/_util.ts";
import { pumpUntil, rawFrame } from "./_helpers.ts";

const opened: { close(): void }[] = [];

afterEach(() => {
  for (const x of opened.splice(0)) x.close();
});

function track<T extends { close(): void }>(x: T): T {
  opened.push(x);
  return x;
}

// A server-side plug over an echo connection: bytes written into the
// connection's buffer are what the plug reads.
function fedPlug(
  flags = 0,
  size = 65536,
): { plug: DcPlug; feed: (b: Uint8Array) => void; conn: NalConnection } {
  const conn = track(new NalConnection());
  assert.ok(conn.createDummy(size));
  const plug = track(new DcPlug(conn, flags));
  return {
    plug,
    conn,
    feed: (b) => assert.equal(conn.getRead().write(b), b.length),
  };
}

function pair(
  size: number,
  serverFlags = 0,
): { client: DcPlug; server: DcPlug; a: NalConnection; b: NalConnection } {
  const a = track(new NalConnection());
  const b = track(new NalConnection());
  assert.ok(NalConnection.createPair(a, b, size));
  const client = track(new DcPlug(a, DC_PLUG_FLAG_TO_SERVER));
  const server = track(new DcPlug(b, serverFlags));
  return { client, server, a, b };
}

function request(
  uid: number,
  cmd: DcCmd,
  payload: Uint8Array | string,
): Uint8Array {
  return encodeCommand(false, uid, cmd, toBytes(payload));
}

// Every byte of `bytes` belongs to a whole, valid frame.
function assertWholeFrames(bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) {
    assert.equal(preDecodeMsg(bytes, at), DcDecodeState.OK, `frame at ${at}`);
    at += 14 + decodeMsg(bytes, at)!.data.length;
  }
}

describe("DcPlug: the C API's boolean forms and the states", () => {
  it("read(false) and read(true) are read() and peek(); write(false/true, ...) are write() and restart()", () => {
    const { plug, feed } = fedPlug();
    feed(request(1, DcCmd.GET, "one"));
    plug.io();
    assert.equal(plug.read(false)?.requestUid, 1);
    assert.equal(plug.read(false), null);
    assert.equal(plug.read(true)?.requestUid, 1);
    const { plug: writer, conn } = fedPlug();
    assert.ok(writer.write(false, 1, DcCmd.GET, toBytes("first")));
    assert.equal(writer.write(false, 2, DcCmd.GET, toBytes("second")), false);
    assert.ok(writer.write(true, 3, DcCmd.HAVE, toBytes("third")));
    assert.ok(writer.commit());
    assert.deepEqual(
      conn.getSend().readPtr(),
      encodeCommand(true, 3, DcCmd.HAVE, toBytes("third")),
    );
  });

  it("names its read, write and frame states as they change", async () => {
    const { client, server, a } = pair(4096);
    const seen = [server.state];
    const big = request(5, DcCmd.ADD, new Uint8Array(3000));
    const arrive = async (bytes: Uint8Array) => {
      a.getSend().write(bytes);
      const before = server.state;
      await pumpUntil([client, server], () => server.state !== before);
      seen.push(server.state);
    };
    await arrive(big.subarray(0, 2062)); // the first of two frames
    await arrive(big.subarray(2062));
    server.read();
    seen.push(server.state);
    server.write(5, DcCmd.ADD, Uint8Array.of(0));
    seen.push(server.state);
    server.commit();
    server.consume();
    seen.push(server.state);
    await arrive(Uint8Array.of(0x00, 0x12)); // another protocol version
    server.close();
    seen.push(server.state);
    assert.deepEqual(seen, [
      "read empty, write idle, frames frame",
      "read empty, write idle, frames joining",
      "read full, write idle, frames frame",
      "read user, write idle, frames frame",
      "read user, write open, frames frame",
      "read empty, write idle, frames frame",
      "read empty, write idle, frames corrupt",
      "closed",
    ]);
  });
});

describe("DcPlug reading", () => {
  it("read() gives a command once, peek() again until consume(), which brings the next", () => {
    const { plug, feed } = fedPlug();
    feed(request(1, DcCmd.GET, "one"));
    feed(request(2, DcCmd.HAVE, "two"));
    assert.equal(plug.io(), true);
    const first = plug.read();
    assert.equal(first?.requestUid, 1);
    assert.equal(first?.cmd, DcCmd.GET);
    assert.deepEqual(first?.payload, toBytes("one"));
    assert.equal(plug.read(), null);
    assert.equal(plug.peek()?.requestUid, 1);
    assert.equal(plug.consume(), true);
    const second = plug.read();
    assert.equal(second?.requestUid, 2);
    assert.deepEqual(second?.payload, toBytes("two"));
    assert.equal(plug.consume(), true);
    assert.equal(plug.peek(), null);
    assert.equal(plug.consume(), false);
  });

  it("consume() before read() is refused, as by the C plug", () => {
    const { plug, feed } = fedPlug();
    feed(request(1, DcCmd.GET, "x"));
    plug.io();
    assert.equal(plug.consume(), false);
    assert.equal(plug.read()?.requestUid, 1);
  });

  it("a command arriving a byte at a time is readable only once whole", () => {
    const { plug, feed } = fedPlug();
    const bytes = request(7, DcCmd.REMOVE, new Uint8Array(3000).fill(5));
    for (let i = 0; i < bytes.length; i++) {
      assert.equal(plug.peek(), null, `after ${i} bytes`);
      feed(bytes.subarray(i, i + 1));
      assert.equal(plug.io(), true);
    }
    const got = plug.read();
    assert.equal(got?.requestUid, 7);
    assert.deepEqual(got?.payload, new Uint8Array(3000).fill(5));
  });

  it("joins a multi-frame command, whose payload stays intact while the next command arrives behind it", () => {
    const { plug, feed } = fedPlug();
    const big = new Uint8Array(5000).map((_, i) => i & 0xff);
    feed(request(1, DcCmd.ADD, big));
    plug.io();
    const got = plug.read()!;
    feed(request(2, DcCmd.GET, "next"));
    plug.io();
    assert.deepEqual(got.payload, big);
    plug.consume();
    assert.equal(plug.read()?.requestUid, 2);
  });

  it("a one-frame payload read in place stays valid until consume(), while more requests wait unread", async () => {
    const { client, server, b } = pair(4096);
    assert.ok(client.write(1, DcCmd.GET, toBytes("held")));
    assert.ok(client.commit());
    await pumpUntil([client, server], () => server.read() !== null);
    const held = server.peek()!;
    const view = held.payload;
    for (let i = 2; i < 40; i++) {
      assert.ok(
        client.write(i, DcCmd.HAVE, new Uint8Array(100).fill(i)),
      );
      client.commit();
      client.io();
    }
    // Wait until the bytes have reached the server's socket, then run io().
    const sel = new NalSelector();
    sel.addConn(b, NAL_SELECT_FLAG_READ);
    assert.ok((await sel.select(2_000_000)) > 0);
    assert.equal(server.io(), true);
    assert.deepEqual(view, toBytes("held"));
    assert.equal(server.peek(), held);
    assert.ok(server.consume());
    const uids: number[] = [];
    await pumpUntil([client, server], () => {
      for (let c = server.read(); c !== null; c = server.read()) {
        assert.deepEqual(c.payload, new Uint8Array(100).fill(c.requestUid));
        uids.push(c.requestUid);
        server.consume();
      }
      return uids.length === 38;
    });
    assert.deepEqual(uids, Array.from({ length: 38 }, (_, i) => i + 2));
  });

  it("delivers the commands before a corruption, then io() returns false and error names the field", () => {
    const { plug, feed } = fedPlug();
    feed(request(1, DcCmd.GET, "fine"));
    feed(rawFrame({ uid: 2, opClass: 1 }));
    assert.equal(plug.io(), true);
    assert.equal(plug.read()?.requestUid, 1);
    assert.equal(plug.consume(), false);
    assert.equal(plug.error?.code, "ERR_PROTOCOL");
    assert.equal(plug.error?.field, "op_class");
    assert.equal(plug.error?.value, 1);
    assert.equal(plug.io(), false);
    assert.equal(plug.peek(), null);
  });

  it("a server plug refuses responses, a client plug requests", () => {
    const server = fedPlug(0);
    server.feed(encodeCommand(true, 1, DcCmd.GET, new Uint8Array(0)));
    assert.equal(server.plug.io(), false);
    assert.equal(server.plug.error?.field, "is_response");
    const client = fedPlug(DC_PLUG_FLAG_TO_SERVER);
    client.feed(request(1, DcCmd.GET, ""));
    assert.equal(client.plug.io(), false);
    assert.equal(client.plug.error?.field, "is_response");
  });

  it("a version mismatch fails that plug only, with both levels in the error", async () => {
    const bad = pair(4096);
    const good = pair(4096);
    bad.a.getSend().write(rawFrame({ protoLevel: 0x00120000, op: 3 }));
    good.client.write(5, DcCmd.HAVE, toBytes("id"));
    good.client.commit();
    await pumpUntil(
      [bad.client, good.client, good.server],
      () => bad.server.io() === false && good.server.read() !== null,
    );
    assert.equal(bad.server.error?.code, "ERR_VERSION");
    assert.equal(bad.server.error?.value, 0x00120000);
    assert.match(bad.server.error!.message, /00120000.*00110000/);
    assert.equal(good.server.error, null);
    assert.equal(good.server.peek()?.requestUid, 5);
  });

  it("a connection buffer too small for a frame fails the plug rather than stalling", () => {
    const { client, server } = pair(1024);
    client.write(1, DcCmd.GET, new Uint8Array(2000));
    client.commit();
    assert.equal(client.io(), false);
    assert.equal(client.error?.code, "ERR_BUFFER");
    const small = fedPlug(0, 1024);
    // Only the first 1024 bytes of the 2014-byte frame fit.
    small.conn.getRead().write(rawFrame({ data: new Uint8Array(2000) }));
    assert.equal(small.plug.io(), false);
    assert.equal(small.plug.error?.code, "ERR_BUFFER");
    assert.equal(server.error, null);
  });
});

describe("DcPlug writing", () => {
  it("commit() frames the command into the send buffer, byte for byte as encodeCommand", () => {
    const payload = new Uint8Array(5000).map((_, i) => i * 7);
    for (
      const [flags, isResponse] of [[0, true], [
        DC_PLUG_FLAG_TO_SERVER,
        false,
      ]] as const
    ) {
      const { plug, conn } = fedPlug(flags);
      assert.ok(plug.write(0xfffffffe, DcCmd.GET, payload));
      assert.equal(conn.getSend().used(), 0);
      assert.ok(plug.commit());
      assert.deepEqual(
        conn.getSend().readPtr(),
        encodeCommand(isResponse, 0xfffffffe, DcCmd.GET, payload),
      );
    }
  });

  it("write() and writeMore() build one command from parts", () => {
    const { plug, conn } = fedPlug();
    const parts = [
      toBytes("abc"),
      new Uint8Array(2100).fill(1),
      new Uint8Array(0),
      toBytes("z"),
    ];
    assert.ok(plug.write(3, DcCmd.ADD, parts[0]));
    for (const p of parts.slice(1)) assert.ok(plug.writeMore(p));
    assert.ok(plug.commit());
    assert.deepEqual(
      conn.getSend().readPtr(),
      encodeCommand(true, 3, DcCmd.ADD, concatBytes(parts)),
    );
  });

  it("write() fails while a command is open; restart() starts the command over", () => {
    const { plug, conn } = fedPlug();
    assert.ok(plug.write(1, DcCmd.ADD, toBytes("first")));
    assert.equal(plug.write(2, DcCmd.GET, toBytes("second")), false);
    assert.ok(plug.restart(3, DcCmd.HAVE, toBytes("third")));
    assert.ok(plug.commit());
    assert.deepEqual(
      conn.getSend().readPtr(),
      encodeCommand(true, 3, DcCmd.HAVE, toBytes("third")),
    );
  });

  it("rollback() drops the open command; commit, rollback and writeMore need one open", () => {
    const { plug, conn } = fedPlug();
    assert.equal(plug.commit(), false);
    assert.equal(plug.rollback(), false);
    assert.equal(plug.writeMore(toBytes("x")), false);
    assert.ok(plug.write(1, DcCmd.GET, toBytes("dropped")));
    assert.ok(plug.rollback());
    assert.equal(plug.commit(), false);
    assert.equal(conn.getSend().used(), 0);
    assert.ok(plug.write(2, DcCmd.GET, toBytes("kept")));
  });

  it("refuses payloads over 32768 bytes and unknown commands, keeping what is open", () => {
    const { plug, conn } = fedPlug();
    assert.equal(plug.write(1, DcCmd.GET, new Uint8Array(32769)), false);
    assert.equal(plug.write(1, 0 as DcCmd, new Uint8Array(1)), false);
    assert.equal(plug.write(1, 5 as DcCmd, new Uint8Array(1)), false);
    assert.ok(plug.write(1, DcCmd.GET, new Uint8Array(32000)));
    assert.ok(plug.writeMore(new Uint8Array(768)));
    assert.equal(plug.writeMore(new Uint8Array(1)), false);
    assert.equal(plug.restart(2, DcCmd.GET, new Uint8Array(40000)), false);
    assert.ok(plug.commit());
    const sent = conn.getSend().readPtr();
    assert.equal(sent.length, 32768 + 16 * 14);
    assert.equal(decodeMsg(sent)?.requestUid, 1);
  });

  it("a command larger than the send buffer goes out in whole frames as room frees, and later ones queue behind it", async () => {
    const { client, server, b } = pair(4096);
    const big = new Uint8Array(32768).map((_, i) => (i * 31) & 0xff);
    assert.ok(server.write(1, DcCmd.GET, big));
    assert.ok(server.commit());
    assert.ok(server.write(2, DcCmd.HAVE, new Uint8Array([0])));
    assert.ok(server.commit());
    const got: [number, Uint8Array][] = [];
    await pumpUntil([server, client], () => {
      assertWholeFrames(b.getSend().readPtr());
      for (let c = client.read(); c !== null; c = client.read()) {
        got.push([c.requestUid, c.payload.slice()]);
        client.consume();
      }
      return got.length === 2;
    });
    assert.deepEqual(got, [[1, big], [2, new Uint8Array([0])]]);
  });

  it("write() refuses once 32 KiB of committed frames wait, and accepts again when they have gone", async () => {
    const { client, server } = pair(4096);
    const payload = new Uint8Array(32768).fill(7);
    let accepted = 0;
    while (server.write(accepted, DcCmd.GET, payload)) {
      server.commit();
      accepted++;
      assert.ok(
        accepted <= 3,
        "write() never refused: the backlog is unbounded",
      );
    }
    assert.ok(accepted >= 2);
    let received = 0;
    await pumpUntil([server, client], () => {
      for (let c = client.read(); c !== null; c = client.read()) {
        assert.equal(c.requestUid, received++);
        assert.deepEqual(c.payload, payload);
        client.consume();
      }
      return received === accepted;
    });
    assert.ok(server.write(99, DcCmd.GET, payload));
  });
});

describe("DcPlug lifetime", () => {
  it("close() closes the connection: the peer sees the end", async () => {
    const { client, server } = pair(4096);
    client.close();
    await pumpUntil([], () => server.io() === false);
    assert.equal(server.error, null);
    assert.equal(client.io(), false);
    assert.equal(client.peek(), null);
    assert.equal(client.write(1, DcCmd.GET, new Uint8Array(0)), false);
    assert.equal(client.toSelect(new NalSelector()), false);
  });

  it("a connection closed under the plug is a disconnection, not a protocol error", () => {
    const { client, a } = pair(4096);
    client.write(1, DcCmd.GET, new Uint8Array(10));
    a.close();
    client.commit();
    assert.equal(client.io(), false);
    assert.equal(client.error, null);
  });

  it("with DC_PLUG_FLAG_NOFREE_CONN, close() leaves the connection usable", async () => {
    const a = track(new NalConnection());
    const b = track(new NalConnection());
    NalConnection.createPair(a, b, 4096);
    const first = new DcPlug(
      a,
      DC_PLUG_FLAG_TO_SERVER | DC_PLUG_FLAG_NOFREE_CONN,
    );
    first.close();
    const second = track(new DcPlug(a, DC_PLUG_FLAG_TO_SERVER));
    const server = track(new DcPlug(b, 0));
    second.write(4, DcCmd.HAVE, toBytes("id"));
    second.commit();
    await pumpUntil([second, server], () => server.read() !== null);
    assert.equal(server.peek()?.requestUid, 4);
  });
});

describe("DcPlug forEachWaiting()", () => {
  // The (uid-less) view of what forEachWaiting visits: command and payload.
  function waiting(plug: DcPlug, max?: number): string[] {
    const seen: string[] = [];
    plug.forEachWaiting(
      (cmd, payload) =>
        seen.push(`${cmd}:${new TextDecoder().decode(payload)}`),
      max,
    );
    return seen;
  }

  it("visits the command peek() gives, then those pipelined behind it, taking none", () => {
    const { plug, feed } = fedPlug();
    feed(encodeCommand(false, 1, DcCmd.GET, toBytes("a")));
    feed(encodeCommand(false, 2, DcCmd.HAVE, toBytes("b")));
    feed(encodeCommand(false, 3, DcCmd.REMOVE, toBytes("c")));
    plug.io();
    assert.deepEqual(waiting(plug), [
      `${DcCmd.GET}:a`,
      `${DcCmd.HAVE}:b`,
      `${DcCmd.REMOVE}:c`,
    ]);
    assert.deepEqual(waiting(plug, 2), [`${DcCmd.GET}:a`, `${DcCmd.HAVE}:b`]);
    // Every command is still there, in order, for read().
    for (const uid of [1, 2, 3]) {
      assert.equal(plug.read()?.requestUid, uid);
      assert.ok(plug.consume());
    }
    assert.equal(plug.read(), null);
    assert.deepEqual(waiting(plug), []);
  });

  it("after consume(), starts at the next command", () => {
    const { plug, feed } = fedPlug();
    feed(encodeCommand(false, 1, DcCmd.GET, toBytes("a")));
    feed(encodeCommand(false, 2, DcCmd.GET, toBytes("b")));
    plug.io();
    assert.equal(plug.read()?.requestUid, 1);
    plug.consume();
    assert.deepEqual(waiting(plug), [`${DcCmd.GET}:b`]);
  });

  it("stops at a frame not all there, and at a command of several frames", () => {
    const { plug, feed } = fedPlug();
    feed(encodeCommand(false, 1, DcCmd.GET, toBytes("a")));
    const cut = encodeCommand(false, 2, DcCmd.GET, toBytes("b"));
    feed(cut.subarray(0, cut.length - 1));
    plug.io();
    assert.deepEqual(waiting(plug), [`${DcCmd.GET}:a`]);

    const long = fedPlug();
    long.feed(encodeCommand(false, 1, DcCmd.GET, toBytes("a")));
    long.feed(encodeCommand(false, 2, DcCmd.ADD, new Uint8Array(3000)));
    long.feed(encodeCommand(false, 3, DcCmd.GET, toBytes("c")));
    long.plug.io();
    assert.deepEqual(waiting(long.plug), [`${DcCmd.GET}:a`]);
    // The command of several frames, once it is the one held, is visited
    // (joined), and so are those behind it.
    long.plug.read();
    long.plug.consume();
    assert.deepEqual(
      waiting(long.plug).map((s) => s.slice(0, 2)),
      [`${DcCmd.ADD}:`, `${DcCmd.GET}:`],
    );
  });

  it("stops at a frame read() would refuse, which stays refused", () => {
    const { plug, feed } = fedPlug();
    feed(encodeCommand(false, 1, DcCmd.GET, toBytes("a")));
    feed(rawFrame({ uid: 2, op: 1, protoLevel: 0x00120000 }));
    plug.io();
    assert.deepEqual(waiting(plug), [`${DcCmd.GET}:a`]);
    plug.read();
    assert.equal(plug.consume(), false);
    assert.notEqual(plug.error, null);
  });

  it("visits nothing before io() has pulled a command through, or once closed", () => {
    const { plug, feed } = fedPlug();
    feed(encodeCommand(false, 1, DcCmd.GET, toBytes("a")));
    assert.deepEqual(waiting(plug), []);
    plug.io();
    assert.equal(waiting(plug).length, 1);
    plug.close();
    assert.deepEqual(waiting(plug), []);
  });
});
