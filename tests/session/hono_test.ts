// distcacheStorage under the real hono and @hono/session (pinned
// devDependencies): two apps, as two web hosts would be, sharing sessions
// through one cache server.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { Hono } from "hono";
import { type SessionEnv, useSession, useSessionStorage } from "@hono/session";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import {
  distcacheStorage,
  type DistcacheStorageOptions,
  type SessionCtx,
} from "../../session/mod.ts";
import { useCacheServer } from "../_cache.ts";
import { until } from "../_servers.ts";
import { Recording } from "./_recording.ts";

// useSession's secret: 32 bytes, hex.
const SECRET = "a3".repeat(32);

type Data = { user?: string; note?: string };

function makeApp(ctx: SessionCtx, options?: DistcacheStorageOptions) {
  return new Hono<SessionEnv<Data>>()
    .use(useSessionStorage(distcacheStorage<Data>(ctx, options)))
    .use(useSession({ secret: SECRET }))
    .onError((err, c) => {
      const e = err as Error & { code?: string };
      return c.json({ code: e.code, message: e.message }, 500);
    })
    .get("/session", async (c) => c.json(await c.var.session.get()))
    .put("/session", async (c) => {
      await c.var.session.update(await c.req.json());
      return c.json(c.var.session.data);
    })
    .delete("/session", async (c) => {
      await c.var.session.get();
      c.var.session.delete();
      return c.body(null, 204);
    });
}

async function call(
  app: ReturnType<typeof makeApp>,
  method: string,
  cookie: string | null,
  body?: unknown,
): Promise<{ status: number; json: unknown; cookie: string | null }> {
  const res = await app.request("/session", {
    method,
    headers: {
      ...(cookie ? { cookie } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const set = res.headers.get("set-cookie");
  const text = await res.text();
  return {
    status: res.status,
    json: text === "" ? null : JSON.parse(text),
    cookie: set === null ? cookie : set.split(";")[0],
  };
}

describe("distcacheStorage (@hono/session)", () => {
  const f = useCacheServer("distcache-hono-");

  it("a session written on host A is read on host B; deleted on B, gone on A", async () => {
    const a = makeApp(f.ctx);
    const other = await DcCtx.create(f.server.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      const b = makeApp(other);
      const put = await call(a, "PUT", null, { user: "ada" });
      assert.equal(put.status, 200);
      assert.ok(put.cookie, "a session cookie");
      assert.deepEqual((await call(b, "GET", put.cookie)).json, {
        user: "ada",
      });
      assert.equal((await call(b, "DELETE", put.cookie)).status, 204);
      // The middleware does not wait for the delete: wait for the cache.
      await until(async () => (await call(a, "GET", put.cookie)).json === null);
    } finally {
      other.close();
    }
  });

  it("stores JSON for ttlMs under the prefix; an empty session fits too", async () => {
    const rec = new Recording(f.ctx);
    const a = makeApp(rec, { ttlMs: 120_000, prefix: "hono:" });
    const put = await call(a, "PUT", null, {});
    assert.equal(put.status, 200);
    await until(() => rec.adds.length === 1, 5000, "the write");
    assert.equal(rec.adds[0].timeoutMs, 120_000);
    const id = new TextDecoder().decode(rec.adds[0].id);
    assert.match(id, /^hono:/);
    const raw = await f.ctx.get(id);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(raw!)), {});
  });

  it("data over 32 KiB fails the update with a clear error", async () => {
    const a = makeApp(f.ctx);
    const first = await call(a, "PUT", null, { user: "eve" });
    const big = await call(a, "PUT", first.cookie, {
      note: "x".repeat(40_000),
    });
    assert.equal(big.status, 500);
    const err = big.json as { code: string; message: string };
    assert.equal(err.code, "ERR_SESSION_TOO_LARGE");
    assert.match(err.message, /with its \d+-byte id at most \d+ fit/);
    assert.deepEqual((await call(a, "GET", first.cookie)).json, {
      user: "eve",
    });
  });

  it("a failed write is reported to onError", async () => {
    const errors: Error[] = [];
    const down = await DcCtx.create(
      `UNIX:${path.join(f.tmp, "nobody.sock")}`,
      0,
    );
    const a = makeApp(down, { onError: (e) => errors.push(e) });
    assert.equal((await call(a, "PUT", null, { user: "fay" })).status, 200);
    await until(() => errors.length === 1, 5000, "the report");
    assert.equal(
      (errors[0] as Error & { code: string }).code,
      "ERR_SESSION_CACHE",
    );
  });

  it("back-to-back writes of one session land in order, none refused", async () => {
    const errors: Error[] = [];
    const storage = distcacheStorage<{ n: number }>(f.ctx, {
      prefix: "order:",
      onError: (e) => errors.push(e),
    });
    // Each write is REMOVE then ADD: unordered, the third one's ADD would
    // meet the second's and the second could land last.
    for (let n = 1; n <= 5; n++) storage.set("sid", { n });
    assert.deepEqual(await storage.get("sid"), { n: 5 });
    assert.deepEqual(errors, []);
  });

  it("a miss is looked up once more: another host may be mid-update", async () => {
    // The other host's REMOVE has landed, its ADD lands 5 ms later.
    const raw = new TextEncoder().encode(JSON.stringify({ user: "gus" }));
    let gets = 0;
    const midUpdate: SessionCtx = {
      get: () => Promise.resolve(++gets === 1 ? null : raw),
      addSession: () => Promise.resolve(true),
      removeSession: () => Promise.resolve(true),
    };
    const storage = distcacheStorage(midUpdate, { missRetryMs: 5 });
    assert.deepEqual(await storage.get("sid"), { user: "gus" });
    const once = distcacheStorage(midUpdate, { missRetryMs: 0 });
    gets = 0;
    assert.equal(await once.get("sid"), null);
  });

  it("throws on a ctx that is not one", () => {
    assert.throws(() => distcacheStorage({} as SessionCtx), {
      code: "ERR_ARGUMENT",
      message: /must be a DcCtx/,
    });
  });
});
