// serve() on its event-driven loop: with a thousand idle clients connected,
// one busy client's requests cost visits of that client only. Counted as
// work (visits per request), never timed.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../dc_server/mod.ts";
import { NalLoop } from "../../nal/mod.ts";
import {
  addPayload,
  bytes,
  command,
  concat,
  OP,
  RawClient,
  visitsForGets,
} from "../_wire.ts";
import {
  laterStore,
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";

const IDLE = 1000;
const REQUESTS = 200;

for (const { adapter, transport, label } of matrix()) {
  describe(`serve() with ${IDLE} idle clients (${label})`, () => {
    it(`one client's ${REQUESTS} requests visit that client only`, async () => {
      const tmp = makeTempDir();
      const loop = new NalLoop();
      const idle: RawClient[] = [];
      let busy: RawClient | null = null;
      const server = await serve({
        listen: listenAddress(transport, tmp),
        adapter,
        loop,
      });
      try {
        for (let i = 0; i < IDLE; i++) {
          idle.push(await RawClient.connect(server.addr));
        }
        busy = await RawClient.connect(server.addr);
        await until(
          () => server.stats().connections === IDLE + 1,
          10_000,
          "every client accepted",
        );
        await loop.idle();
        const { visits, turns } = await visitsForGets(loop, busy, REQUESTS);
        // Each request wakes the busy client's entry (its bytes, then
        // perhaps its drained answer); a loop that looked at every client
        // would make over a thousand visits per request.
        assert.ok(
          visits <= 3 * REQUESTS,
          `${visits} visits for ${REQUESTS} requests`,
        );
        assert.ok(visits >= REQUESTS, `${visits} visits: fewer than requests`);
        assert.ok(turns <= visits, "no turn without a visit");
        assert.equal(
          loop.stats().entries,
          IDLE + 2,
          "each client and the listener",
        );
      } finally {
        busy?.close();
        for (const c of idle) c.close();
        await server.close();
        await loop.close();
        removeDir(tmp);
      }
    });
  });
}

describe("serve() with an asynchronous store", () => {
  it("a client waiting for its store's answers is not visited meanwhile", async () => {
    const tmp = makeTempDir();
    const loop = new NalLoop();
    const server = await serve({
      listen: listenAddress("UNIX", tmp),
      cache: laterStore,
      loop,
    });
    const c = await RawClient.connect(server.addr);
    try {
      c.send(command(1, OP.ADD, addPayload("s", "session data", 60_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      await loop.idle();
      const before = loop.stats().visits;
      // More than the 16 a client may have in flight: the rest wait, read
      // but not served, until answers come back.
      const gets = [];
      for (let i = 0; i < 64; i++) {
        gets.push(command(10 + i, OP.GET, bytes("s")));
      }
      c.send(concat(gets));
      for (let i = 0; i < 64; i++) assert.equal((await c.answer()).uid, 10 + i);
      const visits = loop.stats().visits - before;
      // A visit per answer (or per batch of them) and per arrival; waiting
      // in a spin would make thousands over the store's milliseconds.
      assert.ok(visits <= 3 * 64, `${visits} visits for 64 requests`);
    } finally {
      c.close();
      await server.close();
      await loop.close();
      removeDir(tmp);
    }
  });
});
