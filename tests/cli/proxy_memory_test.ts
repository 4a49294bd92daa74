// A `distcache client` process with 50 local clients that pipeline GETs of
// 32 KB sessions and never read: its resident memory grows by at most what
// its per-client bound allows (not the answers of every request, 8 MiB a
// client), another client's GETs keep being answered, and the memory is
// not kept growing once they leave.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DC_PROXY_CLIENT_BYTES } from "../../dc_client/mod.ts";
import { CliSandbox, listenAddr } from "../_cli.ts";
import { HAVE_PROC } from "../_proc.ts";
import { until } from "../_servers.ts";
import { addPayload, bytes, command, concat, OP, RawClient } from "../_wire.ts";

const SLOW = 50;
const GETS = 256;
// Beyond the bound on answers held, what each connection costs the proxy
// in buffers (read, send, a plug's backlog and command joining) and what
// a runtime may hold of one unfinished write.
const PER_CONNECTION = 256 * 1024;
// The runtime's own growth while it works (heap, JIT), whatever the load.
const SLACK = 48 * 1024 * 1024;

function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(
    fs.readFileSync(`/proc/${pid}/status`, "utf8"),
  );
  return Number(m![1]) * 1024;
}

// The value of `read` once it has not grown for 500 ms (20 s at most).
async function plateau(read: () => number): Promise<number> {
  let top = read();
  let since = Date.now();
  const deadline = since + 20_000;
  while (Date.now() - since < 500 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    const v = read();
    if (v > top) {
      top = v;
      since = Date.now();
    }
  }
  return top;
}

describe("distcache client with local clients that do not read", {
  skip: HAVE_PROC ? false : "needs /proc to read the proxy's memory",
}, () => {
  const box = new CliSandbox("distcache-proxy-mem-");

  it(`${SLOW} clients pipelining ${GETS} GETs of 32 KB: bounded proxy memory, another client served`, async () => {
    const server = await box.start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "s.sock")}`,
    ]);
    const proxy = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "p.sock")}`,
      "-server",
      listenAddr(server),
    ]);
    const addr = listenAddr(proxy);
    const pid = proxy.child.pid!;
    const id = "big";
    const data = new Uint8Array(32768 - 8 - id.length).fill(9);
    const fast = await RawClient.connect(addr);
    const slow: RawClient[] = [];
    try {
      fast.send(command(1, OP.ADD, addPayload(id, data, 600_000)));
      assert.deepEqual((await fast.answer()).payload, Uint8Array.of(0));
      for (let i = 0; i < SLOW; i++) {
        const c = await RawClient.connect(addr);
        c.socket.pause();
        slow.push(c);
      }
      // Warm: the same GETs, read, so that the runtime's own working set
      // is there before the baseline.
      for (let i = 0; i < 200; i++) {
        fast.send(command(2, OP.GET, bytes(id)));
        await fast.answer();
      }
      const before = rss(pid);
      const gets = concat(
        Array.from({ length: GETS }, (_, i) => command(i, OP.GET, bytes(id))),
      );
      for (const c of slow) c.send(gets);
      let answered = 0;
      for (let i = 0; i < 100; i++) {
        fast.send(command(1000 + i, OP.GET, bytes(id)));
        const ans = await fast.answer(10_000);
        assert.equal(ans.uid, 1000 + i);
        if (ans.payload.length === data.length) answered++;
      }
      assert.equal(answered, 100, "another client's GETs are all answered");
      const peak = await plateau(() => rss(pid));
      const bound = SLOW * (DC_PROXY_CLIENT_BYTES + PER_CONNECTION) + SLACK;
      const grew = peak - before;
      assert.ok(
        grew <= bound,
        `the proxy grew by ${(grew / 2 ** 20).toFixed(1)} MiB (bound ${
          (bound / 2 ** 20).toFixed(1)
        } MiB; unbounded, ${SLOW} x ${GETS} answers of 32 KiB would be ${
          (SLOW * GETS * 32 / 1024).toFixed(0)
        } MiB)`,
      );
      for (const c of slow.splice(0)) c.close();
      // Once they left, the same load again costs nothing more: what they
      // held was given back to be used again.
      for (let i = 0; i < SLOW; i++) {
        const c = await RawClient.connect(addr);
        c.socket.pause();
        c.send(gets);
        slow.push(c);
      }
      fast.send(command(5000, OP.GET, bytes(id)));
      assert.equal((await fast.answer(10_000)).uid, 5000);
      const again = await plateau(() => rss(pid));
      assert.ok(
        again - peak <= SLOW * PER_CONNECTION + SLACK / 2,
        `a second round grew it by ${
          ((again - peak) / 2 ** 20).toFixed(1)
        } MiB more`,
      );
      for (const c of slow.splice(0)) c.close();
      await until(
        async () => {
          fast.send(command(6000, OP.HAVE, bytes(id)));
          return (await fast.answer()).payload[0] === 0;
        },
        5000,
        "the proxy to serve on",
      );
    } finally {
      for (const c of slow) c.close();
      fast.close();
    }
  });
});
