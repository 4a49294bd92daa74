// serve()'s store limits: a byte budget (maxBytes) and a floor on ADD
// lifetimes (minTimeoutMs), driven over the wire with an injected clock.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import {
  createDefaultCache,
  type DcCacheOptions,
  DcCacheRangeError,
  DcOptionError,
  DcServer,
  serve,
} from "../../dc_server/mod.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";
import { listenAddress, makeTempDir, removeDir } from "../_servers.ts";

const DAY7 = 604_800_000;

async function ask(
  c: RawClient,
  uid: number,
  op: number,
  payload: Uint8Array,
): Promise<number[]> {
  c.send(command(uid, op, payload));
  const ans = await c.answer();
  assert.equal(ans.uid, uid);
  return Array.from(ans.payload.subarray(0, 1));
}

describe("serve({ maxBytes })", () => {
  let tmp = "";
  before(() => {
    tmp = makeTempDir();
  });
  after(() => removeDir(tmp));

  it("never holds more bytes of ids and data than its budget under 32 KiB ADDs", async () => {
    const budget = 256 * 1024;
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      sessions: 1_000_000,
      maxBytes: budget,
    });
    const c = await RawClient.connect(server.addr);
    try {
      const data = new Uint8Array(32_768 - 8 - 6).fill(7);
      for (let k = 0; k < 100; k++) {
        const id = `s-${String(k).padStart(3, "0")}`;
        assert.deepEqual(
          await ask(c, k, OP.ADD, addPayload(id, data, 60_000 + k)),
          [0],
        );
        const s = server.stats();
        assert.ok(s.bytes <= budget, `after ${k + 1} ADDs: ${s.bytes} bytes`);
      }
      assert.equal(server.stats().items, Math.floor(budget / 32_760));
      assert.equal(server.stats().evictions, 100 - server.stats().items);
      assert.deepEqual(await ask(c, 200, OP.HAVE, bytes("s-099")), [0]);
      assert.deepEqual(await ask(c, 201, OP.HAVE, bytes("s-000")), [1]);
    } finally {
      c.close();
      await server.close();
    }
  });

  it("refuses a budget under one session's room before it listens", async () => {
    const addr = listenAddress("UNIX", tmp, "small.sock");
    await assert.rejects(
      serve({ listen: addr, maxBytes: 32_831 }),
      (err: unknown) =>
        err instanceof DcCacheRangeError && err.code === "ERR_MAX_BYTES" &&
        /32831.*32832/.test(err.message),
    );
    assert.equal(fs.existsSync(addr.slice(5)), false);
  });

  it("hands the budget to the store's factory", () => {
    const seen: (DcCacheOptions | undefined)[] = [];
    const factory = (max: number, options?: DcCacheOptions) => {
      seen.push(options);
      return createDefaultCache(max, options);
    };
    new DcServer(64, { cache: factory, maxBytes: 1 << 20 }).close();
    new DcServer(64, { cache: factory }).close();
    assert.deepEqual(seen, [{ maxBytes: 1 << 20 }, {}]);
  });
});

describe("serve({ minTimeoutMs })", () => {
  it("keeps an ADD of 500 ms for the floor's 300000 ms (injected clock)", async () => {
    let now = 1_000_000;
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      clock: () => now,
      minTimeoutMs: 300_000,
    });
    const c = await RawClient.connect(server.addr);
    try {
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload("apache", "session", 500)),
        [0],
      );
      assert.deepEqual(
        await ask(c, 2, OP.ADD, addPayload("long", "session", 600_000)),
        [0],
      );
      now += 1_500;
      assert.deepEqual(await ask(c, 3, OP.HAVE, bytes("apache")), [0]);
      now += 300_000 - 1_500 - 1;
      assert.deepEqual(await ask(c, 4, OP.HAVE, bytes("apache")), [0]);
      now += 1;
      assert.deepEqual(
        await ask(c, 5, OP.HAVE, bytes("apache")),
        [1],
        "the floor, not more",
      );
      assert.deepEqual(
        await ask(c, 6, OP.HAVE, bytes("long")),
        [0],
        "a longer lifetime is kept",
      );
      now += 300_000;
      assert.deepEqual(await ask(c, 7, OP.HAVE, bytes("long")), [1]);
      // Over 7 days is still refused, floor or not.
      assert.deepEqual(
        await ask(c, 8, OP.ADD, addPayload("x", "session", DAY7 + 1)),
        [102],
      );
    } finally {
      c.close();
      await server.close();
    }
  });

  it("without a floor, the same ADD is gone after its 500 ms", async () => {
    let now = 1_000_000;
    const server = await serve({ listen: "IP:127.0.0.1:0", clock: () => now });
    const c = await RawClient.connect(server.addr);
    try {
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload("apache", "session", 500)),
        [0],
      );
      now += 500;
      assert.deepEqual(await ask(c, 2, OP.HAVE, bytes("apache")), [1]);
    } finally {
      c.close();
      await server.close();
    }
  });

  it("caps the floor at 7 days", async () => {
    let now = 0;
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      clock: () => now,
      minTimeoutMs: DAY7,
    });
    const c = await RawClient.connect(server.addr);
    try {
      assert.deepEqual(
        await ask(c, 1, OP.ADD, addPayload("week", "session", 0)),
        [0],
      );
      now = DAY7 - 1;
      assert.deepEqual(await ask(c, 2, OP.HAVE, bytes("week")), [0]);
      now = DAY7;
      assert.deepEqual(await ask(c, 3, OP.HAVE, bytes("week")), [1]);
    } finally {
      c.close();
      await server.close();
    }
  });

  for (const bad of [-1, 1.5, DAY7 + 1, NaN]) {
    it(`refuses a floor of ${bad}, naming it`, async () => {
      await assert.rejects(
        serve({ listen: "IP:127.0.0.1:0", minTimeoutMs: bad }),
        (err: unknown) =>
          err instanceof DcOptionError &&
          err.message.includes(`minTimeoutMs ${bad}`) &&
          err.message.includes("0..604800000"),
      );
    });
  }
});
