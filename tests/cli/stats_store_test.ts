// `distcache client -store <url> -stats ADDR`: the proxy on Redis reports
// the figures of the server engine it runs, as role "proxy" (real
// processes, a real Redis, scraped with fetch()).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { detectRuntime, DISTCACHE_VERSION } from "../../nal/mod.ts";
import { CliSandbox, listenAddr } from "../_cli.ts";
import { parsePrometheus, sampleOf } from "../_prometheus.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";

describe("client -store -stats", { skip: REDIS_MISSING }, () => {
  const box = new CliSandbox("distcache-stats-store-");
  let redis: StandaloneRedis;
  before(async () => {
    redis = await StandaloneRedis.start();
  });
  after(async () => {
    await redis?.stop();
  });

  it("the operations through the proxy move its series; build info says proxy", async () => {
    const proc = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "store-proxy.sock")}`,
      "-store",
      redis.url,
      "-store-prefix",
      "stats:",
      "-stats",
      "IP:127.0.0.1:0",
    ]);
    const stats = /, stats: IP:(\S+)\)$/m.exec(proc.stdout)?.[1];
    assert.ok(stats, proc.stdout);
    const scrape = async () => {
      const res = await fetch(`http://${stats}/metrics`);
      assert.equal(res.status, 200);
      return parsePrometheus(await res.text());
    };
    const before = await scrape();
    assert.equal(
      sampleOf(before, "distcache_build_info", {
        role: "proxy",
        runtime: detectRuntime(),
        version: DISTCACHE_VERSION,
      }),
      1,
    );
    const ctx = await DcCtx.create(listenAddr(proc), DC_CTX_FLAG_PERSISTENT);
    assert.ok(await ctx.addSession("s1", "on redis", 60_000));
    assert.equal(await ctx.hasSession("s1"), true);
    assert.equal(await ctx.hasSession("nope"), false);
    ctx.close();
    const after = await scrape();
    const op = (f: typeof after, command: string, result: string) =>
      sampleOf(f, "distcache_operations_total", { command, result });
    assert.equal(op(after, "add", "ok") - op(before, "add", "ok"), 1);
    assert.equal(op(after, "have", "hit") - op(before, "have", "hit"), 1);
    assert.equal(op(after, "have", "miss") - op(before, "have", "miss"), 1);
    assert.equal(sampleOf(after, "distcache_connections_total"), 1);
    assert.ok(await proc.stop(), "clean shutdown");
  });
});
