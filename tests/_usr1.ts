// Test helper: sends SIGUSR1 to a running tool and checks that it opened
// no debugger (Deno and Node start V8's inspector on 127.0.0.1:9229 on
// SIGUSR1 unless the program prevents it).

import assert from "node:assert/strict";
import process from "node:process";
import { DcCtx } from "../dc_client/mod.ts";
import type { CliProcess } from "./_cli.ts";
import { alive, listeningTcpPorts } from "./_proc.ts";
import { until } from "./_servers.ts";

const INSPECTOR_PORT = 9229;
// Deno installs its SIGUSR1 handler 500 ms after start-up.
const PAST_GRACE_MS = 1500;
// How long an inspector gets to show up after the signal was handled.
const WATCH_MS = 1000;

/**
 * Sends SIGUSR1 once the process is past Deno's grace period, checks that
 * it still answers at `addr`, then that within WATCH_MS no TCP socket of it
 * listens other than `ownPorts`, and that it printed nothing of a debugger
 * (Deno says "Failed to start inspector server" when 9229 is taken).
 */
export async function sigusr1OpensNothing(
  pid: number,
  spawnedAt: number,
  addr: string,
  ownPorts: number[],
  output: () => string = () => "",
): Promise<void> {
  await until(
    () => Date.now() - spawnedAt > PAST_GRACE_MS,
    PAST_GRACE_MS + 1000,
    "the process to be past Deno's start-up grace",
  );
  assert.deepEqual(listeningTcpPorts(pid), ownPorts, "before the signal");
  process.kill(pid, "SIGUSR1");
  const ctx = await DcCtx.create(addr);
  try {
    const id = `usr1-${pid}`;
    assert.equal(await ctx.addSession(id, "after SIGUSR1", 60_000), true);
    assert.ok(await ctx.get(id), "still serving after SIGUSR1");
  } finally {
    ctx.close();
  }
  const deadline = Date.now() + WATCH_MS;
  while (Date.now() < deadline) {
    const ports = listeningTcpPorts(pid);
    assert.ok(
      !ports.includes(INSPECTOR_PORT),
      `process ${pid} listens on the inspector port ${INSPECTOR_PORT}`,
    );
    assert.deepEqual(ports, ownPorts, "no new listening socket");
    assert.doesNotMatch(output(), /inspector|debugger/i);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(alive(pid), "SIGUSR1 did not kill the process");
}

/** The same, for a process of ours, which is killed if the check fails. */
export async function checkNoInspector(
  proc: CliProcess,
  addr: string,
): Promise<void> {
  try {
    await sigusr1OpensNothing(
      proc.child.pid!,
      proc.spawnedAt,
      addr,
      portOf(addr),
      () => proc.stdout + proc.stderr,
    );
  } catch (err) {
    proc.signal("SIGKILL");
    throw err;
  }
}

function portOf(addr: string): number[] {
  const m = /^IP:[^:]+:(\d+)$/.exec(addr);
  return m === null ? [] : [Number(m[1])];
}
