// useSessionCache: two HTTPS servers in this process sharing TLS 1.2
// sessions through a cache server, checked with openssl s_client. Only
// Node's TLS server fires the session events; under Bun and Deno these
// tests pin down that nothing is resumed and nothing breaks.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as https from "node:https";
import * as path from "node:path";
import { detectRuntime } from "../../nal/mod.ts";
import {
  type DistcacheTlsError,
  type SessionCacheClient,
  useSessionCache,
} from "../../tls/mod.ts";
import { useCacheServer } from "../_cache.ts";
import {
  carrySession,
  makeCert,
  sClient,
  startHttps,
  stopHttps,
  type TestCert,
} from "./_tls.ts";

// Bun 1.4 and Deno 2.9: 'newSession' / 'resumeSession' never fire.
const EVENTS_FIRE = detectRuntime() === "node";

// A cache client that records what it was asked, in front of a real one.
class Recording implements SessionCacheClient {
  adds: { id: Uint8Array; timeoutMs: number }[] = [];
  gets = 0;
  constructor(readonly inner: SessionCacheClient) {}
  addSession(id: Uint8Array | string, data: Uint8Array | string, t: number) {
    this.adds.push({ id: id as Uint8Array, timeoutMs: t });
    return this.inner.addSession(id, data, t);
  }
  get(id: Uint8Array | string) {
    this.gets++;
    return this.inner.get(id);
  }
}

describe("useSessionCache (TLS 1.2 session ids through the cache)", () => {
  let cert: TestCert;
  const f = useCacheServer("distcache-tls-", (f) => {
    cert = makeCert(f.tmp);
  });

  it(
    EVENTS_FIRE
      ? "a session made by A resumes on B"
      : `${detectRuntime()}: the events never fire, B makes a new session`,
    async () => {
      const a = await startHttps(cert);
      const b = await startHttps(cert);
      const rec = new Recording(f.ctx);
      const detachA = useSessionCache(a.server, rec);
      // Far above the default lookup bound: a loaded machine must not turn
      // the resumption into a full handshake.
      const detachB = useSessionCache(b.server, f.ctx, {
        lookupTimeoutMs: 2000,
      });
      try {
        const second = await carrySession({
          from: a.port,
          to: b.port,
          file: path.join(f.tmp, "ab.sess"),
          version: "tls1_2",
          noTicket: true,
        });
        assert.equal(second.outcome, EVENTS_FIRE ? "Reused" : "New");
        assert.equal(second.body, "hello");
        // Node's default session lifetime is 300 s.
        if (EVENTS_FIRE) assert.equal(rec.adds[0]?.timeoutMs, 300_000);
        else assert.equal(rec.adds.length, 0);
      } finally {
        detachA();
        detachB();
        await stopHttps(a.server);
        await stopHttps(b.server);
      }
    },
  );

  it("stores with the server's sessionTimeout and the prefix given", {
    skip: EVENTS_FIRE ? false : "the session events never fire here",
  }, async () => {
    const a = await startHttps(cert, { sessionTimeout: 42 });
    const rec = new Recording(f.ctx);
    const detach = useSessionCache(a.server, rec, { prefix: "tls:" });
    try {
      await sClient({ port: a.port, version: "tls1_2", noTicket: true });
      assert.equal(rec.adds.length, 1);
      assert.equal(rec.adds[0].timeoutMs, 42_000);
      const id = rec.adds[0].id;
      assert.equal(new TextDecoder().decode(id.subarray(0, 4)), "tls:");
      assert.equal(id.length, 4 + 32);
      assert.ok(await f.ctx.hasSession(id), "the session is in the cache");
    } finally {
      detach();
      await stopHttps(a.server);
    }
  });

  it("does not store TLS 1.3 sessions (they resume by ticket only)", {
    skip: EVENTS_FIRE ? false : "the session events never fire here",
  }, async () => {
    const a = await startHttps(cert);
    const rec = new Recording(f.ctx);
    const detach = useSessionCache(a.server, rec);
    try {
      const hs = await sClient({ port: a.port, version: "tls1_3" });
      assert.equal(hs.version, "TLSv1.3");
      assert.equal(hs.body, "hello");
      assert.equal(rec.adds.length, 0);
      await sClient({ port: a.port, version: "tls1_2", noTicket: true });
      assert.equal(rec.adds.length, 1, "a TLS 1.2 session is stored");
    } finally {
      detach();
      await stopHttps(a.server);
    }
  });

  it("a cache that never answers delays no handshake past lookupTimeoutMs", {
    skip: EVENTS_FIRE ? false : "the session events never fire here",
  }, async () => {
    const a = await startHttps(cert);
    const b = await startHttps(cert);
    const errors: DistcacheTlsError[] = [];
    const stuck: SessionCacheClient = {
      addSession: () => new Promise(() => {}),
      get: () => new Promise(() => {}),
    };
    const detachA = useSessionCache(a.server, f.ctx);
    const detachB = useSessionCache(b.server, stuck, {
      lookupTimeoutMs: 50,
      onError: (e) => errors.push(e),
    });
    try {
      // Without the timeout the second handshake would wait forever
      // (sClient gives up after 15 s and fails the test).
      const hs = await carrySession({
        from: a.port,
        to: b.port,
        file: path.join(f.tmp, "stuck.sess"),
        version: "tls1_2",
        noTicket: true,
      });
      assert.equal(hs.outcome, "New");
      assert.equal(hs.body, "hello");
      assert.equal(errors.length, 1);
      assert.equal(errors[0].code, "ERR_TLS_CACHE");
      assert.match(errors[0].message, /within 50 ms/);
    } finally {
      detachA();
      detachB();
      await stopHttps(a.server);
      await stopHttps(b.server);
    }
  });

  it("after detach the server neither stores nor resumes through the cache", {
    skip: EVENTS_FIRE ? false : "the session events never fire here",
  }, async () => {
    const a = await startHttps(cert);
    const rec = new Recording(f.ctx);
    const detach = useSessionCache(a.server, rec);
    detach();
    try {
      const hs = await carrySession({
        from: a.port,
        to: a.port,
        file: path.join(f.tmp, "detached.sess"),
        version: "tls1_2",
        noTicket: true,
      });
      // Node keeps no session cache of its own for session ids.
      assert.equal(hs.outcome, "New");
      assert.equal(rec.adds.length + rec.gets, 0);
    } finally {
      await stopHttps(a.server);
    }
  });

  it("throws on a server or cache that is not one", () => {
    assert.throws(
      () => useSessionCache({} as https.Server, f.ctx),
      { code: "ERR_ARGUMENT", message: /server: it has no on, off methods/ },
    );
    assert.throws(
      () => useSessionCache(https.createServer(), {} as SessionCacheClient),
      { code: "ERR_ARGUMENT", message: /ctx: it has no addSession, get/ },
    );
    assert.throws(
      () =>
        useSessionCache(https.createServer(), f.ctx, { lookupTimeoutMs: 0 }),
      { code: "ERR_ARGUMENT", message: /lookupTimeoutMs: 0/ },
    );
  });
});
