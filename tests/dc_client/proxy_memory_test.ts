// What the proxy holds for local clients that pipeline large GETs and never
// read their answers: at most its per-client bound each (it stops reading
// their requests), another client is still answered meanwhile, and all of
// it is given back once they leave.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DC_PROXY_CLIENT_BYTES } from "../../dc_client/mod.ts";
import {
  addPayload,
  bytes,
  command,
  concat,
  OP,
  type RawClient,
} from "../_wire.ts";
import { matrix, settled, until } from "../_servers.ts";
import { ProxyRig } from "./_proxy.ts";

const GETS = 256;
// 100 slow clients over UNIX; 10 over TCP, where the kernel's buffers take
// megabytes of each one's answers before the proxy holds any.
const slowClients = (transport: string) => transport === "UNIX" ? 100 : 10;

for (const { adapter, transport, label } of matrix()) {
  describe(`proxy memory with clients that do not read (${label})`, () => {
    const SLOW = slowClients(transport);
    it(`${SLOW} clients pipelining ${GETS} GETs of 32 KB: at most ${DC_PROXY_CLIENT_BYTES} bytes held each, none once they leave`, async () => {
      const rig = await ProxyRig.start(transport, adapter);
      const proxy = rig.proxy;
      const slow: RawClient[] = [];
      const fast = await rig.connect();
      try {
        const id = "big";
        const data = new Uint8Array(32768 - 8 - id.length).fill(7);
        fast.send(command(1, OP.ADD, addPayload(id, data, 600_000)));
        assert.deepEqual((await fast.answer()).payload, Uint8Array.of(0));
        const gets = concat(
          Array.from({ length: GETS }, (_, i) => command(i, OP.GET, bytes(id))),
        );
        for (let i = 0; i < SLOW; i++) {
          const c = await rig.connect();
          c.socket.pause();
          c.send(gets);
          slow.push(c);
        }
        // Until they are all paused: the requests read stop growing (held
        // bytes alone can sit at 0 for a while over TCP, as the kernel's
        // buffers take the first answers).
        await settled(() => proxy.stats().requests, 300);
        const held = await settled(() => proxy.stats().heldBytes, 300);
        assert.ok(held > 0, "the slow clients' answers are held");
        assert.ok(
          held <= SLOW * DC_PROXY_CLIENT_BYTES,
          `${held} bytes held for ${SLOW} clients`,
        );
        // Meanwhile another client is answered, every time.
        let answered = 0;
        for (let i = 0; i < 50; i++) {
          fast.send(command(1000 + i, OP.GET, bytes(id)));
          const ans = await fast.answer();
          assert.equal(ans.uid, 1000 + i);
          if (ans.payload.length === data.length) answered++;
        }
        assert.equal(answered, 50);
        for (const c of slow.splice(0)) c.close();
        await until(
          () => proxy.stats().clients === 1,
          5000,
          "the slow clients to be dropped",
        );
        assert.equal(proxy.stats().heldBytes, 0, "nothing held once they left");
        await until(
          () => proxy.stats().upstream.inFlight === 0,
          5000,
          "their requests at the server to be answered",
        );
        assert.equal(proxy.stats().upstream.lost, 0);
      } finally {
        await rig.close();
      }
    });
  });
}
