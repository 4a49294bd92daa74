// serve()'s connection limits, over every adapter: maxConnections (over it
// a new connection is closed at once and counted, served again once one
// leaves), idleTimeoutMs (a silent client and a slowloris are dropped, an
// active one is not), and protocol errors that name the listener and the
// peer.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DistcacheError } from "../../nal/mod.ts";
import { type ClientWhere, serve } from "../../dc_server/mod.ts";
import {
  bytes,
  command,
  frame,
  haveAnswered,
  OP,
  RawClient,
} from "../_wire.ts";
import {
  listenAddress,
  makeTempDir,
  matrix,
  removeDir,
  until,
} from "../_servers.ts";

for (const { adapter, transport, label } of matrix()) {
  describe(`serve() connection limits (${label})`, () => {
    it("over maxConnections a new connection is closed at once and counted; one leaving lets the next in", async () => {
      const tmp = makeTempDir();
      const refused: number[] = [];
      const server = await serve({
        listen: listenAddress(transport, tmp),
        adapter,
        maxConnections: 3,
        onRefused: (count, max) => {
          assert.equal(max, 3);
          refused.push(count);
        },
      });
      const clients: RawClient[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const c = await RawClient.connect(server.addr);
          clients.push(c);
          assert.ok(await haveAnswered(c, i), `client ${i} served`);
        }
        const over = await RawClient.connect(server.addr);
        clients.push(over);
        assert.ok(await over.waitClosed(), "the fourth is closed");
        assert.equal(over.buffered, 0, "without an answer");
        await until(() => refused.length > 0, 5000, "the refusal report");
        assert.equal(refused[0], 1);
        assert.equal(server.stats().connections, 3);
        clients[0].close();
        // Once the server saw it go, a newcomer is served.
        await until(
          async () => {
            const c = await RawClient.connect(server.addr);
            clients.push(c);
            return await haveAnswered(c, 9);
          },
          5000,
          "a newcomer to be served",
        );
      } finally {
        for (const c of clients) c.close();
        await server.close();
        removeDir(tmp);
      }
    });

    it("idleTimeoutMs drops a silent client and a slowloris, not an active client", async () => {
      const tmp = makeTempDir();
      const server = await serve({
        listen: listenAddress(transport, tmp),
        adapter,
        // Long beside the active client's 50 ms pauses, so that a loaded
        // machine's late timers do not make it look idle.
        idleTimeoutMs: 1000,
      });
      const silent = await RawClient.connect(server.addr);
      const slow = await RawClient.connect(server.addr);
      const active = await RawClient.connect(server.addr);
      let trickling = true;
      try {
        // A frame one byte at a time, never complete in time.
        const slowFrame = command(5, OP.GET, bytes("slowloris-id"));
        const trickle = (async () => {
          for (let i = 0; i < slowFrame.length - 1 && trickling; i++) {
            if (slow.closed) return;
            slow.send(slowFrame.subarray(i, i + 1));
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        // A request every 50 ms, for two and a half timeouts' worth of time.
        let uid = 100;
        const until3 = Date.now() + 2500;
        while (Date.now() < until3) {
          assert.ok(
            await haveAnswered(active, uid++),
            "the active client served",
          );
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(await silent.waitClosed(), "the silent client dropped");
        assert.ok(await slow.waitClosed(), "the slowloris dropped");
        assert.equal(slow.buffered, 0);
        assert.equal(active.closed, false, "the active client stays");
        assert.ok(await haveAnswered(active, uid++));
        trickling = false;
        await trickle;
      } finally {
        trickling = false;
        for (const c of [silent, slow, active]) c.close();
        await server.close();
        removeDir(tmp);
      }
    });

    it("a client dropped for a protocol error is named with the listener and its address", async () => {
      const tmp = makeTempDir();
      const errors: { err: DistcacheError; where: ClientWhere }[] = [];
      const server = await serve({
        listen: listenAddress(transport, tmp),
        adapter,
        onClientError: (err, where) => errors.push({ err, where }),
      });
      const bad = await RawClient.connect(server.addr);
      const port = bad.socket.localPort;
      try {
        bad.send(frame({ uid: 1, op: OP.GET, protoLevel: 0x00120000 }));
        assert.ok(await bad.waitClosed());
        await until(() => errors.length === 1, 5000, "the error report");
        const { where } = errors[0];
        assert.equal(where.listener, server.addr);
        if (transport === "TCP") {
          assert.equal(where.peer, `IP:127.0.0.1:${port}`);
        } else {
          // An unnamed UNIX client has no address to tell.
          assert.equal(where.peer, "");
        }
      } finally {
        bad.close();
        await server.close();
        removeDir(tmp);
      }
    });
  });
}

describe("serve() limit options", () => {
  for (const [name, value] of [["maxConnections", 0], ["idleTimeoutMs", -1]]) {
    it(`${name} ${value} is refused with DcOptionError`, async () => {
      const tmp = makeTempDir();
      try {
        await assert.rejects(
          serve({
            listen: listenAddress("UNIX", tmp),
            [name as string]: value,
          }),
          (err: DistcacheError) =>
            err.code === "ERR_OPTION" && err.message.includes(name as string),
        );
      } finally {
        removeDir(tmp);
      }
    });
  }
});
