// Our server on a Redis that goes away: stopped mid-traffic, hung, or not
// there at start. Every request still gets an answer (the failure answer,
// 2, within the command timeout), no client is dropped, and service comes
// back on its own when Redis does.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve } from "../../dc_server/mod.ts";
import { redisCache, type RedisStatus } from "../../dc_store_redis/mod.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";
import { until } from "../_servers.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";
import { addOnceUp } from "./_store_cli.ts";
import { survivesHang, Traffic } from "./_traffic.ts";

const COMMAND_TIMEOUT_MS = 400;

describe("our server when Redis goes away", { skip: REDIS_MISSING }, () => {
  it("Redis stopped mid-traffic: every request answered 2 at once, none dropped; back on its own", async () => {
    const redis = await StandaloneRedis.start();
    const statuses: RedisStatus[] = [];
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({
        url: redis.url,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
        onStatus: (s) => statuses.push(s),
      }),
    });
    const traffic = new Traffic(server, 8, COMMAND_TIMEOUT_MS);
    try {
      await traffic.succeeds(200, "traffic before the outage");
      await redis.server.stop();
      await traffic.fails(200, "failure answers during the outage");
      assert.equal(statuses[0]?.state, "down");
      assert.match(
        statuses[0].message,
        /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: /,
      );
      // Down, the store fails requests at once rather than at the timeout.
      const failedBefore = traffic.failed;
      await until(
        () => traffic.failed >= failedBefore + 100,
        5000,
        "fast failures",
      );
      await redis.server.start();
      await traffic.succeeds(200, "traffic after Redis came back");
      assert.equal(statuses.at(-1)!.state, "up");
      assert.equal(statuses.length, 2, "one line down, one line up");
      await traffic.stop();
      assert.ok(
        server.stats().storeErrors >= traffic.failed,
        "each failure counted",
      );
    } finally {
      await traffic.stop().catch(() => {});
      await server.close();
      await redis.stop();
    }
  });

  it("Redis hung (SIGSTOP): pending requests answered 2 within the command timeout", async () => {
    const redis = await StandaloneRedis.start();
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({
        url: redis.url,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
      }),
    });
    try {
      await survivesHang(redis.server, server.addr, COMMAND_TIMEOUT_MS);
    } finally {
      await server.close();
      await redis.stop();
    }
  });

  it("no Redis at start: the server listens, answers 2 at once, then serves once Redis is up", async () => {
    const redis = await StandaloneRedis.start();
    await redis.server.stop();
    const statuses: RedisStatus[] = [];
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({
        url: redis.url,
        onStatus: (s) => statuses.push(s),
      }),
    });
    const c = await RawClient.connect(server.addr);
    try {
      await until(() => statuses.length > 0, 5000, "the down status");
      assert.match(statuses[0].message, /ECONNREFUSED/);
      const t0 = Date.now();
      c.send(command(1, OP.ADD, addPayload("early", "x", 60_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(2));
      c.send(command(2, OP.GET, bytes("early")));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(2));
      assert.ok(Date.now() - t0 < 1000, "at once");
      await redis.server.start();
      await addOnceUp(c, "late", "x", "service once Redis is up");
      c.send(command(4, OP.GET, bytes("late")));
      assert.deepEqual((await c.answer()).payload, bytes("x"));
    } finally {
      c.close();
      await server.close();
      await redis.stop();
    }
  });
});
