// Our tools and client against the original C server and proxy: our
// `distcache test` against the C dc_server, and our DcCtx through the C
// dc_client proxy to our server.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { runCli } from "../_cli.ts";
import { accepting, C, Fixture, SKIP } from "./_c.ts";

describe("our tools against the C server and proxy", { skip: SKIP }, () => {
  const fx = new Fixture();

  for (const transport of ["UNIX", "TCP"] as const) {
    for (const persistent of [true, false]) {
      const mode = persistent ? "persistent" : "per-operation";
      const ops = persistent ? 10_000 : 2_000;
      it(`our test tool -> C dc_server over ${transport}, ${mode} connections, ${ops} operations`, async () => {
        const server = await fx.cServer(transport, `c-${mode}.sock`);
        const res = await runCli([
          "test",
          "-connect",
          server.addr,
          "-ops",
          String(ops),
          "-sessions",
          "20",
          "-datamax",
          "3990",
          ...(persistent ? ["-persistent"] : []),
        ]);
        assert.equal(res.code, 0, res.stdout + res.stderr);
        assert.match(
          res.stdout,
          new RegExp(`${ops} operations in [0-9.]+ s: [0-9]+ ops/s`),
        );
      });
    }
  }

  for (const persistent of [true, false]) {
    const mode = persistent ? "persistent" : "per-operation";
    it(`our DcCtx (${mode}) -> C dc_client -> our server: every operation's answer as sent`, async () => {
      const server = await fx.ours([
        "server",
        "-listen",
        `UNIX:${fx.sock(`ours-${mode}.sock`)}`,
      ]);
      const proxySock = fx.sock(`c-proxy-${mode}.sock`);
      fx.c([C!.client, "-listen", `UNIX:${proxySock}`, "-server", server.addr]);
      await accepting(proxySock, "the C dc_client");

      const ctx = await DcCtx.create(
        `UNIX:${proxySock}`,
        persistent ? DC_CTX_FLAG_PERSISTENT : 0,
      );
      try {
        // Sizes across the range the C side handles (its GET answers over
        // ~4 KB are not safe), binary data, ids of 1 to 64 bytes.
        const sizes = [5, 100, 512, 1000, 2048, 3000, 3990];
        const sessions = sizes.map((n, i) => ({
          id: Uint8Array.from(
            { length: 1 + (i * 9) % 64 },
            (_, k) => (k * 31 + i) & 0xff,
          ),
          data: Uint8Array.from({ length: n }, (_, k) => (k * 7 + n) & 0xff),
        }));
        for (const s of sessions) {
          assert.equal(await ctx.addSession(s.id, s.data, 60_000), true);
        }
        assert.equal(
          await ctx.addSession(sessions[0].id, "again", 60_000),
          false,
          "an id already stored is refused",
        );
        for (const s of sessions) {
          assert.equal(await ctx.hasSession(s.id), true);
          assert.deepEqual(await ctx.get(s.id), s.data);
        }
        // Concurrent requests, answers matched to their requests.
        const got = await Promise.all(sessions.map((s) => ctx.get(s.id)));
        got.forEach((g, i) => assert.deepEqual(g, sessions[i].data));
        assert.equal(await ctx.removeSession(sessions[2].id), true);
        assert.equal(await ctx.removeSession(sessions[2].id), false);
        assert.equal(await ctx.get(sessions[2].id), null);
        assert.equal(await ctx.hasSession(sessions[2].id), false);
        assert.equal(await ctx.get("never-stored"), null);
      } finally {
        ctx.close();
      }
    });
  }
});
