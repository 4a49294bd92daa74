// NalListener over every (adapter, transport) pair: non-blocking and
// blocking accept, close, and the ways creating one can fail (port in use,
// missing directory, a live server on the path) or recover (a stale file).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  NalAddress,
  NalConnection,
  NalListener,
  NalSelector,
} from "../../nal/mod.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";
import { drain, pump, text, utf8 } from "./_helpers.ts";

for (const { adapter, transport, label } of matrix()) {
  describe(`NalListener (${label})`, () => {
    let dir = "";
    let n = 0;
    // Each test listens on its own socket file (or a fresh port).
    const fresh = () =>
      NalAddress.parse(listenAddress(transport, dir, `s${n++}`));
    before(() => {
      dir = makeTempDir("nal-list-");
    });
    after(() => removeDir(dir));

    it("create() listens; address() names where, with the real port", async () => {
      const list = new NalListener({ adapter });
      try {
        assert.equal(list.address(), "");
        const addr = fresh();
        assert.equal(await list.create(addr), true, list.error?.message);
        assert.equal(list.error, null);
        const bound = NalAddress.parse(list.address());
        assert.ok(bound.canConnect(), list.address());
        if (transport === "UNIX") {
          assert.equal(list.address(), String(addr));
          assert.ok(fs.statSync(String(addr).slice(5)).isSocket());
        } else {
          assert.match(list.address(), /^IP:127\.0\.0\.1:[1-9][0-9]*$/);
        }
        assert.equal(await list.create(addr), false, "already listening");
      } finally {
        await list.closeAndWait();
      }
    });

    it("accept() does not wait: false with nobody there, true once the selector saw a client", async () => {
      const list = new NalListener({ adapter });
      const client = new NalConnection({ adapter });
      const conn = new NalConnection({ adapter });
      try {
        assert.ok(await list.create(fresh()), list.error?.message);
        const sel = new NalSelector();
        sel.addListener(list);
        assert.equal(await sel.select(0), 0);
        assert.equal(list.accept(sel, conn), false);
        assert.equal(conn.isEstablished(), false);

        assert.ok(client.create(NalAddress.parse(list.address())));
        await until(
          async () => {
            sel.addListener(list);
            return await sel.select(20_000) === 1;
          },
          5000,
          "the listener's event",
        );
        assert.equal(list.accept(sel, conn), true);
        assert.equal(list.accept(sel, new NalConnection({ adapter })), false);
        await pump([client, conn], () => conn.isEstablished());
        client.getSend().write(utf8.encode("hi"));
        await pump([client, conn], () => conn.getRead().used() === 2);
        assert.equal(text.decode(drain(conn)), "hi");
      } finally {
        client.close();
        conn.close();
        await list.closeAndWait();
      }
    });

    it("accept() and acceptBlock() refuse a connection in use and leave the client waiting", async () => {
      const list = new NalListener({ adapter });
      const client = new NalConnection({ adapter });
      const dummy = new NalConnection({ adapter });
      const paired = new NalConnection({ adapter });
      const peer = new NalConnection({ adapter });
      const conn = new NalConnection({ adapter });
      try {
        assert.ok(await list.create(fresh()));
        assert.ok(dummy.createDummy(8));
        assert.ok(NalConnection.createPair(paired, peer, 8));
        assert.ok(client.create(NalAddress.parse(list.address())));
        const sel = new NalSelector();
        await until(async () => {
          sel.addListener(list);
          return await sel.select(20_000) === 1;
        });
        for (const busy of [dummy, paired, client]) {
          assert.equal(list.accept(sel, busy), false);
          assert.equal(await list.acceptBlock(busy), false);
        }
        // The dummy is still an echo of its own.
        dummy.getSend().write(utf8.encode("me"));
        assert.equal(text.decode(drain(dummy)), "me");
        assert.equal(list.accept(sel, conn), true);
        await pump([client, conn], () => conn.isEstablished());
      } finally {
        for (const c of [client, dummy, paired, peer, conn]) c.close();
        await list.closeAndWait();
      }
    });

    it("acceptBlock() waits for a client and accepts it", async () => {
      const list = new NalListener({ adapter });
      const client = new NalConnection({ adapter });
      const conn = new NalConnection({ adapter });
      try {
        assert.ok(await list.create(fresh()));
        let settled = false;
        const accepted = list.acceptBlock(conn).finally(() => settled = true);
        // Nobody connected: it must still be waiting after an idle select.
        await new NalSelector().select(20_000);
        assert.equal(settled, false);
        assert.ok(client.create(NalAddress.parse(list.address())));
        assert.equal(await accepted, true);
        await pump([client, conn], () => conn.isEstablished());
      } finally {
        client.close();
        conn.close();
        await list.closeAndWait();
      }
    });

    it("acceptBlock() resolves false when the listener closes first", async () => {
      const list = new NalListener({ adapter });
      const conn = new NalConnection({ adapter });
      assert.ok(await list.create(fresh()));
      const accepted = list.acceptBlock(conn);
      await list.closeAndWait();
      assert.equal(await accepted, false);
      assert.equal(conn.isEstablished(), false);
    });

    it("close() stops new connections but keeps the accepted ones", async () => {
      const list = new NalListener({ adapter });
      const client = new NalConnection({ adapter });
      const conn = new NalConnection({ adapter });
      const late = new NalConnection({ adapter });
      try {
        const addr = fresh();
        assert.ok(await list.create(addr));
        const where = NalAddress.parse(list.address());
        assert.ok(client.create(where));
        assert.ok(await list.acceptBlock(conn));
        list.close();
        if (transport === "UNIX") {
          assert.equal(fs.existsSync(String(addr).slice(5)), false);
        }
        assert.equal(list.address(), "");
        assert.equal(await list.acceptBlock(new NalConnection()), false);
        client.getSend().write(utf8.encode("still here"));
        await pump([client, conn], () => conn.getRead().used() === 10);
        assert.equal(text.decode(drain(conn)), "still here");
        assert.ok(late.create(where));
        await until(() => !late.io(null), 5000, "the late connect to fail");
        assert.equal(late.error?.code, "ERR_CONNECT");
      } finally {
        client.close();
        conn.close();
        late.close();
        await list.closeAndWait();
      }
    });

    it("a listener can listen again after close()", async () => {
      const list = new NalListener({ adapter });
      try {
        const addr = fresh();
        assert.ok(await list.create(addr));
        await list.closeAndWait();
        assert.ok(await list.create(addr), list.error?.message);
      } finally {
        await list.closeAndWait();
      }
    });

    if (transport === "TCP") {
      it("a port in use is refused with ERR_ADDRESS_IN_USE", async () => {
        const first = new NalListener({ adapter });
        const second = new NalListener({ adapter });
        try {
          assert.ok(await first.create(NalAddress.parse("IP:127.0.0.1:0")));
          const taken = NalAddress.parse(first.address());
          assert.equal(await second.create(taken), false);
          assert.equal(second.error?.code, "ERR_ADDRESS_IN_USE");
          assert.ok(second.error!.message.includes(first.address()));
          assert.equal(second.address(), "");
        } finally {
          await first.closeAndWait();
          await second.closeAndWait();
        }
      });
    } else {
      it("a missing directory is refused with ERR_LISTEN", async () => {
        const list = new NalListener({ adapter });
        const where = `UNIX:${path.join(dir, "no", "such", "dir", "sock")}`;
        assert.equal(await list.create(NalAddress.parse(where)), false);
        assert.equal(list.error?.code, "ERR_LISTEN");
        assert.match(list.error!.message, /directory does not exist/);
        assert.ok(list.error!.message.includes(where));
      });

      it("a path where a live server answers is refused, and that server keeps it", async () => {
        const live = new NalListener({ adapter });
        const intruder = new NalListener({ adapter });
        const client = new NalConnection({ adapter });
        const accepted: NalConnection[] = [];
        try {
          const addr = fresh();
          assert.ok(await live.create(addr));
          assert.equal(await intruder.create(addr), false);
          assert.equal(intruder.error?.code, "ERR_ADDRESS_IN_USE");
          assert.match(intruder.error!.message, /live server/);
          // The failed attempt did not delete or steal the live socket: a
          // client still reaches the live server. (The intruder's probe
          // reached it too, as a connection that closes at once.)
          assert.ok(client.create(addr));
          client.getSend().write(utf8.encode("ping"));
          let got = "";
          await pump(accepted, () => got === "ping", () => {
            assert.ok(client.io(null));
            let conn = new NalConnection({ adapter });
            while (live.accept(null, conn)) {
              accepted.push(conn);
              conn = new NalConnection({ adapter });
            }
            for (const a of [...accepted]) {
              const alive = a.io(null);
              got += text.decode(drain(a));
              // A dead connection left in a selector is an event forever.
              if (!alive) {
                a.close();
                accepted.splice(accepted.indexOf(a), 1);
              }
            }
          });
        } finally {
          client.close();
          for (const a of accepted) a.close();
          await live.closeAndWait();
          await intruder.closeAndWait();
        }
      });

      it("a stale socket file (its server gone) is replaced", async () => {
        const old = new NalListener({ adapter });
        const list = new NalListener({ adapter });
        const client = new NalConnection({ adapter });
        const conn = new NalConnection({ adapter });
        try {
          const live = String(fresh()).slice(5);
          const stale = path.join(dir, `stale${n++}`);
          assert.ok(await old.create(NalAddress.parse(`UNIX:${live}`)));
          // A second name for the socket outlives the listener: a socket
          // file nobody listens on, as a killed server leaves behind.
          fs.linkSync(live, stale);
          await old.closeAndWait();
          assert.ok(fs.statSync(stale).isSocket());
          const addr = NalAddress.parse(`UNIX:${stale}`);
          assert.equal(await list.create(addr), true, list.error?.message);
          assert.ok(client.create(addr));
          assert.ok(await list.acceptBlock(conn));
          await pump([client, conn], () => client.isEstablished());
        } finally {
          client.close();
          conn.close();
          await old.closeAndWait();
          await list.closeAndWait();
        }
      });

      it("a path holding a regular file is refused and the file kept", async () => {
        const list = new NalListener({ adapter });
        const file = path.join(dir, `plain${n++}`);
        fs.writeFileSync(file, "data");
        assert.equal(
          await list.create(NalAddress.parse(`UNIX:${file}`)),
          false,
        );
        assert.equal(list.error?.code, "ERR_ADDRESS_IN_USE");
        assert.match(list.error!.message, /not a socket/);
        assert.equal(fs.readFileSync(file, "utf8"), "data");
      });
    }
  });
}

describe("NalListener refusals", () => {
  it("an address never created is refused with ERR_LISTEN", async () => {
    const list = new NalListener();
    assert.equal(await list.create(new NalAddress()), false);
    assert.equal(list.error?.code, "ERR_LISTEN");
  });

  it("accept() on a listener that is not listening is false", () => {
    assert.equal(new NalListener().accept(null, new NalConnection()), false);
  });
});
