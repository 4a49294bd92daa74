// DcCtx's argument rules: exactly Uint8Array (any view of bytes, a Buffer
// too) or string for ids and data, numbers in range, and data of at least
// 5 bytes; anything else throws a DcArgumentError naming the argument
// before a single byte reaches the wire.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as net from "node:net";
import {
  DC_CTX_FLAG_PERSISTENT,
  DC_CTX_MIN_DATA_LEN,
  DcArgumentError,
  DcCtx,
} from "../../dc_client/mod.ts";
import { serve, type Server } from "../../dc_server/mod.ts";
import { addPayload, command, concat, frame, OP, RawClient } from "../_wire.ts";
import { until } from "../_servers.ts";

// A server that records every byte and connection it gets and answers each
// HAVE with "yes" (so that a probe request can show where the stream is).
class Recorder {
  readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  received: number[] = [];
  connections = 0;
  constructor() {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => this.sockets.delete(s));
      let pending: Uint8Array = new Uint8Array(0);
      s.on("data", (chunk: Uint8Array) => {
        this.received.push(...chunk);
        pending = concat([pending, chunk]);
        // Answer each whole frame with a one-byte OK.
        while (pending.length >= 14) {
          const len = (pending[12] << 8) | pending[13];
          if (pending.length < 14 + len) break;
          const uid = new DataView(pending.buffer, pending.byteOffset + 5, 4)
            .getUint32(0);
          const data = Uint8Array.of(0);
          s.write(frame({ uid, op: pending[10], response: true, data }));
          pending = pending.slice(14 + len);
        }
      });
    });
  }
  listen(): Promise<string> {
    return new Promise((resolve) =>
      this.server.listen(0, "127.0.0.1", () =>
        resolve(
          `IP:127.0.0.1:${(this.server.address() as net.AddressInfo).port}`,
        ))
    );
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const NOT_BYTES: [string, unknown][] = [
  ["a number", 123],
  ["a plain object", {}],
  ["an ArrayBuffer", new ArrayBuffer(8)],
  ["a DataView", new DataView(new ArrayBuffer(8))],
  ["a plain array", [1, 2, 3, 4, 5, 6]],
  ["a Uint16Array", new Uint16Array(8)],
  ["an Int8Array", new Int8Array(8)],
  ["a Uint8ClampedArray", new Uint8ClampedArray(8)],
  ["null", null],
  ["undefined", undefined],
  ["a boolean", true],
];

describe("DcCtx argument rules", () => {
  let recorder: Recorder;
  let addr = "";
  let persistent: DcCtx;
  let perOp: DcCtx;
  before(async () => {
    recorder = new Recorder();
    addr = await recorder.listen();
    persistent = await DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT);
    perOp = await DcCtx.create(addr, 0);
  });
  after(async () => {
    persistent.close();
    perOp.close();
    await recorder.close();
  });

  // Every call refused, then a probe: the probe's frame is the first and
  // only thing the recorder sees, so nothing before it reached the wire.
  async function assertNothingSent(
    calls: (ctx: DcCtx) => Promise<unknown>[],
  ): Promise<void> {
    for (const ctx of [persistent, perOp]) {
      const connections = recorder.connections;
      recorder.received = [];
      for (const call of calls(ctx)) {
        await assert.rejects(call, DcArgumentError);
      }
      assert.equal(
        recorder.connections,
        connections,
        "no connection was opened",
      );
      assert.equal(await ctx.hasSession("probe"), true);
      await until(() => recorder.received.length >= 19, 5000, "the probe");
      const got = Uint8Array.from(recorder.received);
      assert.equal(got.length, 19, "only the probe's 19 bytes arrived");
      assert.equal(got[10], OP.HAVE);
      assert.equal(new TextDecoder().decode(got.subarray(14)), "probe");
    }
  }

  for (const [what, value] of NOT_BYTES) {
    it(`refuses ${what} as an id or as data, naming the argument, sending nothing`, async () => {
      const reasons: string[] = [];
      const note = (p: Promise<unknown>) =>
        p.catch((err) => {
          reasons.push(err.message);
          throw err;
        });
      await assertNothingSent((ctx) => [
        note(ctx.get(value as string)),
        note(ctx.getSession(value as string, new Uint8Array(10))),
        note(ctx.hasSession(value as string)),
        note(ctx.removeSession(value as string)),
        note(ctx.addSession(value as string, "valid data", 1000)),
        note(ctx.addSession("id", value as string, 1000)),
      ]);
      for (const r of reasons.filter((_, i) => i % 6 < 5)) {
        assert.match(r, /^invalid id: .*must be a Uint8Array or a string/);
      }
      for (const r of reasons.filter((_, i) => i % 6 === 5)) {
        assert.match(r, /^invalid data: .*must be a Uint8Array or a string/);
      }
      assert.equal(reasons.length, 12);
    });
  }

  it("says what the bad value was", async () => {
    const messages = [];
    for (const value of [new Uint16Array(8), 123, new ArrayBuffer(4), {}]) {
      const err = await persistent.get(value as string).catch((e) => e);
      messages.push(err.message);
    }
    assert.deepEqual(messages, [
      "invalid id: a Uint16Array; must be a Uint8Array or a string",
      "invalid id: the number 123; must be a Uint8Array or a string",
      "invalid id: an ArrayBuffer; must be a Uint8Array or a string",
      "invalid id: an Object; must be a Uint8Array or a string",
    ]);
  });

  it("refuses a storage that is not a Uint8Array or null, and a timeout that is not an integer 0..7 days", async () => {
    await assertNothingSent((ctx) => [
      ...[new ArrayBuffer(8), new Uint16Array(8), [0, 0], {}, 5].map((s) =>
        ctx.getSession("id", s as Uint8Array).catch((err) => {
          assert.match(err.message, /^invalid storage: /);
          throw err;
        })
      ),
      ...["1000", 1.5, NaN, -1, 604800001, undefined, null, Infinity].map((t) =>
        ctx.addSession("id", "valid data", t as number).catch((err) => {
          assert.match(err.message, /^invalid timeoutMs: .*0\.\.604800000/);
          throw err;
        })
      ),
    ]);
  });

  it("refuses data of 1 to 4 bytes, which a GET could never read back, and says why", async () => {
    for (const data of ["a", "abcd", new Uint8Array(3), Buffer.from([1, 2])]) {
      await assertNothingSent((ctx) => [
        ctx.addSession("id", data, 1000).catch((err) => {
          assert.match(
            err.message,
            /too short: must be at least 5, since a GET answer under 5 bytes cannot be told from an error code/,
          );
          throw err;
        }),
      ]);
    }
    assert.equal(DC_CTX_MIN_DATA_LEN, 5);
  });

  it("regetSession refuses the wrong types at once", () => {
    assert.throws(() => persistent.regetSession(123 as unknown as string), {
      name: "DcArgumentError",
      message: /^invalid id: the number 123/,
    });
    assert.throws(
      () =>
        persistent.regetSession(
          "id",
          new ArrayBuffer(4) as unknown as Uint8Array,
        ),
      /^DcArgumentError: invalid storage: an ArrayBuffer/,
    );
  });

  it("create refuses a target, flags or options of the wrong type or range", async () => {
    const bad: [unknown, unknown, unknown, RegExp][] = [
      [123, 0, {}, /^invalid target: the number 123/],
      [addr, 1.5, {}, /^invalid flags: the number 1\.5/],
      [addr, 16, {}, /^invalid flags: the number 16.*0\.\.15/],
      [addr, "1", {}, /^invalid flags: the string "1"/],
      [addr, 0, null, /^invalid options: null/],
      [addr, 0, { timeoutMs: "5" }, /^invalid timeoutMs: the string "5"/],
      [addr, 0, { timeoutMs: 0 }, /^invalid timeoutMs: the number 0/],
      [addr, 0, { timeoutMs: Infinity }, /^invalid timeoutMs/],
      [addr, 0, { maxInFlight: 0 }, /^invalid maxInFlight: the number 0/],
      [addr, 0, { maxInFlight: 2.5 }, /^invalid maxInFlight/],
      [addr, 0, { pid: 42 }, /^invalid pid: the number 42/],
    ];
    const connections = recorder.connections;
    for (const [target, flags, options, message] of bad) {
      await assert.rejects(
        DcCtx.create(target as string, flags as number, options as object),
        (err: unknown) =>
          err instanceof DcArgumentError && message.test(err.message),
        String(message),
      );
    }
    assert.equal(recorder.connections, connections);
  });
});

describe("DcCtx accepts any view of bytes", () => {
  let server: Server;
  before(async () => {
    server = await serve({ listen: "IP:127.0.0.1:0" });
  });
  after(() => server.close());

  it("stores exactly the bytes of a subarray view and of a Node Buffer", async () => {
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      const backing = Uint8Array.from({ length: 64 }, (_, i) => i);
      const view = backing.subarray(10, 30);
      const buf = Buffer.from("buffer id");
      assert.equal(await ctx.addSession(buf, view, 60_000), true);
      assert.deepEqual(await ctx.get("buffer id"), backing.slice(10, 30));
      assert.equal(await ctx.hasSession(Buffer.from("buffer id")), true);
      const storage = Buffer.alloc(20);
      assert.equal(await ctx.getSession(buf, storage), 20);
      assert.deepEqual(Uint8Array.from(storage), backing.slice(10, 30));
    } finally {
      ctx.close();
    }
  });

  it("keeps the C client's rule: a stored answer of 1 to 4 bytes reads as a miss", async () => {
    // Stored by hand, as a C client or an older version of ours could.
    const raw = await RawClient.connect(server.addr);
    try {
      raw.send(command(1, OP.ADD, addPayload("tiny", "abc", 60_000)));
      assert.deepEqual((await raw.answer()).payload, Uint8Array.of(0));
    } finally {
      raw.close();
    }
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      assert.equal(await ctx.hasSession("tiny"), true);
      assert.equal(await ctx.get("tiny"), null);
      assert.equal(await ctx.getSession("tiny", new Uint8Array(8)), null);
      assert.equal(await ctx.addSession("five", "abcde", 60_000), true);
      assert.deepEqual(
        await ctx.get("five"),
        new TextEncoder().encode("abcde"),
      );
    } finally {
      ctx.close();
    }
  });
});
