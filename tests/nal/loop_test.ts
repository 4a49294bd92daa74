// NalLoop over every adapter: a turn visits only the entries with news,
// the accept helper hands over every connection, work left after a visit
// brings a second visit without an event, an end of stream is news once
// (not a spin), timers run in turns, and stop/close end it.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  NalAddress,
  NalConnection,
  NalListener,
  NalLoop,
  type NalLoopEntry,
} from "../../nal/mod.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";
import { drain, utf8, within } from "./_helpers.ts";

const COUNT = 50;

for (const { adapter, transport, label } of matrix()) {
  describe(`NalLoop (${label})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-loop-");
    });
    after(() => removeDir(dir));

    // A listener on a loop whose accepted connections are counted per visit.
    async function setUp(n: number) {
      const list = new NalListener({ adapter });
      assert.ok(
        await list.create(NalAddress.parse(listenAddress(transport, dir))),
      );
      const loop = new NalLoop();
      const served: NalConnection[] = [];
      const visits = new Map<NalConnection, number>();
      const entries = new Map<NalConnection, NalLoopEntry>();
      loop.accept(list, (conn) => {
        served.push(conn);
        visits.set(conn, 0);
        entries.set(
          conn,
          loop.add(conn, (entry) => {
            visits.set(conn, visits.get(conn)! + 1);
            if (!conn.io()) {
              entry.remove();
              conn.close();
            }
          }),
        );
      });
      const clients: NalConnection[] = [];
      for (let i = 0; i < n; i++) {
        const c = new NalConnection({ adapter });
        assert.ok(c.create(NalAddress.parse(list.address())));
        clients.push(c);
      }
      await until(() => served.length === n, 5000, "every connection accepted");
      await loop.idle();
      const close = async () => {
        for (const c of clients) c.close();
        for (const s of served) s.close();
        await loop.close();
        await list.closeAndWait();
      };
      return { list, loop, served, visits, entries, clients, close };
    }

    it(`bytes on one of ${COUNT} connections visit that one only`, async () => {
      const t = await setUp(COUNT);
      try {
        for (const c of t.clients) c.io();
        await t.loop.idle();
        const before = new Map(t.visits);
        const stats = t.loop.stats();
        t.clients[7].getSend().write(utf8.encode("news"));
        t.clients[7].io();
        // The accepted end of client 7 is the one that gets the bytes.
        await until(
          () => t.served.some((s) => s.getRead().used() === 4),
          5000,
          "the bytes to arrive",
        );
        await t.loop.idle();
        const visited = t.served.filter((s) =>
          t.visits.get(s)! > before.get(s)!
        );
        assert.equal(visited.length, 1, "only the connection with news");
        assert.equal(drain(visited[0]).length, 4);
        assert.ok(t.loop.stats().visits - stats.visits <= 2);
      } finally {
        await t.close();
      }
    });

    it("the peer's end of stream is news once, not on every turn", async () => {
      const t = await setUp(1);
      try {
        // An owner that keeps the ended connection (it still has answers to
        // send, say) must not be visited again and again for the end.
        const server = t.served[0];
        t.entries.get(server)!.remove();
        let visits = 0;
        let ended = false;
        const kept = t.loop.add(server, () => {
          visits++;
          server.io();
          ended = server.peerEnded();
        });
        await t.loop.idle();
        const before = visits;
        t.clients[0].end();
        t.clients[0].io();
        await until(() => ended, 5000, "the end of stream");
        // idle() resolves only once no visit is due: a spin never would.
        await within(t.loop.idle());
        assert.ok(
          visits - before <= 2,
          `${visits - before} visits for one end`,
        );
        // The socket is still open: an answer can still be sent.
        server.getSend().write(utf8.encode("late answer"));
        kept.mark();
        await until(
          () => {
            t.clients[0].io();
            return t.clients[0].getRead().used() === 11;
          },
          5000,
          "the late answer",
        );
      } finally {
        await t.close();
      }
    });

    it("an entry that still has work after its visit is visited again without an event", async () => {
      const t = await setUp(1);
      try {
        const server = t.served[0];
        const client = t.clients[0];
        // 20 bytes arrive; each visit takes 5 of them out of the read
        // buffer with ioCap(), leaving arrived bytes no event announces.
        const got: number[] = [];
        const entry = t.entries.get(server)!;
        entry.remove();
        const again = t.loop.add(server, (e) => {
          server.ioCap(null, 5, Infinity);
          got.push(...drain(server));
          if (got.length === 20) e.remove();
        });
        client.getSend().write(new Uint8Array(20).fill(3));
        client.io();
        await within(until(() => again.removed, 5000, "all 20 bytes"));
        assert.equal(got.length, 20);
      } finally {
        await t.close();
      }
    });
  });
}

describe("NalLoop timers and lifetime", () => {
  it("after() runs in a turn, cancel() stops it, close() cancels the rest", async () => {
    const loop = new NalLoop();
    const ran: string[] = [];
    loop.after(5, () => ran.push("a"));
    const b = loop.after(5, () => ran.push("b"));
    b.cancel();
    await until(() => ran.length === 1, 2000, "the timer");
    loop.after(60_000, () => ran.push("late"));
    await within(loop.close());
    assert.deepEqual(ran, ["a"]);
  });

  it("mark() brings a visit; after stop() nothing is visited", async () => {
    const loop = new NalLoop();
    let visits = 0;
    const entry = loop.add(new NalConnection(), () => visits++);
    await loop.idle();
    assert.equal(visits, 1, "one visit after add()");
    entry.mark();
    entry.mark();
    await loop.idle();
    assert.equal(visits, 2, "two marks before a turn: one visit");
    loop.stop();
    await within(loop.finished);
    entry.mark();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(visits, 2);
  });

  it("await using closes the loop", async () => {
    let finished: Promise<void>;
    {
      await using loop = new NalLoop();
      finished = loop.finished;
    }
    await within(finished);
  });

  it("beforeVisits() sees each turn's entries before any of them is visited; remove() stops it", async () => {
    await using loop = new NalLoop();
    const log: string[] = [];
    const hook = loop.beforeVisits((entries) => {
      log.push(
        `prepare ${entries.filter((e) => !e.removed).map(name).join(",")}`,
      );
    });
    const names = new Map<NalLoopEntry, string>();
    const name = (e: NalLoopEntry) => names.get(e)!;
    const a = loop.add(
      new NalConnection(),
      (e) => log.push(`visit ${name(e)}`),
    );
    const b = loop.add(
      new NalConnection(),
      (e) => log.push(`visit ${name(e)}`),
    );
    names.set(a, "a").set(b, "b");
    await loop.idle();
    assert.deepEqual(log, ["prepare a,b", "visit a", "visit b"]);
    log.length = 0;
    b.mark();
    await loop.idle();
    assert.deepEqual(log, ["prepare b", "visit b"]);
    log.length = 0;
    hook.remove();
    a.mark();
    await loop.idle();
    assert.deepEqual(log, ["visit a"]);
    a.remove();
    b.remove();
  });

  it("a visit that throws ends the loop with its error", async () => {
    const loop = new NalLoop();
    loop.add(new NalConnection(), () => {
      throw new Error("boom");
    });
    await assert.rejects(within(loop.finished), /boom/);
  });
});
