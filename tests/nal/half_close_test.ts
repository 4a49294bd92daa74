// Half-close at the nal level, over every adapter: the peer's end of
// stream leaves our sending side open (peerEnded(), io() alive until both
// directions are done), end() shuts only our sending side, and close()
// still delivers what was handed to the socket.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { concatBytes } from "../../nal/_util.ts";
import { makeTempDir, matrix, removeDir } from "../_servers.ts";
import {
  type Couple,
  drain,
  pattern,
  pump,
  text,
  utf8,
  withCouple,
} from "./_helpers.ts";

for (const { adapter, transport, label } of matrix()) {
  describe(`half-close (${label})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-half-");
    });
    after(() => removeDir(dir));
    const on = (fn: (c: Couple) => void | Promise<void>, size = 0) => () =>
      withCouple(adapter, transport, dir, fn, size);

    it(
      "after the peer's end(), its bytes are read, an answer still goes back, then io() turns false",
      on(async (c) => {
        c.client.getSend().write(utf8.encode("question"));
        c.client.end();
        await pump([c.client, c.server], () => c.server.peerEnded());
        await pump([c.server], () => c.server.getRead().used() === 8);
        assert.equal(c.server.io(null), true, "alive: bytes to consume");
        assert.equal(text.decode(drain(c.server)), "question");
        // Nothing left to read or send: the connection is done...
        assert.equal(c.server.io(null), false);
        assert.match(c.server.error!.message, /closed by the peer/);
        // ...but an answer queued now still leaves (the socket is open).
        const answer = pattern(100_000, 3);
        let sent = 0;
        const got: number[] = [];
        await pump(
          [c.server, c.client],
          () => got.length === answer.length,
          () => {
            sent += c.server.getSend().write(answer.subarray(sent));
            got.push(...drain(c.client));
          },
        );
        assert.deepEqual(Uint8Array.from(got), answer);
        assert.equal(c.client.peerEnded(), false, "the server did not end");
      }),
    );

    it(
      "end() shuts only our sending side: the peer sees the end after the bytes, and we still read",
      on(async (c) => {
        const data = pattern(50_000, 5);
        c.server.getSend().write(data.subarray(0, 30_000));
        let sent = 30_000;
        c.server.end();
        // Queued after end(): the end waits for the send buffer, and bytes
        // written past it are not sent.
        const got: number[] = [];
        await pump([c.server, c.client], () => c.client.peerEnded(), () => {
          got.push(...drain(c.client));
        });
        await pump([c.client], () => !c.client.io(null), () => {
          got.push(...drain(c.client));
        });
        got.push(...drain(c.client));
        assert.deepEqual(Uint8Array.from(got), data.subarray(0, sent));
        // The other direction still works.
        c.client.getSend().write(utf8.encode("still here"));
        await pump(
          [c.client, c.server],
          () => c.server.getRead().used() === 10,
        );
        assert.equal(text.decode(drain(c.server)), "still here");
        sent += c.server.getSend().write(data.subarray(sent));
        assert.ok(sent > 30_000);
      }),
    );

    it(
      "close() delivers what io() handed to the socket, even what the runtime still held",
      on(async (c) => {
        const data = pattern(16 << 20, 9);
        const sb = c.server.getSend();
        let sent = 0;
        // Hand bytes over while the client reads nothing, until the socket
        // stops taking them: then the runtime holds some it has not sent.
        const deadline = Date.now() + 10_000;
        for (;;) {
          sent += sb.write(data.subarray(sent));
          c.server.io(null);
          if (sb.notEmpty()) break;
          assert.ok(
            Date.now() < deadline && sent < data.length,
            "no backpressure",
          );
          await new Promise((r) => setTimeout(r, 0));
        }
        const handed = sent - sb.used();
        c.server.close();
        const got: Uint8Array[] = [];
        let total = 0;
        await pump([c.client], () => !c.client.io(null), () => {
          const part = drain(c.client);
          got.push(part);
          total += part.length;
        }, 20_000);
        assert.equal(total, handed, "every byte handed to the socket arrived");
        assert.deepEqual(concatBytes(got), data.subarray(0, handed));
      }, 1 << 20),
    );
  });
}
