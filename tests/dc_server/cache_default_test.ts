// The default session store, driven directly with an injected clock: the
// behaviour the server relies on (docs/protocol.md, "Cache semantics"), checked
// by hand for each rule and against a plain Map model under random churn.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  createDefaultCache,
  DcCacheRangeError,
  DefaultCache,
  MIN_MAX_BYTES,
} from "../../dc_server/cache_default.ts";
import { DistcacheError } from "../../nal/errors.ts";
import { toBytes, toHex } from "../../nal/_util.ts";

const HOUR = 3_600_000;

// Deterministic random numbers (mulberry32), so a failure can be replayed.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function filled(len: number, first: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (first + i * 7) & 0xff);
}

// A copy of what get() returned (its view is only valid until the next call).
function got(
  cache: DefaultCache,
  now: number,
  id: Uint8Array,
): number[] | null {
  const data = cache.get(now, id);
  return data === null ? null : Array.from(data);
}

describe("DefaultCache: add, get, have, remove", () => {
  it("returns a stored session until it is removed", () => {
    const cache = new DefaultCache(64);
    const id = toBytes("session-1");
    assert.equal(cache.add(0, HOUR, id, Uint8Array.of(1, 2, 3)), true);
    assert.deepEqual(got(cache, 1, id), [1, 2, 3]);
    assert.equal(cache.have(1, id), true);
    assert.equal(cache.remove(2, id), true);
    assert.equal(cache.get(3, id), null);
    assert.equal(cache.have(3, id), false);
    assert.equal(cache.remove(3, id), false);
    assert.equal(cache.numItems(3), 0);
  });

  it("misses on ids never stored, including empty and over-long ones", () => {
    const cache = new DefaultCache(64);
    cache.add(0, HOUR, toBytes("a"), Uint8Array.of(1));
    for (const id of [toBytes("b"), new Uint8Array(0), new Uint8Array(65)]) {
      assert.equal(cache.get(1, id), null);
      assert.equal(cache.have(1, id), false);
      assert.equal(cache.remove(1, id), false);
    }
    assert.equal(cache.numItems(1), 1);
  });

  it("refuses a second add of a live id and keeps the first data", () => {
    const cache = new DefaultCache(64);
    const id = toBytes("dup");
    assert.equal(cache.add(0, HOUR, id, Uint8Array.of(1)), true);
    assert.equal(cache.add(5, 2 * HOUR, id, Uint8Array.of(2, 2)), false);
    assert.deepEqual(got(cache, 6, id), [1]);
    assert.deepEqual(cache.stats(), {
      items: 1,
      bytes: 4,
      evictions: 0,
      expirations: 0,
    });
    // The refused add did not extend the first session's life either.
    assert.equal(cache.get(HOUR, id), null);
  });

  it("tells apart binary ids that share prefixes, differ in one byte or in length", () => {
    const cache = new DefaultCache(1000);
    const base = filled(64, 0x80);
    const ids: Uint8Array[] = [];
    for (let len = 1; len <= 64; len++) ids.push(base.slice(0, len));
    for (let i = 0; i < 64; i++) {
      const other = base.slice();
      other[i] ^= 0x01;
      ids.push(other);
    }
    ids.push(new Uint8Array(16), new Uint8Array(17), Uint8Array.of(0));
    ids.forEach((id, k) => {
      assert.equal(cache.add(0, HOUR, id, filled(1 + k, k)), true, `id ${k}`);
    });
    ids.forEach((id, k) => {
      assert.deepEqual(
        got(cache, 1, id),
        Array.from(filled(1 + k, k)),
        `id ${k}`,
      );
    });
    assert.equal(cache.numItems(1), ids.length);
  });

  it("stores ids of 1 and 64 bytes and data of 0, 1 and 32768 bytes", () => {
    const cache = new DefaultCache(64);
    const cases = [
      [Uint8Array.of(0xff), new Uint8Array(0)],
      [Uint8Array.of(0x00), Uint8Array.of(9)],
      [filled(64, 1), filled(32768, 3)],
      [filled(64, 2), Uint8Array.of(0)],
    ];
    for (const [id, data] of cases) {
      assert.equal(cache.add(0, HOUR, id, data), true);
    }
    for (const [id, data] of cases) {
      assert.deepEqual(got(cache, 1, id), Array.from(data));
    }
    assert.equal(cache.stats().bytes, 1 + 0 + 1 + 1 + 64 + 32768 + 64 + 1);
  });

  it("rejects ids of 0 or 65 bytes, data over 32768 bytes and negative timeouts", () => {
    const cache = new DefaultCache(64);
    const bad: [() => unknown, string, RegExp][] = [
      [
        () => cache.add(0, 1, new Uint8Array(0), Uint8Array.of(1)),
        "ERR_ID_RANGE",
        /0 bytes.*1\.\.64/,
      ],
      [
        () => cache.add(0, 1, new Uint8Array(65), Uint8Array.of(1)),
        "ERR_ID_RANGE",
        /65 bytes.*1\.\.64/,
      ],
      [
        () => cache.add(0, 1, Uint8Array.of(1), new Uint8Array(32769)),
        "ERR_DATA_RANGE",
        /32769 bytes.*0\.\.32768/,
      ],
      [
        () => cache.add(0, -1, Uint8Array.of(1), Uint8Array.of(1)),
        "ERR_TIMEOUT_RANGE",
        /-1/,
      ],
      [
        () => cache.add(0, NaN, Uint8Array.of(1), Uint8Array.of(1)),
        "ERR_TIMEOUT_RANGE",
        /NaN/,
      ],
    ];
    for (const [call, code, message] of bad) {
      assert.throws(call, (err: unknown) => {
        assert.ok(err instanceof DcCacheRangeError);
        assert.ok(err instanceof DistcacheError);
        assert.equal(err.code, code);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(cache.stats(), {
      items: 0,
      bytes: 0,
      evictions: 0,
      expirations: 0,
    });
  });

  it("keeps its own copy of the id and data", () => {
    const cache = new DefaultCache(64);
    const id = toBytes("copied");
    const data = Uint8Array.of(1, 2, 3, 4);
    cache.add(0, HOUR, id, data);
    data.fill(0);
    const original = id.slice();
    id[0] = 0x58;
    assert.deepEqual(got(cache, 1, original), [1, 2, 3, 4]);
    assert.equal(cache.have(1, id), false);
  });

  it("reads sessions back unchanged when many of mixed sizes share the store", () => {
    const cache = new DefaultCache(2000);
    const rand = prng(7);
    const sessions: [Uint8Array, Uint8Array][] = [];
    const seen = new Set<string>();
    for (let k = 0; k < 2000; k++) {
      const id = filled(1 + Math.floor(rand() * 64), k);
      id[0] = k & 0xff;
      id[id.length - 1] = k >> 8;
      if (seen.has(toHex(id))) continue;
      seen.add(toHex(id));
      const data = filled(Math.floor(rand() * 5000), k * 13);
      sessions.push([id, data]);
      assert.equal(cache.add(0, HOUR, id, data), true);
    }
    for (const [id, data] of sessions) {
      // Typed arrays compare byte-wise, far faster than arrays of numbers.
      assert.deepEqual(cache.get(1, id)?.slice(), data, toHex(id));
    }
  });
});

describe("DefaultCache: expiry", () => {
  it("never returns a session at or after its expiry, purged or not", () => {
    const cache = new DefaultCache(64);
    const a = toBytes("a");
    const b = toBytes("b");
    const c = toBytes("c");
    for (const id of [a, b, c]) cache.add(1000, 500, id, Uint8Array.of(1));
    assert.deepEqual(got(cache, 1499, a), [1]);
    assert.equal(cache.stats().items, 3, "nothing purged yet");
    assert.equal(cache.get(1500, a), null);
    assert.equal(cache.have(1500, b), false);
    assert.equal(cache.remove(9999, c), false);
    assert.equal(cache.stats().expirations, 3);
  });

  it("purges expired sessions when counting", () => {
    const cache = new DefaultCache(64);
    cache.add(0, 100, toBytes("x"), Uint8Array.of(1, 2));
    cache.add(0, 200, toBytes("y"), Uint8Array.of(1, 2, 3));
    cache.add(0, 300, toBytes("z"), Uint8Array.of(1));
    assert.equal(cache.numItems(99), 3);
    assert.equal(cache.numItems(200), 1);
    assert.deepEqual(cache.stats(), {
      items: 1,
      bytes: 2,
      evictions: 0,
      expirations: 2,
    });
    assert.equal(cache.numItems(300), 0);
    assert.equal(cache.stats().bytes, 0);
  });

  it("lets each ADD take expired sessions, so an uncounted store holds only live ones", () => {
    const cache = new DefaultCache(10_000);
    const data = new Uint8Array(512);
    for (let k = 0; k < 1000; k++) {
      cache.add(0, 10, toBytes(`short-${k}`), data);
    }
    let idBytes = 0;
    for (let k = 0; k < 500; k++) {
      cache.add(20, 60_000, toBytes(`long-${k}`), data);
      idBytes += `long-${k}`.length;
    }
    assert.deepEqual(cache.stats(), {
      items: 500,
      bytes: 500 * 512 + idBytes,
      evictions: 0,
      expirations: 1000,
    });
    assert.equal(got(cache, 20, toBytes("long-499"))?.length, 512);
  });

  it("accepts a new add of an expired id, with the new data and lifetime", () => {
    const cache = new DefaultCache(64);
    const id = toBytes("again");
    cache.add(0, 10, id, Uint8Array.of(1));
    assert.equal(cache.add(10, 50, id, Uint8Array.of(2, 2)), true);
    assert.deepEqual(got(cache, 59, id), [2, 2]);
    assert.equal(cache.get(60, id), null);
    assert.deepEqual(cache.stats(), {
      items: 0,
      bytes: 0,
      evictions: 0,
      expirations: 2,
    });
  });

  it("stores a session with timeout 0 that is never returned", () => {
    const cache = new DefaultCache(64);
    const id = toBytes("zero");
    assert.equal(cache.add(5, 0, id, Uint8Array.of(1)), true);
    assert.equal(cache.have(5, id), false);
    assert.equal(cache.numItems(5), 0);
    assert.equal(cache.add(5, 0, id, Uint8Array.of(1)), true);
    assert.equal(cache.get(5, id), null);
  });
});

describe("DefaultCache: a full store", () => {
  for (const max of [64, 65, 300, 1000]) {
    const n = Math.max(1, Math.floor(max / 30));
    it(`at ${max} sessions evicts the ${n} that expire soonest to make room`, () => {
      const cache = new DefaultCache(max);
      // Expiries 1..max in a shuffled order, so the heap is really exercised.
      const rand = prng(max);
      const order = Array.from({ length: max }, (_, i) => i + 1);
      for (let i = max - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const idOf = (t: number) => toBytes(`expires-at-${t}`);
      for (const t of order) {
        assert.equal(
          cache.add(0, t * 1000, idOf(t), Uint8Array.of(t & 0xff)),
          true,
        );
      }
      assert.equal(
        cache.add(0, HOUR, toBytes("newcomer"), Uint8Array.of(7)),
        true,
      );
      for (let t = 1; t <= max; t++) {
        assert.equal(cache.have(0, idOf(t)), t > n, `expiry ${t}`);
      }
      assert.equal(cache.have(0, toBytes("newcomer")), true);
      const stats = cache.stats();
      assert.equal(stats.items, max - n + 1);
      assert.equal(stats.evictions, n);
      assert.equal(stats.expirations, 0);
      // Room for n - 1 more before the next eviction.
      for (let k = 0; k < n - 1; k++) {
        cache.add(0, HOUR, toBytes(`more-${k}`), Uint8Array.of(1));
      }
      assert.equal(cache.stats().evictions, n);
      cache.add(0, HOUR, toBytes("one-too-many"), Uint8Array.of(1));
      assert.equal(cache.stats().evictions, 2 * n);
    });
  }

  it("stores data passed straight from get() of a session the add evicts", () => {
    const cache = new DefaultCache(64);
    for (let k = 10; k < 74; k++) {
      cache.add(0, 1000 + k, toBytes(`s${k}`), filled(130, k));
    }
    // s10 and s11 are evicted, s11 last, so its record is the first reused;
    // the new id is longer, so its bytes land where s11's data began.
    const view = cache.get(0, toBytes("s11"))!;
    assert.equal(cache.add(0, HOUR, toBytes("new-id-10"), view), true);
    assert.equal(cache.stats().evictions, 2);
    assert.deepEqual(
      got(cache, 0, toBytes("new-id-10")),
      Array.from(filled(130, 11)),
    );
  });

  it("purges expired sessions before evicting live ones", () => {
    const cache = new DefaultCache(64);
    for (let k = 0; k < 64; k++) {
      cache.add(0, k < 3 ? 10 : HOUR, toBytes(`s${k}`), Uint8Array.of(k));
    }
    assert.equal(cache.add(10, HOUR, toBytes("new"), Uint8Array.of(1)), true);
    assert.deepEqual(cache.stats(), {
      items: 62,
      bytes: 7 * 3 + 54 * 4 + 4, // s3..s9, s10..s63, new
      evictions: 0,
      expirations: 3,
    });
    for (let k = 3; k < 64; k++) {
      assert.equal(cache.have(10, toBytes(`s${k}`)), true);
    }
  });
});

describe("DefaultCache: a byte budget", () => {
  for (const bad of [MIN_MAX_BYTES - 1, 0, -1, 1.5, NaN, 2 ** 60]) {
    it(`rejects a budget of ${bad}, naming it and the minimum`, () => {
      assert.throws(
        () => new DefaultCache(64, { maxBytes: bad }),
        (err: unknown) =>
          err instanceof DcCacheRangeError && err.code === "ERR_MAX_BYTES" &&
          err.message.includes(String(bad)) &&
          err.message.includes(String(MIN_MAX_BYTES)),
      );
    });
  }

  it("holds one largest session at the smallest budget, and no bound at Infinity", () => {
    const cache = new DefaultCache(64, { maxBytes: MIN_MAX_BYTES });
    const big = filled(32768, 1);
    assert.equal(cache.add(0, HOUR, filled(64, 1), big), true);
    assert.equal(cache.add(0, HOUR + 1, filled(64, 2), big), true);
    assert.equal(cache.have(0, filled(64, 1)), false, "evicted to fit");
    assert.deepEqual(got(cache, 0, filled(64, 2)), Array.from(big));
    assert.equal(cache.stats().bytes, MIN_MAX_BYTES);
    const open = createDefaultCache(64, { maxBytes: Infinity });
    for (let k = 0; k < 64; k++) open.add(0, HOUR, filled(8, k), big);
    assert.equal(open.numItems(0), 64);
  });

  it("evicts the soonest to expire, one at a time, until the new session fits", () => {
    const cache = new DefaultCache(64, { maxBytes: 40_000 });
    const add = (id: string, ms: number, len: number) =>
      cache.add(0, ms, toBytes(id), new Uint8Array(len));
    add("a", 100, 9_999);
    add("b", 300, 9_999);
    add("c", 200, 9_999);
    assert.equal(cache.stats().bytes, 30_000);
    assert.equal(add("d", 400, 14_999), true);
    // a alone had to go: 30,000 - 10,000 + 15,000 fits in 40,000.
    assert.deepEqual(
      ["a", "b", "c", "d"].map((id) => cache.have(0, toBytes(id))),
      [false, true, true, true],
    );
    assert.equal(add("e", 50, 24_999), true);
    // c (200) then b (300) go; d (400) stays although e expires first.
    assert.deepEqual(
      ["b", "c", "d", "e"].map((id) => cache.have(0, toBytes(id))),
      [false, false, true, true],
    );
    assert.deepEqual(cache.stats(), {
      items: 2,
      bytes: 40_000,
      evictions: 3,
      expirations: 0,
    });
  });

  it("purges expired sessions before evicting live ones to fit", () => {
    const cache = new DefaultCache(64, { maxBytes: 40_000 });
    cache.add(0, 10, toBytes("old"), new Uint8Array(19_997));
    cache.add(0, HOUR, toBytes("live"), new Uint8Array(19_996));
    assert.equal(
      cache.add(10, HOUR, toBytes("new"), new Uint8Array(19_997)),
      true,
    );
    assert.equal(cache.have(10, toBytes("live")), true);
    assert.deepEqual(cache.stats(), {
      items: 2,
      bytes: 40_000,
      evictions: 0,
      expirations: 1,
    });
  });

  it("a store bounded to 1,000,000 sessions, fed 2,000 of 32 KB, stays within its 1 MiB budget in bytes and in memory", () => {
    const budget = 1 << 20;
    const cache = new DefaultCache(1_000_000, { maxBytes: budget });
    const data = filled(32_000, 9);
    for (let k = 0; k < 2000; k++) {
      assert.equal(cache.add(0, HOUR + k, toBytes(`s${k}`), data), true);
      assert.ok(cache.stats().bytes <= budget, `after ${k + 1}`);
    }
    assert.equal(cache.numItems(0), Math.floor(budget / 32_005));
    assert.equal(cache.have(0, toBytes("s1999")), true, "the newest stays");
    assert.equal(cache.have(0, toBytes("s0")), false);
    // 2000 sessions of 32 KB would take 64 MB; the store holds about 1 MiB.
    assert.ok(
      cache.reservedBytes() < 3 * budget,
      `reserved ${cache.reservedBytes()}`,
    );
  });
});

describe("DefaultCache: bounds", () => {
  for (const bad of [63, 0, -1, 64.5, NaN, 100_000_001]) {
    it(`rejects a bound of ${bad}, naming it and the valid range`, () => {
      assert.throws(() => createDefaultCache(bad), (err: unknown) => {
        assert.ok(err instanceof DcCacheRangeError);
        assert.equal(err.code, "ERR_SESSIONS");
        assert.ok(err.message.includes(String(bad)), err.message);
        assert.ok(err.message.includes("64..100000000"), err.message);
        return true;
      });
    });
  }

  it("accepts 64 and holds exactly 64", () => {
    const cache = createDefaultCache(64);
    for (let k = 0; k < 64; k++) {
      cache.add(0, HOUR, Uint8Array.of(k), Uint8Array.of(k));
    }
    assert.equal(cache.numItems(0), 64);
    assert.equal(cache.stats?.().evictions, 0);
  });

  it("accepts 10,000,000 without reserving memory for them up front", () => {
    const cache = new DefaultCache(10_000_000);
    assert.ok(cache.reservedBytes() < 256 << 10, `${cache.reservedBytes()}`);
    cache.add(0, HOUR, Uint8Array.of(1), Uint8Array.of(1));
    assert.ok(cache.reservedBytes() < 256 << 10, `${cache.reservedBytes()}`);
  });
});

describe("DefaultCache: stats and memory", () => {
  it("counts bytes of ids and data, evictions and expirations exactly", () => {
    const cache = new DefaultCache(64);
    for (let k = 0; k < 64; k++) {
      cache.add(0, 1000 + k, filled(1 + (k % 64), k), filled(k * 10, k));
    }
    let bytes = 0;
    for (let k = 0; k < 64; k++) bytes += 1 + (k % 64) + k * 10;
    assert.deepEqual(cache.stats(), {
      items: 64,
      bytes,
      evictions: 0,
      expirations: 0,
    });
    cache.remove(0, filled(1 + 63, 63));
    bytes -= 64 + 630;
    assert.equal(cache.stats().bytes, bytes);
    assert.equal(cache.numItems(1002), 60); // expiries 1000, 1001, 1002 gone
    bytes -= (1 + 0) + (2 + 10) + (3 + 20);
    assert.deepEqual(cache.stats(), {
      items: 60,
      bytes,
      evictions: 0,
      expirations: 3,
    });
    cache.add(1002, HOUR, toBytes("four"), Uint8Array.of(1, 2));
    cache.add(1002, HOUR, toBytes("five"), Uint8Array.of(1, 2));
    cache.add(1002, HOUR, toBytes("six"), Uint8Array.of(1, 2));
    cache.add(1002, HOUR, toBytes("seven"), Uint8Array.of(1, 2));
    assert.equal(cache.stats().items, 64);
    cache.add(1002, HOUR, toBytes("evicts"), Uint8Array.of(1, 2));
    // Two evicted: the sessions expiring at 1003 and 1004.
    bytes += 6 + 6 + 5 + 7 + 8 - (4 + 30) - (5 + 40);
    assert.deepEqual(cache.stats(), {
      items: 63,
      bytes,
      evictions: 2,
      expirations: 3,
    });
  });

  it("reuses freed record memory when sessions of the same sizes come and go", () => {
    const cache = new DefaultCache(5000);
    const rand = prng(11);
    const sizes = Array.from({ length: 5000 }, () => Math.floor(rand() * 3000));
    const add = (k: number, round: number) =>
      cache.add(
        0,
        HOUR,
        toBytes(`r${round % 10}:${k}`),
        new Uint8Array(sizes[k]),
      );
    for (let k = 0; k < 5000; k++) add(k, 0);
    const reserved = cache.reservedBytes();
    for (let round = 1; round <= 20; round++) {
      for (let k = 0; k < 5000; k++) {
        assert.ok(cache.remove(0, toBytes(`r${(round - 1) % 10}:${k}`)));
      }
      for (let k = 0; k < 5000; k++) add(k, round);
      assert.equal(cache.reservedBytes(), reserved, `round ${round}`);
    }
  });

  it("does not grow without bound under churn of random sizes at a fixed count", () => {
    const cache = new DefaultCache(2000);
    const rand = prng(12);
    const live: string[] = [];
    let serial = 0;
    let bytes = 0;
    const sizes = new Map<string, number>();
    const addOne = () => {
      const key = `s${serial++}`;
      const size = Math.floor(rand() * 4000);
      cache.add(0, HOUR, toBytes(key), new Uint8Array(size));
      live.push(key);
      sizes.set(key, size);
      bytes += key.length + size;
    };
    const churn = (ops: number) => {
      for (let i = 0; i < ops; i++) {
        const at = Math.floor(rand() * live.length);
        const key = live[at];
        live[at] = live[live.length - 1];
        live.pop();
        assert.equal(cache.remove(0, toBytes(key)), true);
        bytes -= key.length + sizes.get(key)!;
        sizes.delete(key);
        addOne();
      }
    };
    for (let k = 0; k < 2000; k++) addOne();
    churn(20_000);
    const early = cache.reservedBytes();
    churn(200_000);
    assert.equal(cache.stats().bytes, bytes);
    assert.equal(cache.numItems(0), 2000);
    // Without reuse it would grow about tenfold over these 200,000 adds.
    assert.ok(
      cache.reservedBytes() < early * 1.1,
      `${early} -> ${cache.reservedBytes()}`,
    );
  });

  it("drops everything at close() and stays usable", () => {
    const cache = new DefaultCache(64);
    cache.add(0, HOUR, toBytes("a"), Uint8Array.of(1));
    cache.close();
    assert.equal(cache.get(0, toBytes("a")), null);
    assert.equal(cache.stats().items, 0);
    assert.equal(cache.stats().bytes, 0);
    assert.equal(cache.add(0, HOUR, toBytes("a"), Uint8Array.of(2)), true);
    assert.deepEqual(got(cache, 0, toBytes("a")), [2]);
  });
});

interface ModelSession {
  data: Uint8Array;
  expiry: number;
}

// The rules of docs/protocol.md over a Map, purging exactly where the store does
// so that item counts and counters can be compared after every step.
class Model {
  readonly map = new Map<string, ModelSession>();
  readonly expiries = new Set<number>();
  bytes = 0;
  evictions = 0;
  expirations = 0;
  constructor(readonly max: number, readonly maxBytes = Infinity) {}

  drop(key: string): void {
    const s = this.map.get(key)!;
    this.map.delete(key);
    this.expiries.delete(s.expiry);
    this.bytes -= key.length / 2 + s.data.length;
  }

  live(now: number, key: string): ModelSession | null {
    const s = this.map.get(key);
    if (s === undefined) return null;
    if (s.expiry > now) return s;
    this.drop(key);
    this.expirations++;
    return null;
  }

  remove(now: number, key: string): boolean {
    if (this.live(now, key) === null) return false;
    this.drop(key);
    return true;
  }

  purge(now: number): void {
    for (const [key, s] of this.map) {
      if (s.expiry <= now) {
        this.drop(key);
        this.expirations++;
      }
    }
  }

  add(now: number, expiry: number, key: string, data: Uint8Array): boolean {
    if (this.map.has(key) && this.live(now, key) !== null) return false;
    if (this.map.size >= this.max) {
      this.purge(now);
      if (this.map.size >= this.max) {
        const soonest = [...this.map].sort((a, b) => a[1].expiry - b[1].expiry);
        const n = Math.max(1, Math.floor(this.max / 30));
        for (const [k] of soonest.slice(0, n)) this.drop(k);
        this.evictions += n;
      }
    } else {
      // Each ADD also takes up to two expired sessions, soonest first.
      const expired = [...this.map].filter(([, s]) => s.expiry <= now)
        .sort((a, b) => a[1].expiry - b[1].expiry);
      for (const [k] of expired.slice(0, 2)) {
        this.drop(k);
        this.expirations++;
      }
    }
    // Under a byte budget: every expired session, then the soonest to
    // expire, one at a time, until the new one fits.
    const need = key.length / 2 + data.length;
    if (this.bytes + need > this.maxBytes) {
      this.purge(now);
      const soonest = [...this.map].sort((a, b) => a[1].expiry - b[1].expiry);
      while (this.bytes + need > this.maxBytes) {
        this.drop(soonest.shift()![0]);
        this.evictions++;
      }
    }
    this.map.set(key, { data: data.slice(), expiry });
    this.expiries.add(expiry);
    this.bytes += key.length / 2 + data.length;
    return true;
  }
}

describe("DefaultCache against a Map model", () => {
  for (
    const [max, pool, seed, maxBytes, batches] of [
      [64, 100, 1, Infinity],
      [128, 400, 2, Infinity],
      [1000, 3000, 3, Infinity],
      // Byte budgets that bite before the session bound does, and one
      // where both take turns.
      [1000, 3000, 4, MIN_MAX_BYTES],
      [1000, 400, 5, 200_000],
      [128, 400, 6, 150_000],
      // warm() before each batch of steps, with the ids those steps use
      // (the same arrays, in order: their hashes are taken from warm()).
      [64, 100, 7, Infinity, true],
      [1000, 3000, 8, Infinity, true],
      [128, 400, 9, 150_000, true],
    ] as [number, number, number, number, boolean?][]
  ) {
    const warmed = batches === true;
    it(
      `agrees over 30,000 random steps (bound ${max}, ${maxBytes} bytes, ${pool} ids, seed ${seed}${
        warmed ? ", warmed in batches" : ""
      })`,
      () => {
        const rand = prng(seed);
        const cache = new DefaultCache(max, { maxBytes });
        const model = new Model(max, maxBytes);
        // Ids of 1..64 bytes; some are prefixes of others.
        const ids = Array.from({ length: pool }, (_, k) => {
          const len = 1 + Math.floor(rand() * 64);
          const id = filled(len, k % 7);
          id[Math.floor(rand() * len)] = k & 0xff;
          return id;
        });
        let now = 1_000_000;
        let batch: number[] = [];
        for (let step = 0; step < 30_000; step++) {
          if (batch.length === 0) {
            // One step at a time, or up to 16 warmed together.
            const n = warmed ? 1 + Math.floor(rand() * 16) : 1;
            batch = Array.from({ length: n }, () => Math.floor(rand() * pool));
            if (warmed) cache.warm(batch.map((k) => ids[k]));
          }
          const k = batch.shift()!;
          const id = ids[k];
          const key = toHex(id);
          const r = rand();
          const where = `step ${step}, id ${k}`;
          if (r < 0.4) {
            // Distinct expiries keep "the soonest to expire" unambiguous.
            let expiry: number;
            do expiry = now + Math.floor(rand() * 5000); while (
              model.expiries.has(expiry)
            );
            const data = filled(Math.floor(rand() * 3000), step);
            assert.equal(
              cache.add(now, expiry - now, id, data),
              model.add(now, expiry, key, data),
              where,
            );
          } else if (r < 0.7) {
            const s = model.live(now, key);
            assert.deepEqual(
              got(cache, now, id),
              s && Array.from(s.data),
              where,
            );
          } else if (r < 0.8) {
            assert.equal(
              cache.have(now, id),
              model.live(now, key) !== null,
              where,
            );
          } else if (r < 0.9) {
            assert.equal(cache.remove(now, id), model.remove(now, key), where);
          } else if (r < 0.99) {
            now += Math.floor(rand() * 100);
          } else {
            model.purge(now);
            assert.equal(cache.numItems(now), model.map.size, where);
          }
          assert.deepEqual(cache.stats(), {
            items: model.map.size,
            bytes: model.bytes,
            evictions: model.evictions,
            expirations: model.expirations,
          }, where);
          assert.ok(model.bytes <= maxBytes, where);
        }
        if (maxBytes !== Infinity) {
          assert.ok(model.evictions > 100, `evictions: ${model.evictions}`);
        }
      },
    );
  }
});

describe("DefaultCache at a million sessions", () => {
  it("finds every one of 1,000,000 sessions again", () => {
    const n = 1_000_000;
    const cache = new DefaultCache(n);
    const id = new Uint8Array(16);
    const data = new Uint8Array(32);
    const view = new DataView(id.buffer);
    const setId = (k: number) => {
      view.setUint32(0, k);
      view.setUint32(12, Math.imul(k, 0x9e3779b1));
      return id;
    };
    for (let k = 0; k < n; k++) {
      data[0] = k;
      data[31] = k >> 8;
      if (!cache.add(0, HOUR, setId(k), data)) assert.fail(`add ${k}`);
    }
    assert.equal(cache.numItems(0), n);
    for (let k = 0; k < n; k++) {
      const found = cache.get(1, setId(k));
      if (
        found === null || found.length !== 32 || found[0] !== (k & 0xff) ||
        found[31] !== ((k >> 8) & 0xff)
      ) {
        assert.fail(`get ${k}: ${found}`);
      }
    }
    assert.equal(cache.have(1, setId(n)), false);
    assert.equal(cache.stats().bytes, n * 48);
    assert.equal(cache.stats().evictions, 0);
  });
});

describe("DefaultCache warm()", () => {
  it("changes nothing: an expired session is neither purged nor counted, ids of any length pass", () => {
    const cache = new DefaultCache(1000);
    const enc = toBytes;
    cache.add(0, 1000, enc("expired"), enc("x"));
    cache.add(0, 60_000, enc("live"), enc("data"));
    const before = cache.stats();
    const ids = [
      enc("expired"),
      enc("live"),
      enc("absent"),
      new Uint8Array(0),
      new Uint8Array(65),
    ];
    // More than one batch of ids, and none.
    for (let i = 0; i < 200; i++) ids.push(enc(`id-${i}`));
    cache.warm(ids);
    cache.warm([]);
    assert.deepEqual(cache.stats(), before);
    assert.equal(cache.get(5000, enc("expired")), null);
    assert.deepEqual(cache.get(5000, enc("live")), enc("data"));
    assert.equal(cache.stats().expirations, before.expirations + 1);
  });
});
