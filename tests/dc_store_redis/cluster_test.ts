// Our server on a Redis Cluster of 3 masters and 3 replicas: every
// operation through it, sessions spread over the slots, and a master killed
// (kill -9) while 8 clients run: its replica takes over, requests fail only
// for the failover window and then succeed again, and the sessions written
// (and replicated) before the kill are all still there.

import { after, before, describe, it } from "node:test";
import { serve, type Server } from "../../dc_server/mod.ts";
import { redisCache } from "../../dc_store_redis/mod.ts";
import { replay, serverVectors } from "../_golden.ts";
import { REDIS_MISSING, RedisCluster } from "../_redis.ts";
import { survivesMasterKill } from "./_failover.ts";

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
    await survivesMasterKill(cluster, server.addr, COMMAND_TIMEOUT_MS);
  });
});
