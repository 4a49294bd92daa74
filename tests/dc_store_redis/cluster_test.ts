// Our server on a Redis Cluster of 3 masters and 3 replicas: every
// operation through it, sessions spread over the slots, and a master killed
// (kill -9) while 8 clients run: its replica takes over, requests fail only
// for the failover window and then succeed again, and the sessions written
// (and replicated) before the kill are all still there.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { serve, type Server } from "../../dc_server/mod.ts";
import { redisCache } from "../../dc_store_redis/mod.ts";
import { replay, serverVectors } from "../_golden.ts";
import { REDIS_MISSING, RedisCluster } from "../_redis.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";
import { Traffic } from "./_traffic.ts";

const COMMAND_TIMEOUT_MS = 1000;

describe("our server on a Redis Cluster (3 masters, 3 replicas)", {
  skip: REDIS_MISSING,
}, () => {
  let cluster: RedisCluster;
  let server: Server;
  before(async () => {
    cluster = await RedisCluster.start();
    server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({
        url: cluster.url,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
      }),
    });
  });
  after(async () => {
    await server?.close();
    await cluster?.stop();
  });

  it("gives the C server's answer bytes for every captured exchange", async () => {
    for (const vector of serverVectors()) await replay(server.addr, vector);
  });

  it("spreads sessions over every master, and keeps them through a master's kill -9", async () => {
    const c = await RawClient.connect(server.addr);
    const ids = Array.from({ length: 300 }, (_, i) => `kept-${i}`);
    let traffic: Traffic | null = null;
    try {
      for (const [i, id] of ids.entries()) {
        c.send(command(i, OP.ADD, addPayload(id, `session ${id}`, 600_000)));
        assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      }
      const masters = await cluster.masters();
      assert.equal(masters.length, 3);
      const perMaster = await Promise.all(
        masters.map(async (m) => Number(await m.cli("DBSIZE"))),
      );
      assert.ok(perMaster.every((n) => n > 30), `per master: ${perMaster}`);
      // Written and replicated: each replica has all its master's writes.
      await cluster.waitReplicated();

      traffic = new Traffic(server, 8, COMMAND_TIMEOUT_MS);
      await traffic.succeeds(200, "traffic before the kill");
      const victim = await cluster.masterOf("dc:kept-0");
      const killedAt = Date.now();
      await victim.kill();
      // Requests to the dead master's slots fail until its replica has
      // taken over; then everything succeeds again.
      await traffic.fails(1, "failures while the master is dead");
      await cluster.waitHealthy(30_000);
      await traffic.succeeds(500, "traffic after the failover", 30_000);
      const lastFailure = traffic.lastFailureAt;
      await traffic.succeeds(500, "traffic well after the failover", 30_000);
      assert.equal(
        traffic.lastFailureAt,
        lastFailure,
        "no failure once the replica took over",
      );
      await traffic.stop();
      console.log(
        `failover: requests failed for ${
          lastFailure - killedAt
        } ms after the kill (${traffic.failed} failures, slowest answer ${traffic.slowest} ms)`,
      );
      assert.equal((await cluster.masters()).length, 3, "a replica took over");

      for (const [i, id] of ids.entries()) {
        c.send(command(1000 + i, OP.GET, bytes(id)));
        const a = await c.answer();
        assert.equal(new TextDecoder().decode(a.payload), `session ${id}`, id);
      }
    } finally {
      await traffic?.stop().catch(() => {});
      c.close();
    }
  });
});
