// `distcache client -store <url>`: the local proxy straight on Redis, with
// no cache server, as operators run it (real processes, UNIX sockets). Its
// answers are the C server's bytes for every captured exchange (every
// operation and error code); the C dc_test passes through it; two proxies
// on one Redis share their sessions; Redis stopped or hung mid-traffic gets
// every request answered 2 promptly, no client dropped, and service back
// on its own; the operator's flags work, and the link's flags are refused.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { type CliProcess, CliSandbox, listenAddr, runCli } from "../_cli.ts";
import { replay, serverVectors } from "../_golden.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";
import { until } from "../_servers.ts";
import { addPayload, ask, bytes, OP, RawClient } from "../_wire.ts";
import {
  assertDcTestPassed,
  dcTestArgs,
  runC,
  SKIP as C_MISSING,
} from "../interop/_c.ts";
import { addOnceUp, assertShared } from "./_store_cli.ts";
import { survivesHang, Traffic } from "./_traffic.ts";

const td = new TextDecoder();
const COMMAND_TIMEOUT_MS = 400;

describe("distcache client -store (the proxy straight on Redis)", {
  skip: REDIS_MISSING,
}, () => {
  const box = new CliSandbox("dc-proxy-store-");
  let redis: StandaloneRedis;
  before(async () => {
    redis = await StandaloneRedis.start();
  });
  after(async () => {
    await redis?.stop();
  });

  /** `distcache client -listen UNIX:<dir>/<name> -store <url> <extra>`. */
  async function proxy(
    name: string,
    url: string,
    extra: string[] = [],
  ): Promise<{ proc: CliProcess; addr: string }> {
    const proc = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, name)}`,
      "-store",
      url,
      ...extra,
    ]);
    assert.match(proc.stdout, /\(store: redis:\/\/127\.0\.0\.1:\d+[,)]/);
    return { proc, addr: listenAddr(proc) };
  }

  describe("the captured exchanges, over its UNIX socket", () => {
    let addr = "";
    before(async () => {
      addr = (await proxy("golden.sock", redis.url, [
        "-store-prefix",
        "golden:",
      ])).addr;
    });
    for (const vector of serverVectors()) {
      it(`${vector.case}: the C server's answer bytes`, async () => {
        await replay(addr, vector);
      });
    }
  });

  it("C dc_test passes through it, persistent and per-operation, 4 at once", {
    skip: C_MISSING,
  }, async () => {
    const { addr } = await proxy("dctest.sock", redis.url, [
      "-store-prefix",
      "dctest:",
    ]);
    assertDcTestPassed(await runC(dcTestArgs(addr, 5000, true)), 5000);
    assertDcTestPassed(await runC(dcTestArgs(addr, 1000, false)), 1000);
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => runC(dcTestArgs(addr, 2000, true))),
    );
    for (const r of runs) assertDcTestPassed(r, 2000);
  });

  it("two proxies on one Redis share their sessions; one killed, the other serves them all", async () => {
    const shared = ["-store-prefix", "shared:"];
    const a = await proxy("a.sock", redis.url, shared);
    const b = await proxy("b.sock", redis.url, shared);
    await assertShared(a, b, redis);
  });

  it("Redis stopped mid-traffic: every request answered 2 at once, none dropped; back with no restart", async () => {
    const own = await StandaloneRedis.start();
    try {
      const { proc, addr } = await proxy("outage.sock", own.url, [
        "-store-timeout",
        String(COMMAND_TIMEOUT_MS),
      ]);
      const traffic = new Traffic({ addr }, 8, COMMAND_TIMEOUT_MS);
      try {
        await traffic.succeeds(200, "traffic before the outage");
        await own.server.stop();
        await traffic.fails(200, "failure answers during the outage");
        // Down, failures come at once: many more within a few seconds than
        // one per client per command timeout.
        const failedBefore = traffic.failed;
        await until(
          () => traffic.failed >= failedBefore + 100,
          5000,
          "fast failures",
        );
        await proc.waitFor(/cannot reach Redis/);
        await own.server.start();
        await traffic.succeeds(200, "traffic after Redis came back");
        await proc.waitFor(/reachable again/);
        await traffic.stop();
        assert.equal(proc.child.exitCode, null, "the same proxy, still up");
        const lines = proc.stderr.trim().split("\n");
        assert.equal(lines.length, 2, proc.stderr);
        assert.match(
          lines[0],
          /^distcache client: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: .*; retrying$/,
        );
        assert.match(
          lines[1],
          /^distcache client: Redis at .* is reachable again$/,
        );
      } finally {
        await traffic.stop().catch(() => {});
      }
    } finally {
      await own.stop();
    }
  });

  it("Redis hung (SIGSTOP): each request answered 2 within -store-timeout, then served again", async () => {
    const own = await StandaloneRedis.start();
    try {
      const { addr } = await proxy("hung.sock", own.url, [
        "-store-timeout",
        String(COMMAND_TIMEOUT_MS),
      ]);
      await survivesHang(own.server, addr, COMMAND_TIMEOUT_MS);
    } finally {
      await own.stop();
    }
  });

  it("no Redis at start: listens, answers 2, serves once Redis is up", async () => {
    const own = await StandaloneRedis.start();
    await own.server.stop();
    try {
      const { proc, addr } = await proxy("late.sock", own.url);
      await proc.waitFor(/cannot reach Redis/);
      const c = await RawClient.connect(addr);
      try {
        assert.deepEqual(
          await ask(c, 1, OP.HAVE, bytes("x")),
          Uint8Array.of(2),
        );
        await own.server.start();
        await addOnceUp(c, "x", "y", "service once Redis is up");
        assert.equal(td.decode(await ask(c, 2, OP.GET, bytes("x"))), "y");
      } finally {
        c.close();
      }
    } finally {
      await own.stop();
    }
  });

  it("-daemon -pidfile -sockperms 600 -idle: detached, its socket 600, idle clients dropped; SIGTERM cleans up", async () => {
    const sock = path.join(box.dir, "daemon.sock");
    const pidfile = path.join(box.dir, "daemon.pid");
    const pid = await box.startDaemon("client", pidfile, [
      "-listen",
      `UNIX:${sock}`,
      "-store",
      redis.url,
      "-store-prefix",
      "daemon:",
      "-sockperms",
      "600",
      "-idle",
      "300",
    ]);
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    const c = await RawClient.connect(`UNIX:${sock}`);
    assert.deepEqual(
      await ask(c, 1, OP.ADD, addPayload("d", "via the daemon", 60_000)),
      Uint8Array.of(0),
    );
    assert.equal(await redis.server.cli("GET", "daemon:d"), "via the daemon");
    assert.ok(await c.waitClosed(), "an idle client is dropped");
    process.kill(pid, "SIGTERM");
    await until(
      () => !fs.existsSync(pidfile) && !fs.existsSync(sock),
      10_000,
      "the pidfile and the socket removed",
    );
  });

  it("-min-timeout 300000: an ADD of a 10 ms lifetime lives 300 s in Redis (Apache's mod_socache_dc)", async () => {
    const { addr } = await proxy("min.sock", redis.url, [
      "-store-prefix",
      "min:",
      "-min-timeout",
      "300000",
    ]);
    const c = await RawClient.connect(addr);
    try {
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload("apache", "x", 10)),
        Uint8Array.of(0),
      );
      const pttl = Number(await redis.server.cli("PTTL", "min:apache"));
      assert.ok(pttl > 290_000 && pttl <= 300_000, `PTTL ${pttl}`);
    } finally {
      c.close();
    }
  });

  for (
    const [args, pattern] of [
      [
        ["-server", "IP:127.0.0.1:9", "-store", "redis://h"],
        /^distcache client: flags -server and -store exclude each other/,
      ],
      [
        ["-store", "redis://h", "-retry", "100"],
        /^distcache client: flag -retry paces reconnecting to a -server; with -store, -store-timeout bounds each Redis command$/,
      ],
      [
        ["-store", "redis://h", "-timeout", "100"],
        /^distcache client: flag -timeout bounds a request at the -server; with -store, -store-timeout bounds each Redis command$/,
      ],
      [
        ["-store", "redis://h", "-pipeline", "4"],
        /^distcache client: flag -pipeline bounds the requests in flight to a -server; with -store/,
      ],
      [
        ["-server", "IP:127.0.0.1:9", "-store-prefix", "x:"],
        /^distcache client: flag -store-prefix needs -store <url>$/,
      ],
      [
        ["-store", "redis://h:0"],
        /^distcache client: flag -store: invalid store URL "redis:\/\/h:0": bad port "0"/,
      ],
      [
        [],
        /^distcache client: flag -server \(or -connect\) or -store is required$/,
      ],
    ] as [string[], RegExp][]
  ) {
    it(`client ${args.join(" ")}: exits 1 with one line`, async () => {
      const res = await runCli([
        "client",
        "-listen",
        `UNIX:${path.join(box.dir, "never.sock")}`,
        ...args,
      ]);
      assert.equal(res.code, 1);
      const lines = res.stderr.trim().split("\n");
      assert.equal(lines.length, 1, res.stderr);
      assert.match(lines[0], pattern);
    });
  }
});
