// maxInFlight: a persistent DcCtx keeps at most that many requests
// unanswered on its connection and queues the rest in order, as a server
// that holds its answers sees.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  DC_CTX_DEFAULT_MAX_IN_FLIGHT,
  DC_CTX_FLAG_PERSISTENT,
  DcCtx,
} from "../../dc_client/mod.ts";
import { concat, frame } from "../_wire.ts";

// A server that answers HAVE "yes" only once `batch` requests wait (or all
// that are still to come, `total` in all), and notes the most requests it
// ever saw unanswered.
async function holdingServer(batch: number, total: number) {
  const sockets = new Set<net.Socket>();
  const seen = {
    arrived: 0,
    answered: 0,
    mostUnanswered: 0,
    uids: [] as number[],
  };
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    let buf: Uint8Array = new Uint8Array(0);
    const waiting: { uid: number; op: number }[] = [];
    s.on("data", (chunk: Uint8Array) => {
      buf = concat([buf, chunk]);
      while (buf.length >= 14) {
        const len = (buf[12] << 8) | buf[13];
        if (buf.length < 14 + len) break;
        const uid = new DataView(buf.buffer, buf.byteOffset + 5, 4).getUint32(
          0,
        );
        waiting.push({ uid, op: buf[10] });
        seen.uids.push(uid);
        seen.arrived++;
        buf = buf.slice(14 + len);
      }
      seen.mostUnanswered = Math.max(seen.mostUnanswered, waiting.length);
      if (waiting.length >= Math.min(batch, total - seen.answered)) {
        for (const w of waiting.splice(0)) {
          s.write(
            frame({
              uid: w.uid,
              op: w.op,
              response: true,
              data: Uint8Array.of(0),
            }),
          );
          seen.answered++;
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    addr: `IP:127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe("DcCtx maxInFlight", () => {
  for (const [bound, calls] of [[1, 5], [3, 10], [7, 50]]) {
    it(`with maxInFlight ${bound}, ${calls} concurrent calls never have more than ${bound} unanswered, and all succeed in order`, async () => {
      const fake = await holdingServer(bound, calls);
      const ctx = await DcCtx.create(fake.addr, DC_CTX_FLAG_PERSISTENT, {
        maxInFlight: bound,
      });
      try {
        const results = await Promise.all(
          Array.from({ length: calls }, (_, i) => ctx.hasSession(`id-${i}`)),
        );
        assert.ok(results.every((r) => r === true));
        assert.equal(fake.seen.arrived, calls);
        assert.equal(fake.seen.mostUnanswered, bound);
        // Sent in call order: request_uids rise by one.
        const first = fake.seen.uids[0];
        assert.deepEqual(
          fake.seen.uids,
          Array.from({ length: calls }, (_, i) => (first + i) >>> 0),
        );
      } finally {
        ctx.close();
        await fake.close();
      }
    });
  }

  it(`bounds requests in flight at ${DC_CTX_DEFAULT_MAX_IN_FLIGHT} unless told`, async () => {
    const calls = 100;
    const fake = await holdingServer(DC_CTX_DEFAULT_MAX_IN_FLIGHT, calls);
    const ctx = await DcCtx.create(fake.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      const results = await Promise.all(
        Array.from({ length: calls }, (_, i) => ctx.hasSession(`id-${i}`)),
      );
      assert.ok(results.every((r) => r === true));
      assert.equal(fake.seen.mostUnanswered, DC_CTX_DEFAULT_MAX_IN_FLIGHT);
      assert.equal(DC_CTX_DEFAULT_MAX_IN_FLIGHT, 16);
    } finally {
      ctx.close();
      await fake.close();
    }
  });

  it("counts the time a call waits its turn in its timeout", async () => {
    // Answers only once 5 wait: with one in flight, that never comes.
    const fake = await holdingServer(5, 5);
    const ctx = await DcCtx.create(fake.addr, DC_CTX_FLAG_PERSISTENT, {
      maxInFlight: 1,
      timeoutMs: 300,
    });
    try {
      const t0 = Date.now();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => ctx.hasSession(`id-${i}`)),
      );
      assert.deepEqual(results, [false, false, false, false, false]);
      assert.equal(fake.seen.arrived, 1, "the queued calls were never sent");
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      ctx.close();
      await fake.close();
    }
  });
});
