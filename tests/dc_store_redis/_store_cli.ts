// Helpers of the Redis store tests: a `distcache server -store` process,
// and an ADD retried until the store (just started, or back) stores it.

import process from "node:process";
import { CliProcess } from "../_cli.ts";
import { until } from "../_servers.ts";
import { addPayload, ask, OP, type RawClient } from "../_wire.ts";

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
