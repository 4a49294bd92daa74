// A client that shuts down its writing side after pipelining requests
// (socket.end(), shutdown(SHUT_WR)) still gets every answer, then sees the
// server close: the peer's end of stream means "no more requests", not
// "gone".

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { addPayload, bytes, command, concat, OP, RawClient } from "../_wire.ts";
import { laterStore, matrix, serverForTests } from "../_servers.ts";

const GETS = 100;
// The largest session that fits one ADD (32768 bytes of payload: timeout,
// id length, id, data).
const sizeFor = (id: string) => 32768 - 8 - id.length;

for (const { adapter, transport, label } of matrix()) {
  describe(`half-close with answers still to come from the store (${label})`, () => {
    const server = serverForTests(transport, {
      adapter,
      sessions: 1000,
      cache: laterStore,
    });

    it("40 pipelined GETs, then end(): all answered in order, then closed", async () => {
      const c = await RawClient.connect(server.current().addr);
      try {
        c.send(command(1, OP.ADD, addPayload("later", "session data", 60_000)));
        assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
        const gets = [];
        for (let i = 0; i < 40; i++) {
          gets.push(command(100 + i, OP.GET, bytes("later")));
        }
        c.send(concat(gets));
        c.socket.end();
        for (let i = 0; i < 40; i++) {
          const ans = await c.answer();
          assert.equal(ans.uid, 100 + i);
          assert.equal(new TextDecoder().decode(ans.payload), "session data");
        }
        assert.ok(await c.waitClosed(), "the server closed after answering");
      } finally {
        c.close();
      }
    });
  });

  describe(`half-close over ${label}`, () => {
    const server = serverForTests(transport, { adapter, sessions: 1000 });

    it(`${GETS} pipelined GETs of 32 KB sessions, then end(): all answered, then closed`, async () => {
      const id = `half-${label}`;
      const data = new Uint8Array(sizeFor(id)).map((_, i) => (i * 13) & 0xff);
      const c = await RawClient.connect(server.current().addr);
      try {
        c.send(command(1, OP.ADD, addPayload(id, data, 60_000)));
        assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
        const gets = [];
        for (let i = 0; i < GETS; i++) {
          gets.push(command(100 + i, OP.GET, bytes(id)));
        }
        c.send(concat(gets));
        c.socket.end();
        for (let i = 0; i < GETS; i++) {
          const ans = await c.answer(10_000).catch((err: Error) => {
            throw new Error(`answer ${i + 1} of ${GETS}: ${err.message}`);
          });
          assert.equal(ans.uid, 100 + i);
          assert.equal(ans.payload.length, data.length, `answer ${i + 1}`);
          assert.deepEqual(ans.payload, data, `answer ${i + 1}`);
        }
        assert.ok(await c.waitClosed(), "the server closed after answering");
        assert.equal(c.buffered, 0, "nothing after the last answer");
      } finally {
        c.close();
      }
    });

    it("a request cut short by the end of stream is dropped with the connection", async () => {
      const c = await RawClient.connect(server.current().addr);
      try {
        const whole = command(7, OP.HAVE, bytes("x"));
        const cut = command(8, OP.GET, bytes("y")).subarray(0, 10);
        c.send(concat([whole, cut]));
        c.socket.end();
        const ans = await c.answer();
        assert.equal(ans.uid, 7);
        assert.deepEqual(ans.payload, Uint8Array.of(1));
        assert.ok(await c.waitClosed(), "closed: the cut request never ends");
        assert.equal(c.buffered, 0);
      } finally {
        c.close();
      }
    });
  });
}
