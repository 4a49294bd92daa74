// The snoop's relay engine in this process, between raw clients and a
// real server: bytes relayed unchanged both ways, one line per command,
// undecodable bytes relayed and reported, end of stream passed on (a
// client that half-closes still gets its answers), and idle relays cost
// nothing per request.

import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { NalLoop } from "../../nal/mod.ts";
import { serve, type Server } from "../../dc_server/mod.ts";
import { type SnoopHandle, startSnoop } from "../../cli/snoop.ts";
import { addPayload, bytes, command, concat, OP, RawClient } from "../_wire.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";

for (const { adapter, transport, label } of matrix()) {
  describe(`snoop relay over ${label}`, () => {
    let tmp = "";
    let server: Server;
    let snoop: SnoopHandle;
    let lines: string[] = [];
    const clients: RawClient[] = [];
    const connect = async () => {
      const c = await RawClient.connect(snoop.addr);
      clients.push(c);
      return c;
    };

    beforeEach(async () => {
      tmp = makeTempDir("distcache-relay-");
      lines = [];
      server = await serve({
        listen: listenAddress(transport, tmp, "server.sock"),
        adapter,
      });
      snoop = await startSnoop({
        listen: listenAddress(transport, tmp, "snoop.sock"),
        server: server.addr,
        adapter,
        print: (line) => lines.push(line),
      });
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await snoop.close();
      await server.close();
      removeDir(tmp);
    });

    it("pipelined requests come back as from the server, one line per command", async () => {
      const c = await connect();
      c.send(concat([
        command(1, OP.ADD, addPayload("sid", "snooped data", 60_000)),
        command(2, OP.GET, bytes("sid")),
        command(3, OP.HAVE, bytes("nope")),
      ]));
      const answers = [await c.answer(), await c.answer(), await c.answer()];
      assert.deepEqual(answers.map((a) => a.uid), [1, 2, 3]);
      assert.deepEqual(answers[0].payload, Uint8Array.of(0));
      assert.equal(
        new TextDecoder().decode(answers[1].payload),
        "snooped data",
      );
      assert.deepEqual(answers[2].payload, Uint8Array.of(1));
      await until(() => lines.length >= 7, 2000, "the lines");
      assert.deepEqual(lines.slice(0, 7), [
        "#1 new connection",
        "#1 c->s request  uid 1 ADD payload 23 (timeout 60000 ms, id 3, data 12)",
        "#1 c->s request  uid 2 GET payload 3",
        "#1 c->s request  uid 3 HAVE payload 4",
        "#1 s->c response uid 1 ADD payload 1, result 0 OK",
        "#1 s->c response uid 2 GET payload 12, session data",
        "#1 s->c response uid 3 HAVE payload 1, result 1 NOTOK",
      ]);
    });

    it("bytes that do not decode are relayed anyway and reported once", async () => {
      const c = await connect();
      c.send(new Uint8Array(40).fill(0xab));
      // Our server drops a client speaking garbage: the relay closes the
      // client side after passing the bytes on.
      assert.ok(await c.waitClosed(), "closed after the server closed");
      const reports = lines.filter((l) => /bytes do not decode/.test(l));
      assert.equal(reports.length, 1, lines.join("\n"));
      assert.match(reports[0], /^#1 c->s bytes do not decode/);
      await until(() => lines.some((l) => /closed by the/.test(l)), 2000);
      assert.equal(snoop.snoop.relays, 0);
    });

    it("a client that pipelines GETs of 32 KB sessions and half-closes gets every answer, then the close", async () => {
      const id = "half";
      const data = new Uint8Array(32768 - 8 - id.length).map((_, i) =>
        i & 0xff
      );
      const c = await connect();
      c.send(command(1, OP.ADD, addPayload(id, data, 60_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(0));
      const gets = [];
      for (let i = 0; i < 100; i++) {
        gets.push(command(10 + i, OP.GET, bytes(id)));
      }
      c.send(concat(gets));
      c.socket.end();
      for (let i = 0; i < 100; i++) {
        const ans = await c.answer(10_000);
        assert.equal(ans.uid, 10 + i);
        assert.deepEqual(ans.payload, data, `answer ${i + 1}`);
      }
      assert.ok(await c.waitClosed(), "closed after the last answer");
      assert.equal(c.buffered, 0);
      await until(() => snoop.snoop.relays === 0, 2000, "the relay to end");
      assert.ok(lines.includes("#1 closed by the client"), lines.at(-1));
    });

    it("the server going away closes the client's side", async () => {
      const c = await connect();
      c.send(command(1, OP.HAVE, bytes("x")));
      await c.answer();
      await server.close();
      assert.ok(await c.waitClosed(), "the client sees the close");
      await until(() => lines.includes("#1 closed by the server"), 2000);
    });
  });
}

describe("snoop relay on its loop", () => {
  it("with 500 idle relays, one client's requests visit its relay only", async () => {
    const tmp = makeTempDir("distcache-relay-idle-");
    const server = await serve({ listen: listenAddress("UNIX", tmp, "s") });
    const snoop = await startSnoop({
      listen: listenAddress("UNIX", tmp, "r"),
      server: server.addr,
      print: () => {},
    });
    const idle: RawClient[] = [];
    let busy: RawClient | null = null;
    try {
      for (let i = 0; i < 500; i++) {
        idle.push(await RawClient.connect(snoop.addr));
      }
      busy = await RawClient.connect(snoop.addr);
      await until(() => snoop.snoop.relays === 501, 10_000, "every relay");
      const loop: NalLoop = snoop.snoop.loop;
      busy.send(command(1, OP.HAVE, bytes("warm")));
      await busy.answer();
      await loop.idle();
      const before = loop.stats().visits;
      for (let i = 0; i < 100; i++) {
        busy.send(command(10 + i, OP.HAVE, bytes("x")));
        assert.equal((await busy.answer()).uid, 10 + i);
      }
      await loop.idle();
      const visits = loop.stats().visits - before;
      // The request's arrival, its answer's (and a drain now and then);
      // a select loop over every relay would make 500 per event.
      assert.ok(visits <= 5 * 100, `${visits} visits for 100 requests`);
    } finally {
      busy?.close();
      for (const c of idle) c.close();
      await snoop.close();
      await server.close();
      removeDir(tmp);
    }
  });
});
