// A server restarted on the same UNIX path at once keeps its socket file
// (Deno removes a closed listener's file itself, a little after close).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  availableAdapters,
  NalAddress,
  NalConnection,
  NalListener,
} from "../../nal/mod.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";

for (const adapter of availableAdapters()) {
  describe(`UNIX listener restart (${adapter.name})`, () => {
    it("a listener re-created on the path right after closeAndWait() stays reachable", async () => {
      const dir = makeTempDir("nal-restart-");
      const file = path.join(dir, "s.sock");
      const addr = NalAddress.parse(`UNIX:${file}`);
      try {
        const first = new NalListener({ adapter });
        assert.ok(await first.create(addr), first.error?.message);
        await first.closeAndWait();
        assert.equal(
          fs.existsSync(file),
          false,
          "the closed listener's file is gone",
        );
        const second = new NalListener({ adapter });
        assert.ok(await second.create(addr), second.error?.message);
        // Give a late removal by the runtime every chance to happen.
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(fs.existsSync(file), "the new listener's file survives");
        const conn = new NalConnection({ adapter });
        assert.ok(conn.create(addr));
        const accepted = new NalConnection();
        await until(
          () => second.accept(null, accepted),
          2000,
          "the connection to arrive",
        );
        conn.close();
        accepted.close();
        await second.closeAndWait();
      } finally {
        removeDir(dir);
      }
    });
  });
}
