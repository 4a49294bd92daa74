// DistcacheStore under the real express and express-session (pinned
// devDependencies): two apps, as two web hosts would be, sharing login
// sessions through one cache server, over HTTP.

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import type * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import express from "express";
import session from "express-session";
import {
  DistcacheStore,
  type DistcacheStoreOptions,
} from "../../session/mod.ts";
import { useCacheServer } from "../_cache.ts";
import { Recording } from "./_recording.ts";

interface Host {
  url: string;
  server: http.Server;
  store: DistcacheStore;
}

function startHost(
  options: DistcacheStoreOptions,
  extra: { rolling?: boolean } = {},
): Promise<Host> {
  const store = new DistcacheStore(options);
  const app = express();
  app.use(express.json({ limit: "1mb" }));
  app.use(session({
    store,
    secret: "test secret",
    resave: false,
    saveUninitialized: false,
    rolling: extra.rolling ?? false,
    cookie: { maxAge: 60_000 },
  }));
  // Saved before answering, so that a store error reaches the client
  // (express-session saves after the answer otherwise).
  const saved = (
    req: express.Request,
    res: express.Response,
    next: express.NextFunction,
  ) => req.session.save((err) => err ? next(err) : res.json({ ok: true }));
  app.post("/login", (req, res, next) => {
    (req.session as unknown as Record<string, unknown>).user = req.body.user;
    saved(req, res, next);
  });
  app.post("/note", (req, res, next) => {
    (req.session as unknown as Record<string, unknown>).note = req.body.note;
    saved(req, res, next);
  });
  app.get("/me", (req, res) => {
    const s = req.session as unknown as Record<string, unknown>;
    res.json({ user: s.user ?? null });
  });
  app.post("/logout", (req, res) => {
    req.session.destroy((err) => res.json({ ok: !err }));
  });
  app.use(
    (
      err: Error & { code?: string },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(500).json({ code: err.code, message: err.message });
    },
  );
  return new Promise((resolve) => {
    const server = app.listen(0, "127.0.0.1", () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ url: `http://127.0.0.1:${port}`, server, store });
    });
  });
}

function stopHost(host: Host): Promise<void> {
  host.store.close();
  return new Promise((resolve) => {
    host.server.closeAllConnections?.();
    host.server.close(() => resolve());
  });
}

async function call(
  host: Host,
  route: string,
  cookie: string | null,
  body?: unknown,
): Promise<
  { status: number; json: Record<string, unknown>; cookie: string | null }
> {
  const res = await fetch(host.url + route, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      ...(cookie ? { cookie } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const set = res.headers.get("set-cookie");
  return {
    status: res.status,
    json: await res.json() as Record<string, unknown>,
    cookie: set === null ? cookie : set.split(";")[0],
  };
}

describe("DistcacheStore (express-session)", () => {
  const f = useCacheServer("distcache-express-");
  const hosts: Host[] = [];
  const start = async (
    options: DistcacheStoreOptions,
    extra?: { rolling?: boolean },
  ) => {
    const h = await startHost(options, extra);
    hosts.push(h);
    return h;
  };
  after(async () => {
    for (const h of hosts) await stopHost(h);
  });

  it("a login on host A is seen on host B; a logout on B is seen on A", async () => {
    const a = await start({ ctx: f.ctx });
    const b = await start({ target: f.server.addr });
    const login = await call(a, "/login", null, { user: "ada" });
    assert.equal(login.status, 200);
    assert.match(login.cookie ?? "", /^connect\.sid=/);
    assert.deepEqual((await call(b, "/me", login.cookie)).json, {
      user: "ada",
    });
    assert.equal((await call(b, "/logout", login.cookie, {})).json.ok, true);
    assert.deepEqual((await call(a, "/me", login.cookie)).json, { user: null });
  });

  it("stores for the cookie's lifetime, under the prefix", async () => {
    const rec = new Recording(f.ctx);
    const a = await start({ ctx: rec, prefix: "app1:" });
    await call(a, "/login", null, { user: "bob" });
    assert.equal(rec.adds.length, 1);
    const { id, timeoutMs } = rec.adds[0];
    assert.match(new TextDecoder().decode(id), /^app1:/);
    // maxAge 60 s, less the time the request took.
    assert.ok(timeoutMs > 50_000 && timeoutMs <= 60_000, `${timeoutMs}`);
  });

  it("touch stores an unchanged session again only past touchAfterMs", async () => {
    const lazy = new Recording(f.ctx);
    const a = await start({ ctx: lazy }, { rolling: true });
    const s = await call(a, "/login", null, { user: "cy" });
    await call(a, "/me", s.cookie);
    await call(a, "/me", s.cookie);
    assert.equal(lazy.adds.length, 1, "only the login's write");

    const eager = new Recording(f.ctx);
    const b = await start({ ctx: eager, touchAfterMs: 0 }, { rolling: true });
    const t = await call(b, "/login", null, { user: "di" });
    await call(b, "/me", t.cookie);
    assert.equal(eager.adds.length, 2, "the touch wrote it again");
    assert.deepEqual((await call(a, "/me", t.cookie)).json, { user: "di" });
  });

  it("a session over 32 KiB fails with a clear error and keeps the stored one", async () => {
    const a = await start({ ctx: f.ctx });
    const s = await call(a, "/login", null, { user: "eve" });
    const big = await call(a, "/note", s.cookie, { note: "x".repeat(40_000) });
    assert.equal(big.status, 500);
    assert.equal(big.json.code, "ERR_SESSION_TOO_LARGE");
    assert.match(
      String(big.json.message),
      /is \d+ bytes of JSON; with its \d+-byte id at most \d+ fit/,
    );
    assert.deepEqual((await call(a, "/me", s.cookie)).json, { user: "eve" });
  });

  it("a cache that is down: no session, and a clear error on login", async () => {
    const a = await start({
      target: `UNIX:${path.join(f.tmp, "nobody.sock")}`,
    });
    const login = await call(a, "/login", null, { user: "fay" });
    assert.equal(login.status, 500);
    assert.equal(login.json.code, "ERR_SESSION_CACHE");
  });

  it("refuses to be made without exactly one of ctx and target", () => {
    assert.throws(() => new DistcacheStore({}), {
      code: "ERR_ARGUMENT",
      message: /exactly one of \{ ctx \}/,
    });
    assert.throws(() => new DistcacheStore({ ctx: f.ctx, target: "UNIX:/x" }), {
      code: "ERR_ARGUMENT",
    });
    assert.throws(() => new DistcacheStore({ ctx: f.ctx, ttlMs: -1 }), {
      code: "ERR_ARGUMENT",
      message: /ttlMs: -1/,
    });
  });
});
