// How the Redis store writes a batch: its commands reach the socket in one
// write (a corked socket still made one system call each under Bun).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { Writable } from "node:stream";
import { Command, Redis } from "ioredis";
import { CommandWriter } from "../../dc_store_redis/_writer.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";

describe("CommandWriter", { skip: REDIS_MISSING }, () => {
  let redis: StandaloneRedis;
  let client: Redis;
  before(async () => {
    redis = await StandaloneRedis.start();
    client = new Redis(redis.url, { enableOfflineQueue: false });
    await new Promise<void>((resolve) => client.once("ready", resolve));
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("writes a held batch's commands to the socket at once, in order", async () => {
    const stream = (client as unknown as { stream: Writable }).stream;
    const writes: Buffer[] = [];
    const write = stream.write;
    stream.write = ((chunk: Buffer, ...rest: unknown[]) => {
      writes.push(Buffer.from(chunk));
      return (write as (...args: unknown[]) => boolean).call(
        stream,
        chunk,
        ...rest,
      );
    }) as typeof stream.write;
    try {
      const writer = new CommandWriter(client, Command);
      const key = Buffer.from("batch:\x00\xff");
      writer.hold();
      const set = writer.send("set", [
        key,
        Buffer.from([1, 2]),
        "PX",
        60_000,
        "NX",
      ], false);
      const get = writer.send("get", [key], true);
      const mget = writer.send("mget", [key, Buffer.from("batch:none")], true);
      const del = writer.send("del", [key], false);
      assert.equal(writes.length, 0); // held
      writer.release();
      assert.equal(writes.length, 1);
      const text = writes[0].toString("latin1");
      const order = ["set", "get", "mget", "del"].map((c) =>
        text.indexOf(`$${c.length}\r\n${c}\r\n`)
      );
      assert.ok(
        order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1])),
        text,
      );
      assert.equal(await set, "OK");
      assert.deepEqual(await get, Buffer.from([1, 2]));
      assert.deepEqual(await mget, [Buffer.from([1, 2]), null]);
      assert.equal(await del, 1);
      // Not held: each command goes at once.
      const alone = writer.send("exists", [key], false);
      assert.equal(writes.length, 2);
      assert.equal(await alone, 0);
    } finally {
      stream.write = write;
    }
  });
});
