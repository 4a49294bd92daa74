// Our server with its sessions in a real Redis: the C server's captured
// exchanges give the same answer bytes as on the default store (every
// operation and error code), over every adapter and transport; pipelined
// and concurrent requests are answered in order and right.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../dc_server/mod.ts";
import { redisCache } from "../../dc_store_redis/mod.ts";
import { describeReplays } from "../_golden.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";
import { until } from "../_servers.ts";
import {
  addPayload,
  addsAndGetsInOrder,
  bytes,
  command,
  concat,
  OP,
  RawClient,
} from "../_wire.ts";

describe("our server on a Redis store", { skip: REDIS_MISSING }, () => {
  let redis: StandaloneRedis;
  before(async () => {
    redis = await StandaloneRedis.start();
  });
  after(async () => {
    await redis?.stop();
  });

  describeReplays("the default store", (label) => ({
    // Each its own keys: the captures build on a fresh store.
    cache: redisCache({ url: redis.url, prefix: `golden-${label}:` }),
  }));

  it("answers 1,000 pipelined requests in order", async () => {
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({ url: redis.url, prefix: "in-order:" }),
    });
    const c = await RawClient.connect(server.addr);
    try {
      await addsAndGetsInOrder(c, 500, "in-order-");
    } finally {
      c.close();
      await server.close();
    }
  });

  it("answers 1,000 concurrent operations over 50 connections, each right", async () => {
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({ url: redis.url, prefix: "concurrent:" }),
    });
    try {
      const conns = await Promise.all(
        Array.from({ length: 50 }, () => RawClient.connect(server.addr)),
      );
      await Promise.all(conns.map(async (c, k) => {
        // 20 in flight on each: ADD, GET of it, HAVE, REMOVE, GET again.
        const reqs: Uint8Array[] = [];
        for (let j = 0; j < 4; j++) {
          const id = `c${k}-${j}`;
          const data = new Uint8Array(100 + k * 300 + j).fill(k);
          reqs.push(command(j * 5, OP.ADD, addPayload(id, data, 60_000)));
          reqs.push(command(j * 5 + 1, OP.GET, bytes(id)));
          reqs.push(command(j * 5 + 2, OP.HAVE, bytes(id)));
          reqs.push(command(j * 5 + 3, OP.REMOVE, bytes(id)));
          reqs.push(command(j * 5 + 4, OP.GET, bytes(id)));
        }
        c.send(concat(reqs));
        for (let j = 0; j < 4; j++) {
          const data = new Uint8Array(100 + k * 300 + j).fill(k);
          const want = [[0], data, [0], [0], [1]];
          for (let n = 0; n < 5; n++) {
            const a = await c.answer();
            assert.equal(a.uid, j * 5 + n);
            assert.deepEqual(a.payload, Uint8Array.from(want[n]));
          }
        }
        c.close();
      }));
      await until(
        () => server.stats().operations === 1000,
        5000,
        "1,000 operations counted",
      );
      assert.equal(server.stats().storeErrors, 0);
    } finally {
      await server.close();
    }
  });

  it("keeps ids and data of the largest sizes, and times out to the millisecond", async () => {
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({ url: redis.url, prefix: "sizes:" }),
    });
    const c = await RawClient.connect(server.addr);
    try {
      const id = new Uint8Array(64).map((_, i) => 255 - i);
      // The largest ADD the wire carries: 8 + 64 + data = 32768 bytes.
      const data = new Uint8Array(32768 - 8 - 64).map((_, i) => i * 13);
      c.send(command(1, OP.ADD, addPayload(id, data, 1500)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      c.send(command(2, OP.GET, id));
      assert.deepEqual((await c.answer()).payload, data);
      const key = concat([bytes("sizes:"), id]);
      const pttl = Number(await redis.server.cliBinary(key, "PTTL"));
      assert.ok(pttl > 1000 && pttl <= 1500, `PTTL ${pttl}`);
    } finally {
      c.close();
      await server.close();
    }
  });
});
