// NalConnection over every (adapter, transport) pair: a connect that does
// not wait, bytes that move only in io(), closes seen by the peer, failed
// connects; then the in-process pair and the dummy (echo) connection.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  NAL_DEFAULT_BUFFER_SIZE,
  NAL_SELECT_FLAG_READ,
  NAL_SELECT_FLAG_SEND,
  NalAddress,
  NalBuffer,
  NalConnection,
  NalListener,
} from "../../nal/mod.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";
import {
  type Couple,
  drain,
  nextEvent,
  pattern,
  pump,
  text,
  utf8,
  withCouple,
} from "./_helpers.ts";

for (const { adapter, transport, label } of matrix()) {
  describe(`NalConnection (${label})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-conn-");
    });
    after(() => removeDir(dir));
    const on = (fn: (c: Couple) => void | Promise<void>, size = 0) => () =>
      withCouple(adapter, transport, dir, fn, size);

    it("create() returns before the connect completes; isEstablished() turns true later", async () => {
      const list = new NalListener({ adapter });
      const conn = new NalConnection({ adapter });
      try {
        assert.ok(
          await list.create(NalAddress.parse(listenAddress(transport, dir))),
          list.error?.message,
        );
        assert.equal(conn.create(NalAddress.parse(list.address())), true);
        assert.equal(conn.isEstablished(), false);
        // The completed connect is itself a selector event.
        assert.equal(await nextEvent([conn], NAL_SELECT_FLAG_READ), 1);
        assert.equal(conn.isEstablished(), true);
        assert.equal(conn.io(null), true);
      } finally {
        conn.close();
        await list.closeAndWait();
      }
    });

    it(
      "getRead()/getSend() are distinct buffers of the address's size",
      on((c) => {
        assert.ok(c.client.getRead() instanceof NalBuffer);
        assert.notEqual(c.client.getRead(), c.client.getSend());
        assert.equal(c.client.getRead().size(), 5000);
        assert.equal(c.client.getSend().size(), 5000);
        assert.equal(c.client.getRead(), c.client.getRead());
      }, 5000),
    );

    it(
      "bytes leave the send buffer and enter the read buffer only in io()",
      on(async (c) => {
        c.client.getSend().write(utf8.encode("hello"));
        // The socket is ready to send, but select alone sends nothing.
        assert.equal(await nextEvent([c.client], NAL_SELECT_FLAG_SEND), 1);
        assert.equal(c.client.getSend().used(), 5);
        assert.equal(c.client.io(null), true);
        assert.equal(c.client.getSend().used(), 0);
        // The bytes have arrived (READ fires) but wait outside the buffer.
        assert.equal(await nextEvent([c.server], NAL_SELECT_FLAG_READ), 1);
        assert.equal(c.server.getRead().used(), 0);
        await pump([c.server], () => c.server.getRead().used() === 5);
        assert.equal(text.decode(drain(c.server)), "hello");
      }),
    );

    it(
      "ioCap() sends at most maxSend and reads at most maxRead bytes per call",
      on(async (c) => {
        const send = c.client.getSend();
        send.write(pattern(10));
        assert.ok(c.client.ioCap(null, Infinity, 0));
        assert.equal(send.used(), 10);
        assert.ok(c.client.ioCap(null, Infinity, 3));
        assert.equal(send.used(), 7);
        await until(() => {
          assert.ok(c.client.io(null));
          return send.empty();
        });
        await nextEvent([c.server], NAL_SELECT_FLAG_READ);
        const read = c.server.getRead();
        assert.ok(c.server.ioCap(null, 0, Infinity));
        assert.equal(read.used(), 0, "maxRead 0 moves nothing in");
        let calls = 0;
        await until(async () => {
          const before = read.used();
          assert.ok(c.server.ioCap(null, 4, 0));
          const moved = read.used() - before;
          assert.ok(moved <= 4, `one ioCap(4) moved ${moved} bytes`);
          if (moved > 0) calls++;
          else await nextEvent([c.server], NAL_SELECT_FLAG_READ);
          return read.used() === 10;
        });
        assert.ok(calls >= 3);
        assert.deepEqual(drain(c.server), pattern(10));
      }),
    );

    it(
      "carries data both ways at once",
      on(async (c) => {
        const up = pattern(20_000, 1);
        const down = pattern(30_000, 2);
        const gotUp: number[] = [];
        const gotDown: number[] = [];
        let sentUp = 0;
        let sentDown = 0;
        await pump(
          [c.client, c.server],
          () => gotUp.length === up.length && gotDown.length === down.length,
          () => {
            sentUp += c.client.getSend().write(up.subarray(sentUp));
            sentDown += c.server.getSend().write(down.subarray(sentDown));
            gotUp.push(...drain(c.server));
            gotDown.push(...drain(c.client));
          },
        );
        assert.deepEqual(Uint8Array.from(gotUp), up);
        assert.deepEqual(Uint8Array.from(gotDown), down);
      }),
    );

    it(
      "setSize() resizes both buffers of a live connection",
      on(async (c) => {
        assert.equal(c.server.setSize(100), true);
        assert.equal(c.server.getRead().size(), 100);
        assert.equal(c.server.getSend().size(), 100);
        assert.equal(c.server.setSize(0), false);
        assert.equal(c.server.setSize(1.5), false);
        assert.equal(c.server.getRead().size(), 100);
        // 300 bytes still arrive, 100 at a time at most.
        const data = pattern(300);
        let sent = 0;
        const got: number[] = [];
        await pump([c.client, c.server], () => got.length === 300, () => {
          sent += c.client.getSend().write(data.subarray(sent));
          assert.ok(c.server.getRead().used() <= 100);
          got.push(...drain(c.server));
        });
        assert.deepEqual(Uint8Array.from(got), data);
      }, 4096),
    );

    it(
      "the peer reads what was sent before close(), then io() turns false",
      on(async (c) => {
        c.client.getSend().write(utf8.encode("bye"));
        assert.ok(c.client.io(null));
        c.client.close();
        assert.equal(c.client.io(null), false);
        assert.equal(c.client.isEstablished(), false);
        let alive = true;
        const got: number[] = [];
        await pump([c.server], () => !alive, () => {
          alive = c.server.io(null);
          got.push(...drain(c.server));
        });
        assert.equal(text.decode(Uint8Array.from(got)), "bye");
        assert.equal(c.server.error?.code, "ERR_IO");
        assert.match(c.server.error!.message, /closed by the peer/);
        // An accepted connection is named after its listener in errors.
        assert.ok(
          c.server.error!.message.includes(`"client of ${c.list.address()}"`),
          c.server.error!.message,
        );
        // Dead stays dead.
        assert.equal(c.server.io(null), false);
      }),
    );

    it(
      "an accepted connection's close() is seen by the connecting side",
      on(async (c) => {
        c.server.close();
        // The close is a selector event for the other side.
        assert.equal(await nextEvent([c.client], NAL_SELECT_FLAG_READ), 1);
        await until(() => !c.client.io(null), 5000, "io() to turn false");
        assert.equal(c.client.error?.code, "ERR_IO");
      }),
    );

    it(
      "a closed connection is idle again: create() works on it",
      on(async (c) => {
        const second = new NalConnection({ adapter });
        try {
          const again = NalAddress.parse(c.list.address());
          assert.equal(c.client.create(again), false);
          assert.match(c.client.error!.message, /already in use/);
          c.client.close();
          assert.equal(c.client.getRead().size(), 0);
          assert.equal(c.client.create(again), true);
          assert.ok(await c.list.acceptBlock(second));
          await pump([c.client], () => c.client.isEstablished());
          c.client.getSend().write(utf8.encode("again"));
          await pump([c.client, second], () => second.getRead().used() === 5);
          assert.equal(text.decode(drain(second)), "again");
        } finally {
          second.close();
        }
      }),
    );

    it("a connect to nothing fails in io() with ERR_CONNECT", async () => {
      let target = `UNIX:${path.join(dir, "nobody-home")}`;
      if (transport === "TCP") {
        // A port that was free a moment ago and is closed now.
        const probe = new NalListener({ adapter });
        assert.ok(await probe.create(NalAddress.parse("IP:127.0.0.1:0")));
        target = probe.address();
        await probe.closeAndWait();
      }
      const conn = new NalConnection({ adapter });
      try {
        assert.equal(conn.create(NalAddress.parse(target)), true);
        await until(() => !conn.io(null), 5000, "the connect to fail");
        assert.equal(conn.isEstablished(), false);
        assert.equal(conn.error?.code, "ERR_CONNECT");
        assert.ok(conn.error!.message.includes(target), conn.error!.message);
      } finally {
        conn.close();
      }
    });
  });
}

describe("NalConnection.create() refusals", () => {
  it("refuses a listen-only address with ERR_CONNECT", () => {
    const conn = new NalConnection();
    assert.equal(conn.create(NalAddress.parse("IP:9001")), false);
    assert.equal(conn.error?.code, "ERR_CONNECT");
    assert.match(conn.error!.message, /listen-only/);
    assert.equal(conn.io(null), false);
  });

  it("an idle connection has empty zero-size buffers and io() false", () => {
    const conn = new NalConnection();
    assert.equal(conn.getRead().size(), 0);
    assert.equal(conn.getSend().size(), 0);
    assert.equal(conn.isEstablished(), false);
    assert.equal(conn.io(null), false);
  });
});

describe("NalConnection.createPair", () => {
  it("what one end sends, the other reads, both ways", async () => {
    const a = new NalConnection();
    const b = new NalConnection();
    try {
      assert.equal(NalConnection.createPair(a, b, 64), true);
      assert.equal(a.getRead().size(), 64);
      assert.equal(b.getSend().size(), 64);
      await pump([a, b], () => a.isEstablished() && b.isEstablished());
      const ab = pattern(1000, 3);
      const ba = pattern(700, 4);
      const gotB: number[] = [];
      const gotA: number[] = [];
      let sa = 0;
      let sb = 0;
      await pump(
        [a, b],
        () => gotB.length === ab.length && gotA.length === ba.length,
        () => {
          sa += a.getSend().write(ab.subarray(sa));
          sb += b.getSend().write(ba.subarray(sb));
          assert.ok(a.getRead().used() <= 64 && b.getRead().used() <= 64);
          gotB.push(...drain(b));
          gotA.push(...drain(a));
        },
      );
      assert.deepEqual(Uint8Array.from(gotB), ab);
      assert.deepEqual(Uint8Array.from(gotA), ba);
    } finally {
      a.close();
      b.close();
    }
  });

  it("closing one end is seen by the other once it has read everything", async () => {
    const a = new NalConnection();
    const b = new NalConnection();
    try {
      assert.ok(NalConnection.createPair(a, b, 64));
      await pump([a, b], () => a.isEstablished() && b.isEstablished());
      a.getSend().write(utf8.encode("last"));
      assert.ok(a.io(null));
      a.close();
      let alive = true;
      const got: number[] = [];
      await pump([b], () => !alive, () => {
        alive = b.io(null);
        got.push(...drain(b));
      });
      assert.equal(text.decode(Uint8Array.from(got)), "last");
      assert.equal(b.error?.code, "ERR_IO");
    } finally {
      a.close();
      b.close();
    }
  });

  it("refuses the same connection twice, a connection in use, and bad sizes", () => {
    const a = new NalConnection();
    const b = new NalConnection();
    const c = new NalConnection();
    try {
      assert.equal(NalConnection.createPair(a, a, 64), false);
      assert.equal(NalConnection.createPair(a, b, 0), false);
      assert.equal(NalConnection.createPair(a, b, 2.5), false);
      assert.equal(NalConnection.createPair(a, b, 64), true);
      assert.equal(NalConnection.createPair(a, c, 64), false);
      assert.equal(NalConnection.createPair(c, b, 64), false);
      assert.equal(c.createDummy(8), true);
      assert.equal(NalConnection.createPair(c, new NalConnection(), 8), false);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});

describe("NalConnection.close() and buffer memory", () => {
  it("a closed connection's buffer memory serves the next connection, zeroed, and the old buffer is left empty", () => {
    const a = new NalConnection();
    const b = new NalConnection();
    try {
      assert.ok(NalConnection.createPair(a, b, NAL_DEFAULT_BUFFER_SIZE));
      const secret = new Uint8Array(NAL_DEFAULT_BUFFER_SIZE).fill(0x5a);
      assert.equal(a.getSend().write(secret), secret.length);
      const held = a.getSend();
      const memory = held.writePtr().buffer;
      a.close();
      // A caller still holding the buffer finds nothing in it.
      assert.equal(held.used(), 0);
      assert.equal(held.readPtr().length, 0);
      const c = new NalConnection();
      try {
        assert.ok(c.createDummy(NAL_DEFAULT_BUFFER_SIZE));
        const room = c.getSend().writePtr();
        assert.equal(room.buffer, memory, "the same memory, not a fresh array");
        assert.equal(room.length, NAL_DEFAULT_BUFFER_SIZE);
        assert.ok(
          room.every((x) => x === 0),
          "no byte of the closed connection",
        );
      } finally {
        c.close();
      }
    } finally {
      a.close();
      b.close();
    }
  });
});

describe("NalConnection.close() clears what was handed out", () => {
  // The next connection's buffer is cleared only as far as this one's was
  // used: every byte written, or handed out as room by writePtr(), is 0.
  for (
    const [name, use] of [
      [
        "bytes written then taken, and room of writePtr(n) filled",
        (buf: NalBuffer) => {
          buf.write(new Uint8Array(10).fill(0x11));
          buf.takeData(null, 10);
          buf.writePtr(4).fill(0x22);
          buf.wrote(4);
        },
      ],
      [
        "room of writePtr() filled far out and never committed",
        (buf: NalBuffer) => {
          buf.write(new Uint8Array([1, 2, 3]));
          const room = buf.writePtr();
          room[room.length - 1] = 0x33;
          room[100] = 0x44;
        },
      ],
      [
        "bytes moved to the front to make room",
        (buf: NalBuffer) => {
          buf.write(new Uint8Array(NAL_DEFAULT_BUFFER_SIZE - 8).fill(0x55));
          buf.takeData(null, NAL_DEFAULT_BUFFER_SIZE - 16);
          buf.write(new Uint8Array(16).fill(0x66));
        },
      ],
    ] as const
  ) {
    it(name, () => {
      const a = new NalConnection();
      const b = new NalConnection();
      try {
        assert.ok(NalConnection.createPair(a, b, NAL_DEFAULT_BUFFER_SIZE));
        const buf = a.getSend();
        use(buf);
        const memory = buf.writePtr(0).buffer;
        a.close();
        const c = new NalConnection();
        try {
          assert.ok(c.createDummy(NAL_DEFAULT_BUFFER_SIZE));
          const room = c.getSend().writePtr();
          assert.equal(room.buffer, memory, "the same memory, reused");
          const left = room.findIndex((x) => x !== 0);
          assert.equal(left, -1, `byte ${left} of the closed connection`);
        } finally {
          c.close();
        }
      } finally {
        a.close();
        b.close();
      }
    });
  }
});

describe("NalConnection.createDummy", () => {
  it("reads back what was written: one buffer for both directions", () => {
    const conn = new NalConnection();
    try {
      assert.equal(conn.createDummy(16), true);
      assert.equal(conn.getRead(), conn.getSend());
      assert.equal(conn.isEstablished(), true);
      assert.equal(conn.getSend().write(utf8.encode("echo")), 4);
      assert.equal(conn.io(null), true);
      assert.equal(text.decode(drain(conn)), "echo");
    } finally {
      conn.close();
    }
  });

  it("holds no more than its size", () => {
    const conn = new NalConnection();
    try {
      assert.ok(conn.createDummy(4));
      assert.equal(conn.getSend().write(pattern(10)), 4);
      assert.equal(conn.getRead().full(), true);
    } finally {
      conn.close();
    }
  });

  it("setSize() resizes the shared buffer", () => {
    const conn = new NalConnection();
    try {
      assert.ok(conn.createDummy(4));
      conn.getSend().write(utf8.encode("abcd"));
      assert.equal(conn.setSize(2), true);
      assert.equal(conn.getRead().size(), 2);
      assert.equal(text.decode(drain(conn)), "ab");
    } finally {
      conn.close();
    }
  });

  it("refuses a connection in use and bad sizes; after close() it is idle", () => {
    const conn = new NalConnection();
    try {
      assert.equal(conn.createDummy(0), false);
      assert.equal(conn.createDummy(-4), false);
      assert.ok(conn.createDummy(8));
      assert.equal(conn.createDummy(8), false);
      assert.equal(conn.create(NalAddress.parse("IP:127.0.0.1:9")), false);
      conn.close();
      assert.equal(conn.isEstablished(), false);
      assert.equal(conn.io(null), false);
      assert.equal(conn.createDummy(8), true);
    } finally {
      conn.close();
    }
  });
});
