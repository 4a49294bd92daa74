// Our server on a Redis watched by Sentinel (redis+sentinel://): a master,
// its replica and one sentinel on loopback. The store finds the master
// through the sentinel, and when the master is killed it follows the
// sentinel's failover to the replica by itself.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { serve, type Server } from "../../dc_server/mod.ts";
import { redisCache } from "../../dc_store_redis/mod.ts";
import { freePort, REDIS_MISSING, RedisProcess } from "../_redis.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";
import { bytes, command, OP, RawClient } from "../_wire.ts";
import { addOnceUp } from "./_store_cli.ts";
import { Traffic } from "./_traffic.ts";

const COMMAND_TIMEOUT_MS = 1000;
const td = new TextDecoder();

describe("our server on Redis behind Sentinel", { skip: REDIS_MISSING }, () => {
  let dir = "";
  let master: RedisProcess;
  let replica: RedisProcess;
  let sentinel: RedisProcess;
  let server: Server;
  before(async () => {
    dir = makeTempDir("dc-redis-sentinel-");
    const sub = (name: string) => {
      const d = path.join(dir, name);
      fs.mkdirSync(d);
      return d;
    };
    master = new RedisProcess(await freePort(), sub("master"), []);
    await master.start();
    replica = new RedisProcess(await freePort(), sub("replica"), [
      "--replicaof",
      "127.0.0.1",
      String(master.port),
    ]);
    await replica.start();
    await until(
      async () =>
        (await master.cli("INFO", "replication")).includes(
          "connected_slaves:1",
        ),
      10_000,
      "the replica",
    );
    // A sentinel rewrites its configuration file: one of its own.
    const sdir = sub("sentinel");
    const conf = path.join(sdir, "sentinel.conf");
    fs.writeFileSync(
      conf,
      [
        `sentinel monitor main 127.0.0.1 ${master.port} 1`,
        "sentinel down-after-milliseconds main 1000",
        "sentinel failover-timeout main 5000",
        "",
      ].join("\n"),
    );
    sentinel = new RedisProcess(await freePort(), sdir, [], {
      sentinelConf: conf,
    });
    await sentinel.start();
    server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: redisCache({
        url: `redis+sentinel://127.0.0.1:${sentinel.port}/main`,
        commandTimeoutMs: COMMAND_TIMEOUT_MS,
      }),
    });
  });
  after(async () => {
    await server?.close();
    await Promise.all([master, replica, sentinel].map((p) => p?.kill()));
    removeDir(dir);
  });

  it("serves through the master the sentinel names, and follows a failover", async () => {
    const c = await RawClient.connect(server.addr);
    let traffic: Traffic | null = null;
    try {
      await addOnceUp(c, "first", "via sentinel", "a first session");
      assert.equal(await master.cli("GET", "dc:first"), "via sentinel");
      // Replicated before the kill.
      await until(
        async () => (await replica.cli("GET", "dc:first")) === "via sentinel",
        10_000,
        "replication",
      );
      traffic = new Traffic(server, 8, COMMAND_TIMEOUT_MS);
      await traffic.succeeds(200, "traffic before the kill");
      await master.kill();
      await traffic.fails(1, "failures while the master is dead");
      await traffic.succeeds(300, "traffic after the failover", 30_000);
      await traffic.stop();
      assert.match(await replica.cli("ROLE"), /^master/);
      c.send(command(1, OP.GET, bytes("first")));
      assert.equal(td.decode((await c.answer()).payload), "via sentinel");
    } finally {
      await traffic?.stop().catch(() => {});
      c.close();
    }
  });
});
