// NalSelector over every (adapter, transport) pair: which registrations make
// an event (READ, SEND, listeners), timeouts, waiting without one, and the
// "two states in one": every select wipes what was added for it.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  NAL_SELECT_FLAG_READ,
  NAL_SELECT_FLAG_RW,
  NAL_SELECT_FLAG_SEND,
  NalAddress,
  NalConnection,
  NalListener,
  NalSelector,
} from "../../nal/mod.ts";
import { makeTempDir, matrix, removeDir } from "../_servers.ts";
import {
  type Couple,
  drain,
  nextEvent,
  pattern,
  pump,
  utf8,
  withCouple,
  within,
} from "./_helpers.ts";

// Long enough to see that nothing happens; the tests never assert on time.
const IDLE_USEC = 20_000;

describe("NalSelector flags", () => {
  it("READ is 1, SEND is 2, RW is both", () => {
    assert.equal(NAL_SELECT_FLAG_READ, 1);
    assert.equal(NAL_SELECT_FLAG_SEND, 2);
    assert.equal(
      NAL_SELECT_FLAG_RW,
      NAL_SELECT_FLAG_READ | NAL_SELECT_FLAG_SEND,
    );
  });

  it("an idle connection or listener cannot be added", () => {
    const sel = new NalSelector();
    assert.equal(sel.addConn(new NalConnection()), false);
    assert.equal(sel.addListener(new NalListener()), false);
    const dummy = new NalConnection();
    dummy.createDummy(8);
    assert.equal(sel.addConn(dummy), false);
  });

  it("select(0) with nothing added polls and returns 0", async () => {
    assert.equal(await new NalSelector().select(0), 0);
  });
});

for (const { adapter, transport, label } of matrix()) {
  describe(`NalSelector (${label})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-sel-");
    });
    after(() => removeDir(dir));

    // Each test gets a fresh, quiet couple: events left by one test must not
    // leak into the next.
    const on = (fn: (c: Couple) => void | Promise<void>, size = 0) => () =>
      withCouple(adapter, transport, dir, fn, size);

    it(
      "select(usec) with nothing ready returns 0 once the timeout passes",
      on(async (c) => {
        const sel = new NalSelector();
        sel.addConn(c.client);
        sel.addConn(c.server);
        sel.addListener(c.list);
        assert.equal(await sel.select(IDLE_USEC), 0);
      }),
    );

    it(
      "select() without a timeout waits for an event, then returns 1",
      on(async (c) => {
        const sel = new NalSelector();
        sel.addConn(c.server, NAL_SELECT_FLAG_READ);
        let settled = false;
        const waiting = sel.select().finally(() => settled = true);
        await new NalSelector().select(IDLE_USEC);
        assert.equal(settled, false, "select() returned with nothing ready");
        c.client.getSend().write(utf8.encode("wake"));
        assert.ok(c.client.io(null));
        assert.equal(await within(waiting), 1);
      }),
    );

    it(
      "a loop that keeps a dead connection registered does not starve the runtime",
      on(async (c) => {
        c.server.close();
        await pump([c.client], () => !c.client.io(null));
        // The closed connection is an event on every select: a loop that
        // never drops it must still let timers (and other sockets) run.
        let fired = false;
        setTimeout(() => fired = true, 0);
        const sel = new NalSelector();
        let turns = 0;
        while (!fired && turns < 100_000) {
          sel.addConn(c.client);
          assert.equal(await sel.select(), 1);
          turns++;
        }
        assert.ok(fired, `the timer never ran in ${turns} selects`);
      }),
    );

    it(
      "select(usec) returns when data arrives, not at the timeout",
      on(async (c) => {
        const sel = new NalSelector();
        sel.addConn(c.server, NAL_SELECT_FLAG_READ);
        const waiting = sel.select(600_000_000);
        c.client.getSend().write(utf8.encode("wake"));
        assert.ok(c.client.io(null));
        assert.equal(await within(waiting), 1);
      }),
    );

    it(
      "arrived data is an event with READ only",
      on(async (c) => {
        await arrive(c, utf8.encode("data"));
        const sel = new NalSelector();
        sel.addConn(c.server, NAL_SELECT_FLAG_SEND);
        assert.equal(await sel.select(IDLE_USEC), 0);
        sel.addConn(c.server, NAL_SELECT_FLAG_READ);
        assert.equal(await sel.select(0), 1);
        sel.addConn(c.server);
        assert.equal(await sel.select(0), 1, "the default flags include READ");
      }),
    );

    it(
      "arrived data is no event while the read buffer is full",
      on(async (c) => {
        await arrive(c, utf8.encode("more"));
        const read = c.server.getRead();
        read.write(pattern(8));
        assert.ok(read.full());
        const sel = new NalSelector();
        sel.addConn(c.server, NAL_SELECT_FLAG_READ);
        assert.equal(await sel.select(IDLE_USEC), 0);
        read.takeData(null, 1);
        sel.addConn(c.server, NAL_SELECT_FLAG_READ);
        assert.equal(await sel.select(0), 1);
      }, 8),
    );

    it(
      "queued data is an event with SEND only; an empty send buffer is none",
      on(async (c) => {
        const sel = new NalSelector();
        sel.addConn(c.client, NAL_SELECT_FLAG_SEND);
        assert.equal(await sel.select(IDLE_USEC), 0, "nothing to send");
        c.client.getSend().write(utf8.encode("queued"));
        sel.addConn(c.client, NAL_SELECT_FLAG_READ);
        assert.equal(await sel.select(IDLE_USEC), 0);
        sel.addConn(c.client, NAL_SELECT_FLAG_SEND);
        assert.equal(await sel.select(0), 1);
      }),
    );

    it(
      "flags added twice for one connection combine",
      on(async (c) => {
        await arrive(c, utf8.encode("data"));
        const sel = new NalSelector();
        sel.addConn(c.server, NAL_SELECT_FLAG_SEND);
        sel.addConn(c.server, NAL_SELECT_FLAG_READ);
        assert.equal(await sel.select(0), 1);
      }),
    );

    it(
      "delConn() and delListener() take objects out of the next select",
      on(async (c) => {
        const late = new NalConnection({ adapter });
        try {
          await arrive(c, utf8.encode("data"));
          assert.ok(late.create(NalAddress.parse(c.list.address())));
          const sel = new NalSelector();
          assert.ok(await nextListenerEvent(sel, c.list));
          sel.addConn(c.server);
          sel.addListener(c.list);
          assert.equal(sel.delConn(c.server), true);
          assert.equal(sel.delListener(c.list), true);
          assert.equal(sel.delConn(c.server), false, "already removed");
          assert.equal(sel.delListener(c.list), false, "already removed");
          assert.equal(await sel.select(IDLE_USEC), 0);
        } finally {
          late.close();
        }
      }),
    );

    it(
      "a listener with a client to accept is an event until it is accepted",
      on(async (c) => {
        const late = new NalConnection({ adapter });
        const accepted = new NalConnection({ adapter });
        try {
          const sel = new NalSelector();
          sel.addListener(c.list);
          assert.equal(await sel.select(IDLE_USEC), 0);
          assert.ok(late.create(NalAddress.parse(c.list.address())));
          assert.ok(await nextListenerEvent(sel, c.list));
          sel.addListener(c.list);
          assert.equal(await sel.select(0), 1, "still waiting to be accepted");
          assert.ok(c.list.accept(sel, accepted));
          sel.addListener(c.list);
          assert.equal(await sel.select(IDLE_USEC), 0);
        } finally {
          late.close();
          accepted.close();
        }
      }),
    );

    it(
      "a select wipes its registrations: the next one sees only what is added again",
      on(async (c) => {
        await arrive(c, utf8.encode("data"));
        const sel = new NalSelector();
        sel.addConn(c.server);
        assert.equal(await sel.select(0), 1);
        assert.equal(await sel.select(IDLE_USEC), 0, "nothing was added again");
        assert.equal(sel.delConn(c.server), false);
        sel.addConn(c.server);
        assert.equal(await sel.select(0), 1);
      }),
    );

    it(
      "objects added while a select waits are for the next select",
      on(async (c) => {
        await arrive(c, utf8.encode("data"));
        const sel = new NalSelector();
        const waiting = sel.select(IDLE_USEC);
        sel.addConn(c.server);
        assert.equal(await waiting, 0);
        assert.equal(await sel.select(0), 1);
      }),
    );

    it(
      "counts objects with events, each once",
      on(async (c) => {
        const late = new NalConnection({ adapter });
        try {
          await arrive(c, utf8.encode("in"));
          c.server.getSend().write(utf8.encode("out"));
          c.client.getSend().write(utf8.encode("out"));
          assert.ok(late.create(NalAddress.parse(c.list.address())));
          const sel = new NalSelector();
          assert.ok(await nextListenerEvent(sel, c.list));
          // The server has both READ and SEND ready: one object, one count.
          sel.addConn(c.server);
          sel.addConn(c.client);
          sel.addListener(c.list);
          assert.equal(await sel.select(0), 3);
        } finally {
          late.close();
        }
      }),
    );

    it(
      "a peer's close is an event whatever the flags",
      on(async (c) => {
        c.client.close();
        assert.equal(await nextEvent([c.server], NAL_SELECT_FLAG_SEND), 1);
        assert.equal(c.server.io(null), false);
      }),
    );

    it(
      "interrupt() ends a select that waits without a timeout",
      on(async (c) => {
        const sel = new NalSelector();
        sel.addConn(c.server);
        const waiting = sel.select();
        sel.interrupt();
        assert.equal(await within(waiting), 0);
        // The interrupt is spent: the next select waits again.
        sel.addConn(c.server);
        assert.equal(await sel.select(IDLE_USEC), 0);
      }),
    );
  });
}

describe("NalSelector with a connection pair", () => {
  it("data sent by one end wakes a select on the other", async () => {
    const a = new NalConnection();
    const b = new NalConnection();
    try {
      assert.ok(NalConnection.createPair(a, b, 64));
      await pump([a, b], () => a.isEstablished() && b.isEstablished());
      const sel = new NalSelector();
      sel.addConn(a);
      sel.addConn(b);
      await sel.select(0);
      sel.addConn(b, NAL_SELECT_FLAG_READ);
      const waiting = sel.select();
      a.getSend().write(utf8.encode("hi"));
      assert.ok(a.io(null));
      assert.equal(await within(waiting), 1);
      assert.ok(b.io(null));
      assert.deepEqual(drain(b), utf8.encode("hi"));
    } finally {
      a.close();
      b.close();
    }
  });
});

// Has `bytes` arrive at the server without moving them into its buffer.
async function arrive(c: Couple, bytes: Uint8Array): Promise<void> {
  c.client.getSend().write(bytes);
  await pump([c.client], () => c.client.getSend().empty());
  await nextEvent([c.server], NAL_SELECT_FLAG_READ);
}

// Selects on the listener alone until it has a connection to accept.
async function nextListenerEvent(
  sel: NalSelector,
  list: NalListener,
): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    sel.addListener(list);
    if (await sel.select(IDLE_USEC) > 0) return true;
  }
  return false;
}
