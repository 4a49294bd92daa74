// shareTicketKeys: HTTPS servers in this process keeping their ticket keys
// in step through a cache server, checked with openssl s_client. What the
// runtime's node:tls server does with the keys is pinned down per runtime:
// Node honours them, Deno 2.9 takes them and does not use them, Bun 1.4
// has no setTicketKeys.

import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as https from "node:https";
import * as path from "node:path";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_LATE,
  DcCtx,
} from "../../dc_client/mod.ts";
import { serve } from "../../dc_server/mod.ts";
import { detectRuntime } from "../../nal/mod.ts";
import {
  type DistcacheTlsError,
  shareTicketKeys,
  type TicketKeyHandle,
} from "../../tls/mod.ts";
import { useCacheServer } from "../_cache.ts";
import * as t from "./_tls.ts";

const RUNTIME = detectRuntime();
const HONOURED = RUNTIME === "node";
const UNSUPPORTED = RUNTIME === "bun";
const NODE_ONLY = HONOURED
  ? false
  : `${RUNTIME}'s TLS server ignores ticket keys`;

describe("shareTicketKeys (ticket keys through the cache)", () => {
  let cert: t.TestCert;
  const f = useCacheServer("distcache-tickets-", (f) => {
    cert = t.makeCert(f.tmp);
  });
  const handles: TicketKeyHandle[] = [];
  const servers: https.Server[] = [];
  let n = 0;
  // A prefix per test: each starts with no keys in the cache.
  const prefix = () => `t${++n}:`;
  const start = async () => {
    const s = await t.startHttps(cert);
    servers.push(s.server);
    return s;
  };
  after(async () => {
    for (const h of handles) h.close();
    for (const s of servers) await t.stopHttps(s);
  });

  it(
    UNSUPPORTED
      ? "bun: refused, the server has no setTicketKeys"
      : "a TLS 1.3 (and 1.2) ticket from A resumes on B",
    {
      // Deno's servers in one process share tickets by themselves (and
      // ignore ours): the e2e test, with a process per host, shows Deno's
      // behaviour across hosts.
      skip: RUNTIME === "deno"
        ? "deno resumes across servers of one process whatever the keys"
        : false,
    },
    async () => {
      const a = await start();
      const b = await start();
      if (UNSUPPORTED) {
        await assert.rejects(shareTicketKeys(a.server, f.ctx), {
          code: "ERR_TLS_UNSUPPORTED",
          message: /no setTicketKeys/,
        });
        return;
      }
      const p = prefix();
      handles.push(await shareTicketKeys(a.server, f.ctx, { prefix: p }));
      handles.push(await shareTicketKeys(b.server, f.ctx, { prefix: p }));
      assert.ok(
        Buffer.from(a.server.getTicketKeys()).equals(b.server.getTicketKeys()),
      );
      for (const version of ["tls1_3", "tls1_2"] as const) {
        const hs = await t.carrySession({
          from: a.port,
          to: b.port,
          file: path.join(f.tmp, `ticket-${version}.sess`),
          version,
        });
        assert.equal(hs.outcome, "Reused", version);
        assert.equal(hs.body, "hello");
      }
    },
  );

  it("hosts racing for the first key all end up with the winner's", {
    skip: UNSUPPORTED ? "no setTicketKeys here" : false,
  }, async () => {
    const p = prefix();
    const hosts = await Promise.all([start(), start(), start()]);
    const made = await Promise.all(
      hosts.map((h) => shareTicketKeys(h.server, f.ctx, { prefix: p })),
    );
    handles.push(...made);
    const keys = hosts.map((h) => Buffer.from(h.server.getTicketKeys()));
    assert.ok(keys[0].equals(keys[1]) && keys[0].equals(keys[2]));
    const period = made[0].state.period;
    const stored = await f.ctx.get(`${p}3600000:${period}`);
    assert.ok(stored !== null && keys[0].equals(stored), "the cache's key");
  });

  it("a rotation breaks no resumption; a key two periods old is refused", {
    skip: NODE_ONLY,
  }, async () => {
    let clock = 1_000_000 * 3_600_000 + 1000;
    const now = () => clock;
    const p = prefix();
    const a = await start();
    const b = await start();
    const ha = await shareTicketKeys(a.server, f.ctx, { prefix: p, now });
    const hb = await shareTicketKeys(b.server, f.ctx, { prefix: p, now });
    handles.push(ha, hb);
    assert.equal(ha.state.mode, "callback");
    const sess = path.join(f.tmp, "rotate.sess");
    await t.sClient({ port: a.port, version: "tls1_3", sessOut: sess });

    clock += 3_600_000;
    await ha.refresh();
    await hb.refresh();
    assert.equal(hb.state.period, ha.state.period);
    assert.ok(
      !Buffer.from(a.server.getTicketKeys()).equals(
        await f.ctx.get(`${p}3600000:${ha.state.period - 1}`) ??
          new Uint8Array(),
      ),
      "the issuing key changed",
    );
    const after1 = await t.sClient({
      port: b.port,
      version: "tls1_3",
      sessIn: sess,
    });
    assert.equal(after1.outcome, "Reused", "the previous period's ticket");

    clock += 3_600_000;
    await hb.refresh();
    const after2 = await t.sClient({
      port: b.port,
      version: "tls1_3",
      sessIn: sess,
    });
    assert.equal(after2.outcome, "New", "a ticket two periods old");
  });

  it("a cache that is away at start: a key of its own, then the shared one", {
    skip: UNSUPPORTED ? "no setTicketKeys here" : false,
  }, async () => {
    const sock = path.join(f.tmp, "late.sock");
    const late = await DcCtx.create(
      `UNIX:${sock}`,
      DC_CTX_FLAG_PERSISTENT | DC_CTX_FLAG_PERSISTENT_LATE,
      { timeoutMs: 500 },
    );
    const errors: DistcacheTlsError[] = [];
    const p = prefix();
    const a = await start();
    const h = await shareTicketKeys(a.server, late, {
      prefix: p,
      onError: (e) => errors.push(e),
    });
    handles.push(h);
    assert.ok(errors.length > 0 && errors[0].code === "ERR_TLS_CACHE");
    const local = Buffer.from(a.server.getTicketKeys());
    assert.equal(local.length, 48);
    const hs = await t.sClient({ port: a.port, version: "tls1_3" });
    assert.equal(hs.body, "hello", "serves meanwhile");

    const back = await serve({ listen: `UNIX:${sock}` });
    try {
      await h.refresh();
      const stored = await late.get(`${p}3600000:${h.state.period}`);
      assert.ok(stored !== null && local.equals(stored), "its key is shared");
    } finally {
      late.close();
      await back.close();
    }
  });

  it("throws on bad options before touching the server", {
    skip: UNSUPPORTED ? "no setTicketKeys here" : false,
  }, async () => {
    const server = https.createServer({ key: cert.key, cert: cert.cert });
    const before = Buffer.from(server.getTicketKeys());
    await assert.rejects(shareTicketKeys(server, f.ctx, { rotateMs: 10 }), {
      code: "ERR_ARGUMENT",
      message: /rotateMs: 10; must be an integer 1000\.\./,
    });
    await assert.rejects(
      shareTicketKeys(server, f.ctx, { prefix: "x".repeat(60) }),
      { code: "ERR_ARGUMENT", message: /too long for a 64-byte cache id/ },
    );
    assert.ok(before.equals(server.getTicketKeys()));
  });
});
