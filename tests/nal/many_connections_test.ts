// One listener, 500 clients connected at once through one selector: each
// client's own payload comes back to it and to no other, then every close
// is seen by the accepted end.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import {
  NalAddress,
  NalConnection,
  NalListener,
  NalSelector,
} from "../../nal/mod.ts";
import { listenAddress, makeTempDir, matrix, removeDir } from "../_servers.ts";
import { concatBytes } from "../../nal/_util.ts";
import { pattern, utf8 } from "./_helpers.ts";

const COUNT = 500;
const SIZE = 2048;

for (const { adapter, transport, label } of matrix()) {
  describe(`${COUNT} connections (${label})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-many-");
    });
    after(() => removeDir(dir));

    it(`${COUNT} concurrent clients each get their own payload echoed, then all close cleanly`, async () => {
      const listenAt = NalAddress.parse(listenAddress(transport, dir), SIZE);
      const list = new NalListener({ adapter });
      const clients: NalConnection[] = [];
      const servers: NalConnection[] = [];
      try {
        assert.ok(await list.create(listenAt), list.error?.message);
        const target = NalAddress.parse(list.address(), SIZE);
        const payloads = Array.from(
          { length: COUNT },
          (_, i) =>
            concatBytes([
              utf8.encode(`client ${i}:`),
              pattern(100 + i % 50, i),
            ]),
        );
        const echoed: Uint8Array[] = payloads.map(() => new Uint8Array(0));
        for (let i = 0; i < COUNT; i++) {
          const conn = new NalConnection({ adapter });
          clients.push(conn);
          assert.ok(conn.create(target), conn.error?.message);
          // Queued before the connect completes; io() sends it once it has.
          conn.getSend().write(payloads[i]);
        }

        const sel = new NalSelector();
        const deadline = Date.now() + 20_000;
        let complete = 0;
        while (complete < COUNT) {
          assert.ok(Date.now() < deadline, `${complete} of ${COUNT} echoed`);
          let conn = new NalConnection({ adapter });
          while (list.accept(sel, conn)) {
            servers.push(conn);
            conn = new NalConnection({ adapter });
          }
          for (const s of servers) {
            assert.ok(s.io(sel), s.error?.message);
            const read = s.getRead();
            read.takeData(null, s.getSend().write(read.readPtr()));
            assert.ok(s.io(sel), s.error?.message);
          }
          complete = 0;
          for (let i = 0; i < COUNT; i++) {
            const c = clients[i];
            assert.ok(c.io(sel), `client ${i}: ${c.error?.message}`);
            const read = c.getRead();
            if (read.notEmpty()) {
              echoed[i] = concatBytes([echoed[i], read.readPtr()]);
              read.takeData(null, read.used());
            }
            if (echoed[i].length >= payloads[i].length) complete++;
          }
          if (complete === COUNT) break;
          sel.addListener(list);
          for (const c of clients) sel.addConn(c);
          for (const s of servers) sel.addConn(s);
          await sel.select(20_000);
        }
        assert.equal(servers.length, COUNT);
        for (let i = 0; i < COUNT; i++) {
          assert.deepEqual(echoed[i], payloads[i], `client ${i}'s echo`);
        }

        for (const c of clients) c.close();
        let open = servers.length;
        const closedAt = Date.now() + 20_000;
        while (open > 0) {
          assert.ok(Date.now() < closedAt, `${open} closes not seen`);
          open = 0;
          for (const s of servers) {
            if (s.io(sel)) {
              open++;
              sel.addConn(s);
            }
          }
          if (open > 0) await sel.select(20_000);
        }
        for (const s of servers) {
          assert.equal(s.error?.code, "ERR_IO");
          assert.equal(s.getRead().used(), 0, "no stray bytes arrived");
        }
      } finally {
        for (const c of [...clients, ...servers]) c.close();
        await list.closeAndWait();
      }
      if (transport === "UNIX") {
        assert.equal(fs.existsSync(String(listenAt).slice(5)), false);
      }
    });
  });
}
