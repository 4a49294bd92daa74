// The server's store limits as an operator sets them: a real `distcache
// server` process given -maxbytes or -min-timeout, observed only through
// the protocol.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { CliProcess, runCli } from "../_cli.ts";
import { makeTempDir, removeDir } from "../_servers.ts";

const LISTENING = /listening on (\S+)/;

describe("server -maxbytes and -min-timeout", () => {
  let tmp = "";
  const procs: CliProcess[] = [];
  const start = async (name: string, args: string[]) => {
    const proc = new CliProcess([
      "server",
      "-listen",
      `UNIX:${path.join(tmp, name)}`,
      ...args,
    ]);
    procs.push(proc);
    await proc.waitFor(LISTENING);
    return LISTENING.exec(proc.stdout)![1];
  };
  before(() => {
    tmp = makeTempDir("distcache-limits-");
  });
  after(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null) await p.stop("SIGTERM");
    }
    removeDir(tmp);
  });

  it("-maxbytes 1m: a server bounded to a million sessions never stores more than 1 MiB of 32 KiB sessions", async () => {
    const budget = 1 << 20;
    const addr = await start("maxbytes.sock", [
      "-sessions",
      "1000000",
      "-maxbytes",
      "1m",
    ]);
    const ctx = await DcCtx.create(addr, DC_CTX_FLAG_PERSISTENT);
    try {
      const ids = Array.from({ length: 400 }, (_, k) => `s-${k}`);
      const size = (id: string) => 32_768 - 8 - id.length;
      const live = async (upTo: number) => {
        const have = await Promise.all(
          ids.slice(0, upTo).map((id) => ctx.hasSession(id)),
        );
        return ids.filter((_, k) => have[k]);
      };
      for (let k = 0; k < ids.length; k++) {
        const data = new Uint8Array(size(ids[k])).fill(k & 0xff);
        // Later sessions expire later: the oldest are the ones to go.
        assert.equal(await ctx.addSession(ids[k], data, 600_000 + k), true);
        if (k % 40 === 39) {
          const stored = await live(k + 1);
          const bytes = stored.reduce((n, id) => n + id.length + size(id), 0);
          assert.ok(bytes <= budget, `after ${k + 1} ADDs: ${bytes} bytes`);
          assert.ok(stored.includes(ids[k]), "the newest is kept");
          assert.ok(stored.length >= 30, `${stored.length} sessions kept`);
        }
      }
      const last = await ctx.get(ids[399]);
      assert.equal(last?.length, size(ids[399]));
      assert.equal(last?.[0], 399 & 0xff);
    } finally {
      ctx.close();
    }
  });

  it("-min-timeout 300000: an ADD of 500 ms is still there 1.5 s later; without it, it goes", async () => {
    const floored = await start("floor.sock", ["-min-timeout", "300000"]);
    const plain = await start("plain.sock", []);
    const a = await DcCtx.create(floored, DC_CTX_FLAG_PERSISTENT);
    const b = await DcCtx.create(plain, DC_CTX_FLAG_PERSISTENT);
    try {
      const t0 = Date.now();
      assert.equal(await a.addSession("apache", "a TLS session", 500), true);
      assert.equal(await b.addSession("apache", "a TLS session", 500), true);
      // Without the floor the session goes once its 500 ms are up...
      let gone = false;
      while (!gone && Date.now() - t0 < 10_000) {
        gone = !(await b.hasSession("apache"));
      }
      assert.ok(gone, "the plain server let the 500 ms session expire");
      assert.ok(Date.now() - t0 >= 500);
      // ...while with it, it stays, asked again and again for 1.5 s.
      let asked = 0;
      while (Date.now() - t0 < 1_500) {
        assert.equal(
          await a.hasSession("apache"),
          true,
          `${Date.now() - t0} ms`,
        );
        asked++;
      }
      assert.ok(asked > 0);
      assert.equal(
        new TextDecoder().decode((await a.get("apache"))!),
        "a TLS session",
      );
    } finally {
      a.close();
      b.close();
    }
  });

  it("rejects a -maxbytes that is not a byte count or is below one session's room", async () => {
    for (
      const [value, message] of [
        ["12x", /flag -maxbytes: "12x" is not a byte count/],
        ["0x100000", /not a byte count/],
        ["32831", /32831 is below the minimum 32832/],
        ["1.5g", /not a byte count/],
      ] as const
    ) {
      const r = await runCli(["server", "-maxbytes", value]);
      assert.equal(r.code, 1, value);
      assert.match(r.stderr, message);
    }
    const r = await runCli(["server", "-min-timeout", "604800001"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /-min-timeout: 604800001 is above the maximum 604800000/,
    );
  });
});
