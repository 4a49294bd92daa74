import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_FLAG_PERSISTENT_LATE,
  DC_CTX_FLAG_PERSISTENT_PIDCHECK,
  DC_CTX_FLAG_PERSISTENT_RETRY,
  DcArgumentError,
  DcConnectError,
  DcCtx,
} from "../../dc_client/mod.ts";
import { serve, type Server } from "../../dc_server/mod.ts";
import { listenAddress, makeTempDir, matrix, removeDir } from "../_servers.ts";
import { frame } from "../_wire.ts";

const td = new TextDecoder();
const P = DC_CTX_FLAG_PERSISTENT;

// A byte relay in front of a server that can drop every connection at will
// (a server's idle timeout, seen from the client).
class Relay {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  constructor(target: () => string) {
    this.server = net.createServer((down) => {
      const addr = target();
      const up = addr.startsWith("UNIX:")
        ? net.createConnection({ path: addr.slice(5) })
        : net.createConnection({
          host: "127.0.0.1",
          port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
        });
      for (const s of [down, up]) {
        this.sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          this.sockets.delete(s);
          down.destroy();
          up.destroy();
        });
      }
      down.pipe(up);
      up.pipe(down);
    });
  }
  listen(): Promise<string> {
    return new Promise((resolve) =>
      this.server.listen(
        0,
        "127.0.0.1",
        () =>
          resolve(
            `IP:127.0.0.1:${(this.server.address() as net.AddressInfo).port}`,
          ),
      )
    );
  }
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }
  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// A server that accepts and answers every request with fixed bytes (or never).
async function fakeServer(
  answer: ((uid: number, op: number) => Uint8Array) | null,
): Promise<{ addr: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    let buf = new Uint8Array(0);
    s.on("data", (chunk: Uint8Array) => {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      while (buf.length >= 14) {
        const v = new DataView(buf.buffer, buf.byteOffset);
        const len = v.getUint16(12);
        if (buf.length < 14 + len) break;
        const uid = v.getUint32(5);
        const op = buf[10];
        buf = buf.slice(14 + len);
        if (answer !== null) s.write(answer(uid, op));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    addr: `IP:127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

for (const { adapter, transport, label } of matrix()) {
  describe(`DcCtx over ${label}`, () => {
    let tmp = "";
    let server: Server;
    let addr = "";
    before(async () => {
      tmp = makeTempDir();
      addr = listenAddress(transport, tmp);
      server = await serve({ listen: addr, adapter, sessions: 100_000 });
      addr = server.addr;
    });
    after(async () => {
      await server.close();
      removeDir(tmp);
    });

    for (
      const [name, flags] of [["per-operation", 0], ["persistent", P]] as const
    ) {
      it(`${name}: add, get, has, remove succeed and fail as the cache says`, async () => {
        const ctx = await DcCtx.create(addr, flags, { adapter });
        try {
          const id = `basic-${label}-${name}`;
          assert.equal(await ctx.addSession(id, "hello session", 60_000), true);
          assert.equal(
            await ctx.addSession(id, "again", 60_000),
            false,
            "duplicate id",
          );
          assert.equal(await ctx.hasSession(id), true);
          assert.equal(td.decode((await ctx.get(id))!), "hello session");
          assert.equal(await ctx.removeSession(id), true);
          assert.equal(await ctx.removeSession(id), false);
          assert.equal(await ctx.hasSession(id), false);
          assert.equal(await ctx.get(id), null);
          assert.equal(await ctx.getSession(id, new Uint8Array(10)), null);
        } finally {
          ctx.close();
        }
      });
    }

    it("per-operation mode opens one connection per operation", async () => {
      const ctx = await DcCtx.create(addr, 0, { adapter });
      const before = server.stats().connectionsTotal;
      await ctx.addSession(`count-${label}`, "data!", 60_000);
      await ctx.hasSession(`count-${label}`);
      await ctx.get(`count-${label}`);
      assert.equal(server.stats().connectionsTotal - before, 3);
      ctx.close();
    });

    it("persistent mode keeps one connection for all operations", async () => {
      const before = server.stats().connectionsTotal;
      const ctx = await DcCtx.create(
        addr,
        P | DC_CTX_FLAG_PERSISTENT_PIDCHECK,
        { adapter },
      );
      for (let i = 0; i < 20; i++) await ctx.hasSession(`p-${i}`);
      assert.equal(server.stats().connectionsTotal - before, 1);
      ctx.close();
    });

    it("PIDCHECK reconnects when the process id changed", async () => {
      let pid = 1000;
      const ctx = await DcCtx.create(
        addr,
        P | DC_CTX_FLAG_PERSISTENT_PIDCHECK,
        { adapter, pid: () => pid },
      );
      const before = server.stats().connectionsTotal;
      await ctx.hasSession("pid");
      pid = 1001;
      await ctx.hasSession("pid");
      await ctx.hasSession("pid");
      assert.equal(
        server.stats().connectionsTotal - before,
        1,
        "one reconnect after the change",
      );
      ctx.close();
    });

    it("getSession with null, short and exact storage, then regetSession", async () => {
      const ctx = await DcCtx.create(addr, P, { adapter });
      try {
        const id = `reget-${label}`;
        const data = new Uint8Array(3000).map((_, i) => i % 251);
        assert.equal(await ctx.addSession(id, data, 60_000), true);
        assert.equal(
          await ctx.getSession(id, null),
          3000,
          "null storage still reports the length",
        );
        const exact = new Uint8Array(3000);
        assert.equal(ctx.regetSession(id, exact), 3000);
        assert.deepEqual(exact, data);
        const short = new Uint8Array(100);
        assert.equal(await ctx.getSession(id, short), 3000);
        assert.deepEqual(short, data.subarray(0, 100));
        assert.equal(ctx.regetSession(`${id}-other`, exact), null, "other id");
        await ctx.hasSession(id);
        assert.equal(
          ctx.regetSession(id, exact),
          null,
          "another operation came between",
        );
      } finally {
        ctx.close();
      }
    });

    it("1,000 concurrent operations on one persistent context get the right answers", async () => {
      const ctx = await DcCtx.create(addr, P, { adapter });
      try {
        const ids = Array.from({ length: 250 }, (_, i) => `conc-${label}-${i}`);
        const adds = await Promise.all(
          ids.map((id, i) =>
            ctx.addSession(id, `value-${i}-`.repeat(i % 7 + 1), 60_000)
          ),
        );
        assert.ok(adds.every((x) => x));
        const [gets, haves, misses] = await Promise.all([
          Promise.all(ids.map((id) => ctx.get(id))),
          Promise.all(ids.map((id) => ctx.hasSession(id))),
          Promise.all(ids.map((id) => ctx.hasSession(`${id}-absent`))),
        ]);
        gets.forEach((g, i) =>
          assert.equal(td.decode(g!), `value-${i}-`.repeat(i % 7 + 1))
        );
        assert.ok(haves.every((x) => x));
        assert.ok(misses.every((x) => !x));
      } finally {
        ctx.close();
      }
    });

    it("rejects bad arguments before sending anything", async () => {
      const ctx = await DcCtx.create(addr, 0, { adapter });
      const before = server.stats().connectionsTotal;
      await assert.rejects(ctx.addSession("", "data!", 1000), DcArgumentError);
      await assert.rejects(
        ctx.addSession("x".repeat(65), "data!", 1000),
        DcArgumentError,
      );
      await assert.rejects(ctx.addSession("id", "", 1000), DcArgumentError);
      await assert.rejects(
        ctx.addSession("id", new Uint8Array(32768 - 8 - 2 + 1), 1000),
        DcArgumentError,
      );
      await assert.rejects(
        ctx.addSession("id", "data!", 604800001),
        DcArgumentError,
      );
      await assert.rejects(ctx.get(""), DcArgumentError);
      await assert.rejects(ctx.hasSession(new Uint8Array(65)), DcArgumentError);
      assert.equal(server.stats().connectionsTotal, before, "nothing was sent");
      assert.equal(
        await ctx.addSession(
          `room-${label}`,
          new Uint8Array(32768 - 8 - `room-${label}`.length),
          1000,
        ),
        true,
      );
      ctx.close();
    });
  });
}

describe("DcCtx connection flags", () => {
  let tmp = "";
  before(() => {
    tmp = makeTempDir();
  });
  after(() => removeDir(tmp));

  it("a persistent context fails to create without a server; LATE creates and connects later", async () => {
    const addr = listenAddress("UNIX", tmp, "late.sock");
    await assert.rejects(DcCtx.create(addr, P), DcConnectError);
    const ctx = await DcCtx.create(addr, P | DC_CTX_FLAG_PERSISTENT_LATE);
    assert.equal(
      await ctx.hasSession("x"),
      false,
      "no server yet: a clean failure",
    );
    const server = await serve({ listen: addr });
    try {
      assert.equal(await ctx.addSession("late", "hello", 60_000), true);
      assert.equal(await ctx.hasSession("late"), true);
    } finally {
      ctx.close();
      await server.close();
    }
  });

  it("RETRY survives a dropped connection and a server restart; without it the operation fails cleanly", async () => {
    const addr = listenAddress("UNIX", tmp, "retry.sock");
    let server = await serve({ listen: addr });
    const relay = new Relay(() => addr);
    const relayAddr = await relay.listen();
    const withRetry = await DcCtx.create(
      relayAddr,
      P | DC_CTX_FLAG_PERSISTENT_RETRY,
    );
    const without = await DcCtx.create(relayAddr, P);
    try {
      assert.equal(await withRetry.addSession("r1", "first", 60_000), true);
      assert.equal(await without.hasSession("r1"), true);
      relay.dropAll(); // the idle drop
      assert.equal(
        await withRetry.hasSession("r1"),
        true,
        "retried over a new connection",
      );
      assert.equal(await without.hasSession("r1"), false, "fails cleanly");
      assert.equal(
        await without.hasSession("r1"),
        true,
        "and reconnects next time",
      );
      await server.close();
      server = await serve({ listen: addr });
      assert.equal(
        await withRetry.addSession("r2", "after restart", 60_000),
        true,
      );
      assert.equal(td.decode((await withRetry.get("r2"))!), "after restart");
    } finally {
      withRetry.close();
      without.close();
      await relay.close();
      await server.close();
    }
  });

  it("a server that never answers does not hang the caller past the timeout", async () => {
    const fake = await fakeServer(null);
    const ctx = await DcCtx.create(fake.addr, P, { timeoutMs: 200 });
    try {
      const t0 = Date.now();
      assert.equal(await ctx.hasSession("x"), false);
      assert.equal(await ctx.get("x"), null);
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      ctx.close();
      await fake.close();
    }
  });

  it("an empty answer or DC_ERR_DISCONNECTED (a proxy without its server) is a failure", async () => {
    for (const payload of [new Uint8Array(0), Uint8Array.of(2)]) {
      const fake = await fakeServer((uid, op) =>
        frame({ uid, op, response: true, data: payload })
      );
      const ctx = await DcCtx.create(fake.addr, P);
      try {
        assert.equal(await ctx.addSession("x", "data!", 1000), false);
        assert.equal(await ctx.hasSession("x"), false);
        assert.equal(await ctx.get("x"), null);
      } finally {
        ctx.close();
        await fake.close();
      }
    }
  });
});
