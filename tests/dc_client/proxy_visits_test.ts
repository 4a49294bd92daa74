// The proxy on its event-driven loop: with a thousand idle local clients
// connected, one busy client's requests cost visits of that client and of
// the link only. Counted as work (visits per request), never timed.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type RawClient, visitsForGets } from "../_wire.ts";
import { matrix, until } from "../_servers.ts";
import { ProxyRig } from "./_proxy.ts";

const IDLE = 1000;
const REQUESTS = 200;

for (const { adapter, transport, label } of matrix()) {
  describe(`proxy with ${IDLE} idle local clients (${label})`, () => {
    it(`one client's ${REQUESTS} requests visit that client and the link only`, async () => {
      const rig = await ProxyRig.start(transport, adapter);
      const proxy = rig.proxy;
      try {
        const idle: RawClient[] = [];
        for (let i = 0; i < IDLE; i++) idle.push(await rig.connect());
        const c = await rig.connect();
        await until(
          () => proxy.stats().clients === IDLE + 1,
          10_000,
          "every client accepted",
        );
        const { visits } = await visitsForGets(proxy.proxy.loop, c, REQUESTS);
        // Per request: the client's (its bytes), the link's (the request
        // out, the answer in), and now and then a drain; a loop that
        // looked at every client would make a thousand per request.
        assert.ok(
          visits <= 5 * REQUESTS,
          `${visits} visits for ${REQUESTS} requests`,
        );
        assert.ok(visits >= REQUESTS, `${visits} visits: fewer than requests`);
      } finally {
        await rig.close();
      }
    });
  });
}
