// The Redis store on its own (as a proxy will use it, with no server):
// every operation against a real redis-server, binary ids and data of every
// size, expiry to the millisecond, key prefixes, and argument errors.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DcCacheRangeError } from "../../dc_server/mod.ts";
import {
  RedisCache,
  redisCache,
  type RedisStatus,
} from "../../dc_store_redis/mod.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";
import { until } from "../_servers.ts";

const te = new TextEncoder();
const id = (s: string) => te.encode(s);
// Plain bytes of an answer (the store hands out Buffers, a Uint8Array kind).
const u8 = (x: Uint8Array | null) => x === null ? null : new Uint8Array(x);

describe("RedisCache on a standalone Redis", { skip: REDIS_MISSING }, () => {
  let redis: StandaloneRedis;
  let cache: RedisCache;
  before(async () => {
    redis = await StandaloneRedis.start();
    cache = new RedisCache({ url: redis.url });
    await cache.ready();
  });
  after(async () => {
    cache?.close();
    await redis?.stop();
  });

  it("adds, gets, has and removes a session", async () => {
    const now = Date.now();
    const data = Uint8Array.of(1, 2, 3, 4, 5);
    assert.equal(await cache.add(now, 60_000, id("s1"), data), true);
    assert.deepEqual(u8(await cache.get(now, id("s1"))), data);
    assert.equal(await cache.have(now, id("s1")), true);
    assert.equal(await cache.remove(now, id("s1")), true);
    assert.equal(await cache.remove(now, id("s1")), false);
    assert.equal(await cache.get(now, id("s1")), null);
    assert.equal(await cache.have(now, id("s1")), false);
  });

  it("refuses an ADD of a live id and keeps the first data", async () => {
    const now = Date.now();
    assert.equal(await cache.add(now, 60_000, id("dup"), id("first")), true);
    assert.equal(await cache.add(now, 60_000, id("dup"), id("second")), false);
    assert.deepEqual(u8(await cache.get(now, id("dup"))), id("first"));
  });

  it("keys are the prefix and the id's bytes, expiring to the millisecond", async () => {
    const now = Date.now();
    assert.equal(await cache.add(now, 1234, id("ttl"), id("x")), true);
    const pttl = Number(await redis.server.cli("PTTL", "dc:ttl"));
    // PX, not EX: a TTL in milliseconds, not rounded to seconds.
    assert.ok(pttl > 1000 && pttl <= 1234, `PTTL ${pttl}`);
    assert.equal(await redis.server.cli("GET", "dc:ttl"), "x");
  });

  it("never answers a session past its expiry", async () => {
    const t0 = Date.now();
    assert.equal(await cache.add(t0, 150, id("short"), id("x")), true);
    assert.equal(await cache.have(Date.now(), id("short")), true);
    await until(() => Date.now() >= t0 + 152, 2000, "the expiry");
    assert.equal(await cache.get(Date.now(), id("short")), null);
    assert.equal(await cache.have(Date.now(), id("short")), false);
    // Its id is free again.
    assert.equal(
      await cache.add(Date.now(), 60_000, id("short"), id("y")),
      true,
    );
  });

  it("timeout 0 stores nothing, succeeds, and still meets a live id", async () => {
    const now = Date.now();
    assert.equal(await cache.add(now, 0, id("zero"), id("x")), true);
    assert.equal(await cache.get(now, id("zero")), null);
    assert.equal(await redis.server.cli("EXISTS", "dc:zero"), "0");
    assert.equal(await cache.add(now, 60_000, id("zero"), id("live")), true);
    assert.equal(await cache.add(now, 0, id("zero"), id("x")), false);
    assert.deepEqual(u8(await cache.get(now, id("zero"))), id("live"));
  });

  it("keeps binary ids and data of every size up to the limits", async () => {
    const now = Date.now();
    const sizes = [0, 1, 2, 255, 256, 2047, 2048, 2049, 16384, 32767, 32768];
    const pending: Promise<void>[] = [];
    for (let idLen = 1; idLen <= 64; idLen++) {
      for (const [k, size] of sizes.entries()) {
        // One id per (length, size), with bytes that are not text.
        const key = new Uint8Array(idLen).map((_, i) =>
          (i * 37 + idLen) | 0x80
        );
        key[0] = 0xf0 + k;
        const data = new Uint8Array(size).map((_, i) =>
          (i * 131 + idLen) & 0xff
        );
        pending.push((async () => {
          assert.equal(await cache.add(now, 60_000, key, data), true);
          const got = await cache.get(now, key);
          assert.ok(got instanceof Uint8Array);
          assert.deepEqual(
            new Uint8Array(got),
            data,
            `id ${idLen}, data ${size}`,
          );
        })());
      }
    }
    await Promise.all(pending);
    // Bytes that are not UTF-8 are not mangled on the way.
    const raw = Uint8Array.of(0xff, 0xfe, 0x00, 0xc3, 0x28);
    assert.equal(await cache.add(now, 60_000, raw, raw), true);
    assert.deepEqual(u8(await cache.get(now, raw)), raw);
  });

  it("answers 1,000 concurrent operations, GETs batched, each right", async () => {
    const now = Date.now();
    const n = 1000;
    const adds = await Promise.all(
      Array.from(
        { length: n },
        (_, i) => cache.add(now, 60_000, id(`c${i}`), id(`v${i}`)),
      ),
    );
    assert.deepEqual(adds, Array(n).fill(true));
    const gets = await Promise.all(
      Array.from(
        { length: n },
        (_, i) => cache.get(now, id(i % 2 ? `c${i}` : `none${i}`)),
      ),
    );
    gets.forEach((g, i) => {
      if (i % 2) assert.deepEqual(u8(g), id(`v${i}`), `GET ${i}`);
      else assert.equal(g, null, `GET ${i}`);
    });
  });

  it("does not read the caller's buffers after a call returns", async () => {
    const now = Date.now();
    const key = id("reused-0");
    const data = id("first-data");
    const added = cache.add(now, 60_000, key, data);
    const got = cache.get(now, key);
    key.fill(0x41);
    data.fill(0x42);
    assert.equal(await added, true);
    assert.deepEqual(u8(await got), id("first-data"));
  });

  it("treats empty and over-long ids as misses, and range errors on ADD", () => {
    const now = Date.now();
    assert.equal(cache.get(now, new Uint8Array(0)), null);
    assert.equal(cache.have(now, new Uint8Array(65)), false);
    assert.equal(cache.remove(now, new Uint8Array(0)), false);
    assert.throws(() => cache.add(now, 1000, new Uint8Array(0), id("x")), {
      code: "ERR_ID_RANGE",
    });
    assert.throws(
      () => cache.add(now, 1000, id("x"), new Uint8Array(32769)),
      (e: unknown) =>
        e instanceof DcCacheRangeError && e.code === "ERR_DATA_RANGE",
    );
    assert.throws(() => cache.add(now, 604800001, id("x"), id("x")), {
      code: "ERR_TIMEOUT_RANGE",
    });
    assert.throws(() => cache.add(now, 1.5, id("x"), id("x")), {
      code: "ERR_TIMEOUT_RANGE",
    });
    assert.throws(
      () => cache.get(now, "x" as unknown as Uint8Array),
      TypeError,
    );
  });

  it("keeps caches with different prefixes apart, and counts each", async () => {
    const a = redisCache({ url: redis.url, prefix: "app-a:" });
    const b = redisCache(`${redis.url}?prefix=${encodeURIComponent("app*b:")}`);
    try {
      const now = Date.now();
      assert.equal(await a.add(now, 60_000, id("same"), id("from a")), true);
      assert.equal(await b.add(now, 60_000, id("same"), id("from b")), true);
      assert.deepEqual(u8(await a.get(now, id("same"))), id("from a"));
      assert.deepEqual(u8(await b.get(now, id("same"))), id("from b"));
      assert.equal(await b.add(now, 60_000, id("more"), id("x")), true);
      // A glob character in the prefix counts only its own keys.
      assert.equal(await a.numItems(now), 1);
      assert.equal(await b.numItems(now), 2);
      assert.equal(a.stats().items, 1);
    } finally {
      a.close();
      b.close();
    }
  });

  it("rejects calls once closed", async () => {
    const c = new RedisCache({ url: redis.url });
    await c.ready();
    c.close();
    await assert.rejects(Promise.resolve(c.get(Date.now(), id("s1"))));
  });

  it("rejects bad options before connecting", () => {
    assert.throws(() => new RedisCache({ url: "redis://h:0" }), {
      code: "ERR_STORE_URL",
    });
    assert.throws(
      () => new RedisCache({ url: redis.url, commandTimeoutMs: 0 }),
      /commandTimeoutMs 0/,
    );
    assert.throws(
      () => new RedisCache({ url: redis.url, prefix: 5 as unknown as string }),
      /prefix 5/,
    );
  });
});

describe("RedisCache without Redis", { skip: REDIS_MISSING }, () => {
  it("fails every call at once, says why once, and recovers on its own", async () => {
    const redis = await StandaloneRedis.start();
    await redis.server.stop();
    const statuses: RedisStatus[] = [];
    const cache = new RedisCache({
      url: redis.url,
      onStatus: (s) => statuses.push(s),
    });
    try {
      await until(() => statuses.length > 0, 5000, "a status");
      assert.equal(statuses[0].state, "down");
      assert.match(
        statuses[0].message,
        new RegExp(`127\\.0\\.0\\.1:${redis.server.port}.*ECONNREFUSED`),
      );
      const t0 = Date.now();
      await assert.rejects(Promise.resolve(cache.get(Date.now(), id("x"))));
      await assert.rejects(cache.add(Date.now(), 1000, id("x"), id("y")));
      assert.ok(Date.now() - t0 < 500, "failed at once, not after a timeout");
      // Retrying says nothing more.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(statuses.length, 1);
      await redis.server.start();
      await until(() => cache.up, 5000, "the store back up");
      assert.equal(statuses.at(-1)!.state, "up");
      assert.equal(await cache.add(Date.now(), 1000, id("x"), id("y")), true);
    } finally {
      cache.close();
      await redis.stop();
    }
  });
});
