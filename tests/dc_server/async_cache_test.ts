// The server on an asynchronous store whose answers the test hands out one
// by one: a client's requests are worked on together (up to 16), their
// answers still leave in request order, a store that fails fails only that
// request (answer 2), and a malformed request behind others drops the
// client once those before it are answered.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type DcCache, serve, type Server } from "../../dc_server/mod.ts";
import { until } from "../_servers.ts";
import {
  addPayload,
  bytes,
  command,
  concat,
  frame,
  OP,
  RawClient,
} from "../_wire.ts";

const td = new TextDecoder();

// A store whose every call waits until the test settles it.
class HeldCache implements DcCache {
  readonly calls: {
    op: string;
    id: string;
    settle: (value: unknown) => void;
    fail: (err: Error) => void;
  }[] = [];

  #hold<T>(op: string, id: Uint8Array): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.calls.push({
        op,
        id: td.decode(id),
        settle: (v) => resolve(v as T),
        fail: reject,
      });
    });
  }
  add(_now: number, _t: number, id: Uint8Array): Promise<boolean> {
    return this.#hold("add", id);
  }
  get(_now: number, id: Uint8Array): Promise<Uint8Array | null> {
    return this.#hold("get", id);
  }
  remove(_now: number, id: Uint8Array): Promise<boolean> {
    return this.#hold("remove", id);
  }
  have(_now: number, id: Uint8Array): Promise<boolean> {
    return this.#hold("have", id);
  }
  numItems(): number {
    return 0;
  }
}

async function withServer(
  body: (server: Server, cache: HeldCache, c: RawClient) => Promise<void>,
): Promise<void> {
  const cache = new HeldCache();
  const server = await serve({ listen: "IP:127.0.0.1:0", cache });
  const c = await RawClient.connect(server.addr);
  try {
    await body(server, cache, c);
  } finally {
    c.close();
    await server.close();
  }
}

describe("the server on an asynchronous store", () => {
  it("works on a client's pipelined requests together and answers them in order", async () => {
    await withServer(async (_server, cache, c) => {
      c.send(concat([
        command(1, OP.GET, bytes("a")),
        command(2, OP.GET, bytes("b")),
        command(3, OP.HAVE, bytes("c")),
      ]));
      await until(() => cache.calls.length === 3, 5000, "3 calls at once");
      assert.deepEqual(cache.calls.map((x) => x.id), ["a", "b", "c"]);
      // The last answer first: it waits for those before it.
      cache.calls[2].settle(true);
      cache.calls[1].settle(bytes("data of b"));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(c.buffered, 0, "nothing before the first answer");
      cache.calls[0].settle(null);
      const answers = [await c.answer(), await c.answer(), await c.answer()];
      assert.deepEqual(answers.map((a) => a.uid), [1, 2, 3]);
      assert.deepEqual(answers[0].payload, Uint8Array.of(1));
      assert.equal(td.decode(answers[1].payload), "data of b");
      assert.deepEqual(answers[2].payload, Uint8Array.of(0));
    });
  });

  it("has at most 16 requests of a client in flight", async () => {
    await withServer(async (_server, cache, c) => {
      const reqs = Array.from(
        { length: 20 },
        (_, i) => command(i, OP.GET, bytes(`k${i}`)),
      );
      c.send(concat(reqs));
      await until(() => cache.calls.length === 16, 5000, "16 calls");
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(cache.calls.length, 16, "the 17th waits");
      cache.calls[0].settle(null);
      await until(() => cache.calls.length === 17, 5000, "the 17th call");
      for (let i = 1; i < 20; i++) {
        await until(() => cache.calls.length > i, 5000, `call ${i}`);
        cache.calls[i].settle(null);
      }
      for (let i = 0; i < 20; i++) assert.equal((await c.answer()).uid, i);
    });
  });

  it("answers 2 for a request the store fails, and keeps the client", async () => {
    await withServer(async (server, cache, c) => {
      c.send(concat([
        command(1, OP.ADD, addPayload("x", "data", 1000)),
        command(2, OP.GET, bytes("x")),
      ]));
      await until(() => cache.calls.length === 2, 5000, "2 calls");
      cache.calls[0].fail(new Error("Redis is down"));
      cache.calls[1].settle(null);
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(2));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(1));
      c.send(command(3, OP.HAVE, bytes("x")));
      await until(() => cache.calls.length === 3, 5000, "the next call");
      cache.calls[2].settle(true);
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      assert.equal(server.stats().storeErrors, 1);
    });
  });

  it("drops a client at a malformed ADD behind pending requests, as the default store does, running nothing after it", async () => {
    await withServer(async (_server, cache, c) => {
      c.send(concat([
        command(1, OP.GET, bytes("a")),
        frame({ uid: 2, op: OP.ADD, data: Uint8Array.of(0, 0, 3) }),
        command(3, OP.GET, bytes("after")),
      ]));
      await until(() => cache.calls.length === 1, 5000, "the first call");
      // Not dropped while the GET before it is in flight.
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(c.closed, false);
      cache.calls[0].settle(bytes("data of a"));
      assert.ok(await c.waitClosed(), "dropped");
      // As with the default store, whose drop comes in the same turn as
      // the answers before it: nothing is sent.
      assert.equal(c.buffered, 0);
      assert.equal(cache.calls.length, 1, "the GET after it never ran");
    });
  });
});
