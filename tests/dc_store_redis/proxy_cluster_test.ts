// `distcache client -store redis+cluster://...`: proxies straight on a
// Redis Cluster of 3 masters and 3 replicas, no cache server anywhere. The
// captured exchanges give the C server's bytes through it, and a master
// killed (kill -9) under 8 clients of one proxy fails requests only for
// the failover window: no client dropped, no restart, every session
// replicated before the kill still there, and seen through a second proxy.
// The README's commands for this deployment run as written (hosts and
// paths substituted).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { CliSandbox, listenAddr, runCli, SOURCE_ROOT } from "../_cli.ts";
import { replay, serverVectors } from "../_golden.ts";
import { REDIS_MISSING, RedisCluster } from "../_redis.ts";
import { addPayload, ask, bytes, OP, RawClient } from "../_wire.ts";
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

  it("the README's commands: the Cluster as it starts one, the proxy -daemon on it, distcache test through it", async () => {
    const readme = fs.readFileSync(path.join(SOURCE_ROOT, "README.md"), "utf8");
    const at = readme.indexOf("### No cache server at all");
    assert.ok(at > 0, "the README's section");
    const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1];
    const lines = block.split("\n").filter((l) =>
      l !== "" && !l.startsWith("#")
    );
    // The Cluster is started as the README says (the test harness's flags).
    const server = lines.find((l) => l.startsWith("redis-server "))!;
    assert.match(server, /--cluster-enabled yes --cluster-node-timeout 1000/);
    const create = lines.find((l) =>
      l.startsWith("redis-cli --cluster create")
    )!;
    assert.match(create, /--cluster-replicas 1 --cluster-yes$/);
    assert.equal(create.match(/10\.0\.0\.2\d:7000/g)?.length, 6);
    // Hosts 10.0.0.21.. are the harness's nodes; paths in the sandbox.
    const local = (line: string) =>
      line.replace(
        /10\.0\.0\.2(\d):7000/g,
        (_, n) => `127.0.0.1:${cluster.nodes[Number(n) - 1].port}`,
      ).replaceAll("/tmp/scache", path.join(box.dir, "scache"))
        .replaceAll("/run/", `${box.dir}/`).split(" ").slice(1);
    const ours = lines.filter((l) => l.startsWith("distcache "));
    assert.deepEqual(ours.map((l) => l.split(" ")[1]), ["client", "test"]);
    const [client, test] = ours.map(local);
    const pidfile = client[client.indexOf("-pidfile") + 1];
    const daemon = await runCli(client);
    assert.equal(daemon.code, 0, daemon.stderr);
    const pid = Number(fs.readFileSync(pidfile, "utf8"));
    try {
      const sock = path.join(box.dir, "scache");
      assert.equal(fs.statSync(sock).mode & 0o777, 0o660);
      const res = await runCli(test);
      assert.equal(res.code, 0, res.stdout + res.stderr);
      assert.match(res.stdout, /3000 operations/);
      // Sessions through it land in the Cluster, spread over its masters.
      const c = await RawClient.connect(`UNIX:${sock}`);
      try {
        for (let i = 0; i < 60; i++) {
          assert.deepEqual(
            await ask(c, i, OP.ADD, addPayload(`readme-${i}`, "x", 60_000)),
            Uint8Array.of(0),
          );
        }
      } finally {
        c.close();
      }
      const masters = await cluster.masters();
      const keys = await Promise.all(masters.map((m) => m.cli("DBSIZE")));
      assert.ok(keys.every((k) => Number(k) > 0), `keys per master: ${keys}`);
    } finally {
      process.kill(pid, "SIGTERM");
    }
  });

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
