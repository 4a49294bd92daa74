// `distcache server -store <url>` as operators run it: real processes.
// Two servers on one Redis share their sessions and either can die; a
// server whose Redis is away says so in one line and serves once it is
// back; bad store flags are one-line usage errors.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type CliProcess, runCli } from "../_cli.ts";
import { freePort, REDIS_MISSING, StandaloneRedis } from "../_redis.ts";
import { ask, bytes, OP, RawClient } from "../_wire.ts";
import { addOnceUp, assertShared, startStoreServer } from "./_store_cli.ts";

const td = new TextDecoder();

describe("distcache server -store", { skip: REDIS_MISSING }, () => {
  let redis: StandaloneRedis;
  const procs: CliProcess[] = [];
  before(async () => {
    redis = await StandaloneRedis.start();
  });
  after(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null) p.signal("SIGKILL");
    }
    await Promise.all(procs.map((p) => p.exited));
    await redis?.stop();
  });

  it("two servers on one Redis share their sessions; one killed, the other serves them all", async () => {
    const a = await startStoreServer(redis.url, ["-store-prefix", "shared:"]);
    const b = await startStoreServer(redis.url, ["-store-prefix", "shared:"]);
    procs.push(a.proc, b.proc);
    await assertShared(a, b, redis);
  });

  it("says in one line that Redis is unreachable, answers 2, and serves once Redis is there", async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const { proc, addr } = await startStoreServer(url);
    procs.push(proc);
    await proc.waitFor(/cannot reach Redis/);
    const lines = proc.stderr.trim().split("\n");
    assert.equal(lines.length, 1, proc.stderr);
    assert.match(
      lines[0],
      new RegExp(
        `^distcache server: cannot reach Redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*; retrying$`,
      ),
    );
    const c = await RawClient.connect(addr);
    let late: StandaloneRedis | null = null;
    try {
      assert.deepEqual(
        await ask(c, 1, OP.HAVE, bytes("x")),
        Uint8Array.of(2),
        "a failure while Redis is away",
      );
      late = await StandaloneRedis.start([], port);
      await proc.waitFor(/reachable again/);
      await addOnceUp(c, "x", "y", "service");
      assert.equal(td.decode(await ask(c, 3, OP.GET, bytes("x"))), "y");
    } finally {
      c.close();
      proc.signal("SIGTERM");
      await proc.exited;
      await late?.stop();
    }
  });

  for (
    const [args, pattern] of [
      [
        ["-store", "redis://h:0"],
        /flag -store: invalid store URL "redis:\/\/h:0": bad port "0"/,
      ],
      [["-store", "memcached://h"], /the scheme must be one of redis, rediss/],
      [["-store", "redis://u:secret@h:1/x"], /u:\*\*\*@h:1/],
      [["-store-prefix", "x:"], /flag -store-prefix needs -store <url>/],
      [
        ["-store", "redis://h", "-sessions", "1000"],
        /flag -sessions bounds the in-process store/,
      ],
      [
        ["-store", "redis://h", "-store-ca", "/nonexistent/ca.pem"],
        /flag -store-ca: cannot read/,
      ],
    ] as [string[], RegExp][]
  ) {
    it(`server ${args.join(" ")}: exits 1 with one line`, async () => {
      const res = await runCli([
        "server",
        "-listen",
        "IP:127.0.0.1:0",
        ...args,
      ]);
      assert.equal(res.code, 1);
      const lines = res.stderr.trim().split("\n");
      assert.equal(lines.length, 1, res.stderr);
      assert.match(lines[0], pattern);
      assert.doesNotMatch(res.stderr, /secret/);
    });
  }

  it("distcache test passes against a server on Redis", async () => {
    const { proc, addr } = await startStoreServer(redis.url, [
      "-store-prefix",
      "dctest:",
    ]);
    procs.push(proc);
    const res = await runCli(["test", "-connect", addr, "-ops", "3000"]);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /3000 operations/);
  });
});
