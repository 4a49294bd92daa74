// A Cluster master killed (kill -9) under 8 clients of a server or a proxy
// on that Cluster: its replica takes over, requests fail only for the
// failover window and then succeed again, no client is dropped, and the
// sessions written (and replicated) before the kill are all still there.

import assert from "node:assert/strict";
import type { RedisCluster } from "../_redis.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";
import { Traffic } from "./_traffic.ts";

/**
 * Writes 300 sessions through `addr`, checks they spread over the three
 * masters, kills the master of the first one under traffic and checks the
 * failover as above; resolves with how long requests failed after the kill.
 */
export async function survivesMasterKill(
  cluster: RedisCluster,
  addr: string,
  commandTimeoutMs: number,
  prefix = "dc:",
): Promise<number> {
  const c = await RawClient.connect(addr);
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

    traffic = new Traffic({ addr }, 8, commandTimeoutMs);
    await traffic.succeeds(200, "traffic before the kill");
    const victim = await cluster.masterOf(`${prefix}kept-0`);
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
    return lastFailure - killedAt;
  } finally {
    await traffic?.stop().catch(() => {});
    c.close();
  }
}
