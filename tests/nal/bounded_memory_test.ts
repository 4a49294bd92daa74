// Memory per connection stays bounded whatever the peer sends: with 4 KiB
// buffers, 1 MiB goes through intact without a buffer ever holding more than
// its size, and a reader that stops reading stops the writer.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  NAL_SELECT_FLAG_SEND,
  type NalConnection,
  NalSelector,
} from "../../nal/mod.ts";
import { makeTempDir, matrix, removeDir } from "../_servers.ts";
import { type Couple, pattern, pump, withCouple } from "./_helpers.ts";

const SIZE = 4096;
const TOTAL = 1024 * 1024;
// What a stalled writer may have pushed at most: kernel socket buffers on
// both sides plus the runtime's own, far below what an unbounded reader would
// have absorbed by then.
const STALL_LIMIT = 64 * 1024 * 1024;

// Checks, as the reader consumes them, that bytes continue `data` from `at`.
function verifier(data: Uint8Array) {
  let at = 0;
  return {
    get received(): number {
      return at;
    },
    take(conn: NalConnection): void {
      const read = conn.getRead();
      assert.ok(read.used() <= read.size(), "read buffer above its size");
      const got = read.readPtr();
      for (let i = 0; i < got.length; i++) {
        if (got[i] !== data[(at + i) % data.length]) {
          assert.fail(
            `byte ${at + i} is ${got[i]}, not ${data[(at + i) % data.length]}`,
          );
        }
      }
      at += got.length;
      read.takeData(null, got.length);
    },
  };
}

for (const { adapter, transport, label } of matrix()) {
  describe(`bounded memory (${label})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-mem-");
    });
    after(() => removeDir(dir));
    const on = (fn: (c: Couple) => void | Promise<void>, size = 0) => () =>
      withCouple(adapter, transport, dir, fn, size);

    it(
      "1 MiB through 4 KiB buffers arrives intact, no buffer ever above 4 KiB",
      on(async (c) => {
        for (const conn of [c.client, c.server]) {
          assert.equal(conn.getRead().size(), SIZE);
          assert.equal(conn.getSend().size(), SIZE);
        }
        const data = pattern(TOTAL, 7);
        const check = verifier(data);
        let sent = 0;
        await pump(
          [c.client, c.server],
          () => check.received === TOTAL,
          () => {
            const send = c.client.getSend();
            sent += send.write(data.subarray(sent));
            assert.ok(send.used() <= SIZE, "send buffer above its size");
            check.take(c.server);
          },
          20_000,
        );
      }, SIZE),
    );

    it(
      "a reader that does not read stops the writer; reading again lets it finish",
      on(async (c) => {
        const data = pattern(SIZE * 3 + 1, 9);
        const check = verifier(data);
        const send = c.client.getSend();
        const sel = new NalSelector();
        let pushed = 0;
        // Keep the send buffer full and io() it, until the socket takes
        // nothing more for a few selects in a row. The reader never reads:
        // its end is never io()'d.
        let idle = 0;
        while (idle < 3) {
          assert.ok(pushed < STALL_LIMIT, `the writer pushed ${pushed} bytes`);
          pushed += send.write(data.subarray(pushed % data.length));
          const queued = send.used();
          assert.ok(c.client.io(null));
          if (send.used() < queued) {
            idle = 0;
            continue;
          }
          sel.addConn(c.client, NAL_SELECT_FLAG_SEND);
          idle = await sel.select(50_000) === 0 ? idle + 1 : 0;
        }
        assert.ok(send.full(), "the writer's send buffer stays full");
        // One io() on the reader moves at most its buffer's size.
        assert.ok(c.server.io(null));
        assert.ok(c.server.getRead().full());
        // Reading resumes the flow: everything pushed arrives, in order.
        await pump(
          [c.client, c.server],
          () => check.received === pushed,
          () => {
            check.take(c.server);
          },
          30_000,
        );
      }, SIZE),
    );
  });
}
