// `distcache client -store redis+cluster://...`: proxies straight on a
// Redis Cluster of 3 masters and 3 replicas, no cache server anywhere. The
// captured exchanges give the C server's bytes through it, and a master
// killed (kill -9) under 8 clients of one proxy fails requests only for
// the failover window: no client dropped, no restart, every session
// replicated before the kill still there, and seen through a second proxy.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { CliSandbox, listenAddr } from "../_cli.ts";
import { replay, serverVectors } from "../_golden.ts";
import { REDIS_MISSING, RedisCluster } from "../_redis.ts";
import { ask, bytes, OP, RawClient } from "../_wire.ts";
import { survivesMasterKill } from "./_failover.ts";

const COMMAND_TIMEOUT_MS = 1000;

describe("distcache client -store on a Redis Cluster (3 masters, 3 replicas)", {
  skip: REDIS_MISSING,
}, () => {
  const box = new CliSandbox("dc-proxy-cluster-");
  let cluster: RedisCluster;
  before(async () => {
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.stop();
  });

  const proxy = async (name: string): Promise<string> =>
    listenAddr(
      await box.start([
        "client",
        "-listen",
        `UNIX:${path.join(box.dir, name)}`,
        "-store",
        cluster.url,
        "-store-timeout",
        String(COMMAND_TIMEOUT_MS),
      ]),
    );

  it("gives the C server's answer bytes for every captured exchange", async () => {
    const addr = await proxy("golden.sock");
    for (const vector of serverVectors()) await replay(addr, vector);
  });

  it("keeps serving through a master's kill -9, and a second proxy sees every session", async () => {
    const a = await proxy("a.sock");
    const b = await proxy("b.sock");
    await survivesMasterKill(cluster, a, COMMAND_TIMEOUT_MS);
    const c = await RawClient.connect(b);
    try {
      for (let i = 0; i < 300; i += 7) {
        assert.equal(
          new TextDecoder().decode(await ask(c, i, OP.GET, bytes(`kept-${i}`))),
          `session kept-${i}`,
        );
      }
    } finally {
      c.close();
    }
  });
});
