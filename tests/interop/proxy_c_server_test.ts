// Our proxy in front of the real C dc_server, which drops (or misreads) a
// connection that leaves too many requests unanswered: the proxy's
// pipeline bounds keep one local client's flood of concurrent requests
// from cutting every local client off.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { Fixture, SKIP } from "./_c.ts";

describe("our proxy -> the C dc_server", { skip: SKIP }, () => {
  const fx = new Fixture();

  it("one local client's 1,000 concurrent 1000-byte ADDs, then GETs: all succeed, and another client is never cut off", async () => {
    const addr = await fx.proxyToC("flood");
    // The flooding client does not bound itself: the proxy must.
    const flood = await DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT, {
      maxInFlight: 1000,
      timeoutMs: 30_000,
    });
    const other = await DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT, {
      timeoutMs: 30_000,
    });
    try {
      assert.equal(
        await other.addSession("other", "the other one", 600_000),
        true,
      );
      const ids = Array.from({ length: 1000 }, (_, i) => `flood-${i}`);
      const data = (i: number) => new Uint8Array(1000).fill(i & 0xff);
      let otherOk = 0;
      let otherFailed = 0;
      let done = false;
      const watcher = (async () => {
        while (!done) {
          const got = await other.get("other");
          if (got !== null && got.length === 13) otherOk++;
          else otherFailed++;
        }
      })();
      const adds = await Promise.all(
        ids.map((id, i) => flood.addSession(id, data(i), 600_000)),
      );
      assert.equal(adds.filter((ok) => ok).length, 1000, "every ADD stored");
      const gets = await Promise.all(ids.map((id) => flood.get(id)));
      gets.forEach((got, i) => assert.deepEqual(got, data(i), `GET ${i}`));
      const mixed = await Promise.all(ids.flatMap((id, i) => [
        flood.hasSession(id),
        flood.get(id).then((got) => got !== null && got[999] === (i & 0xff)),
      ]));
      assert.equal(mixed.filter((ok) => ok).length, 2000);
      done = true;
      await watcher;
      assert.equal(
        otherFailed,
        0,
        `the other client failed ${otherFailed} times`,
      );
      assert.ok(otherOk > 0);
    } finally {
      flood.close();
      other.close();
    }
  });

  it("-pipeline 1: sessions of 8 KB, too large for the C server to answer with anything queued behind, through one link from 4 clients", async () => {
    const addr = await fx.proxyToC("big", ["-pipeline", "1"]);
    const ctxs = await Promise.all(
      Array.from(
        { length: 4 },
        () => DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT, { timeoutMs: 30_000 }),
      ),
    );
    try {
      const big = (k: number) => new Uint8Array(8000).fill(k);
      await Promise.all(
        ctxs.map((ctx, k) => ctx.addSession(`big-${k}`, big(k), 600_000)),
      );
      const rounds = await Promise.all(ctxs.map(async (ctx, k) => {
        let ok = 0;
        for (let i = 0; i < 100; i++) {
          const got = await ctx.get(`big-${(k + i) % 4}`);
          if (got !== null && got.length === 8000 && got[0] === (k + i) % 4) {
            ok++;
          }
        }
        return ok;
      }));
      assert.deepEqual(rounds, [100, 100, 100, 100]);
    } finally {
      for (const ctx of ctxs) ctx.close();
    }
  });
});
