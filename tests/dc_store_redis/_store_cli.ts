// Helpers of the Redis store tests: a `distcache server -store` process,
// an ADD retried until the store (just started, or back) stores it, and two
// processes on one Redis (prefix `shared:`) that share their sessions.

import assert from "node:assert/strict";
import process from "node:process";
import { CliProcess } from "../_cli.ts";
import type { StandaloneRedis } from "../_redis.ts";
import { until } from "../_servers.ts";
import { addPayload, ask, bytes, OP, RawClient } from "../_wire.ts";

const td = new TextDecoder();

/** The server's banner with a store, and where it listens. */
export const LISTENING = /listening on (\S+) \(store: /;

/**
 * Starts `distcache server -listen IP:127.0.0.1:0 -store <url> <extra>`
 * (with `env` added to the environment) and waits for its banner.
 */
export async function startStoreServer(
  url: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<{ proc: CliProcess; addr: string }> {
  const saved = Object.keys(env).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, env);
  let proc: CliProcess;
  try {
    proc = new CliProcess([
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      "-store",
      url,
      ...extra,
    ]);
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  await proc.waitFor(LISTENING);
  return { proc, addr: LISTENING.exec(proc.stdout)![1] };
}

/** Sends the ADD again and again until it is stored (10 s at most). */
export async function addOnceUp(
  c: RawClient,
  id: string,
  data: string,
  what: string,
): Promise<void> {
  let uid = 1_000_000;
  await until(
    async () =>
      (await ask(c, uid++, OP.ADD, addPayload(id, data, 600_000)))[0] === 0,
    10_000,
    what,
  );
}

/**
 * Two processes (servers or proxies) on one Redis with the prefix
 * `shared:`: sessions added through `a` are read, refused as duplicates and
 * removed through `b` and back; `a` killed, `b` still serves every one.
 */
export async function assertShared(
  a: { proc: CliProcess; addr: string },
  b: { proc: CliProcess; addr: string },
  redis: StandaloneRedis,
): Promise<void> {
  const ca = await RawClient.connect(a.addr);
  const cb = await RawClient.connect(b.addr);
  try {
    for (let i = 0; i < 50; i++) {
      assert.deepEqual(
        await ask(ca, i, OP.ADD, addPayload(`s${i}`, `via a ${i}`, 60_000)),
        Uint8Array.of(0),
      );
    }
    // Through the other one: the same sessions, and the same rule.
    assert.equal(td.decode(await ask(cb, 1, OP.GET, bytes("s7"))), "via a 7");
    assert.deepEqual(
      await ask(cb, 2, OP.ADD, addPayload("s7", "again", 60_000)),
      Uint8Array.of(101),
    );
    assert.deepEqual(
      await ask(cb, 3, OP.ADD, addPayload("from-b", "via b", 60_000)),
      Uint8Array.of(0),
    );
    assert.equal(
      td.decode(await ask(ca, 99, OP.GET, bytes("from-b"))),
      "via b",
    );
    assert.deepEqual(
      await ask(ca, 98, OP.REMOVE, bytes("from-b")),
      Uint8Array.of(0),
    );
    assert.deepEqual(
      await ask(cb, 4, OP.HAVE, bytes("from-b")),
      Uint8Array.of(1),
    );
    a.proc.signal("SIGKILL");
    await a.proc.exited;
    for (let i = 0; i < 50; i++) {
      assert.equal(
        td.decode(await ask(cb, 100 + i, OP.GET, bytes(`s${i}`))),
        `via a ${i}`,
      );
    }
    // The keys are the prefix and the id.
    assert.equal(await redis.server.cli("GET", "shared:s0"), "via a 0");
  } finally {
    ca.close();
    cb.close();
  }
}
