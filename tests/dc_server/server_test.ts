// The DcServer framework driven by hand, as the C API's DC_SERVER: clients
// made with newClient, served by processClient with the caller's clock.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DC_CLIENT_FLAG_IN_SERVER,
  DC_CLIENT_FLAG_NOFREE_CONN,
  DcServer,
  type DcServerClient,
} from "../../dc_server/mod.ts";
import { NalConnection, NalSelector } from "../../nal/mod.ts";
import { addPayload, bytes, command, OP } from "../_wire.ts";

// A server-side client over a connection pair, and the peer end to talk on.
function pair(
  server: DcServer,
  flags = 0,
): { client: DcServerClient; peer: NalConnection } {
  const a = new NalConnection();
  const b = new NalConnection();
  assert.ok(NalConnection.createPair(a, b, 65536));
  return { client: server.newClient(a, flags), peer: b };
}

// Moves bytes until `done` holds (both ends pumped through a selector).
async function pump(
  conns: NalConnection[],
  step: () => void,
  done: () => boolean,
): Promise<void> {
  const sel = new NalSelector();
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out");
    for (const c of conns) c.io(sel);
    step();
    for (const c of conns) c.io(sel);
    if (done()) return;
    for (const c of conns) sel.addConn(c);
    await sel.select(20_000);
  }
}

// Sends a request from the peer, serves it at time `now`, returns the answer payload.
async function request(
  server: DcServer,
  client: DcServerClient,
  peer: NalConnection,
  op: number,
  payload: Uint8Array,
  now: number,
): Promise<Uint8Array> {
  const cmd = command(42, op, payload);
  let sent = 0;
  const answer: number[] = [];
  let need = -1;
  await pump([client.conn, peer], () => {
    sent += peer.getSend().write(cmd.subarray(sent));
    assert.ok(client.plug.io());
    assert.ok(server.processClient(client, now));
    const r = peer.getRead();
    answer.push(...r.readPtr());
    r.takeData(null, r.used());
    if (need < 0 && answer.length >= 14) {
      need = 14 + ((answer[12] << 8) | answer[13]);
    }
  }, () => need >= 0 && answer.length >= need);
  return Uint8Array.from(answer.slice(14, need));
}

describe("DcServer", () => {
  it("expires sessions by the clock passed to processClient", async () => {
    const server = new DcServer(512);
    const { client, peer } = pair(server);
    const t = 5_000_000;
    assert.deepEqual(
      await request(
        server,
        client,
        peer,
        OP.ADD,
        addPayload("k", "value!", 2000),
        t,
      ),
      Uint8Array.of(0),
    );
    assert.equal(server.itemsStored(t + 1999), 1);
    assert.deepEqual(
      await request(server, client, peer, OP.GET, bytes("k"), t + 1999),
      bytes("value!"),
    );
    assert.deepEqual(
      await request(server, client, peer, OP.GET, bytes("k"), t + 2000),
      Uint8Array.of(1),
    );
    assert.equal(
      server.itemsStored(t + 2000),
      0,
      "itemsStored purges expired sessions first",
    );
    server.close();
  });

  it("counts operations until resetOperations()", async () => {
    const server = new DcServer(512);
    const { client, peer } = pair(server);
    await request(server, client, peer, OP.HAVE, bytes("a"), Date.now());
    await request(server, client, peer, OP.HAVE, bytes("b"), Date.now());
    assert.equal(server.numOperations(), 2);
    server.resetOperations();
    assert.equal(server.numOperations(), 0);
    server.close();
  });

  it("delClient closes the connection unless DC_CLIENT_FLAG_NOFREE_CONN", async () => {
    const server = new DcServer(512);
    const freed = pair(server);
    const kept = pair(server, DC_CLIENT_FLAG_NOFREE_CONN);
    server.delClient(freed.client);
    server.delClient(kept.client);
    const sel = new NalSelector();
    await pump([freed.peer], () => {}, () => !freed.peer.io(sel));
    assert.equal(kept.client.conn.io(sel), true, "connection left open");
    kept.peer.getSend().write(Uint8Array.of(1, 2, 3));
    await pump(
      [kept.peer, kept.client.conn],
      () => {},
      () => kept.client.conn.getRead().used() === 3,
    );
    kept.client.conn.close();
    server.close();
  });

  it("clientIo serves one client alone and deletes it once its peer is gone", async () => {
    const server = new DcServer(512);
    const busy = pair(server, DC_CLIENT_FLAG_IN_SERVER);
    const idle = pair(server, DC_CLIENT_FLAG_IN_SERVER);
    busy.peer.getSend().write(command(9, OP.HAVE, bytes("nope")));
    idle.peer.getSend().write(command(10, OP.HAVE, bytes("nope")));
    await pump(
      [busy.peer, idle.peer],
      () => server.clientIo(busy.client),
      () => busy.peer.getRead().used() >= 15,
    );
    assert.equal(idle.client.conn.getSend().used(), 0, "the other waits");
    assert.equal(server.numOperations(), 1);
    busy.peer.close();
    await pump([], () => {}, () => !server.clientIo(busy.client));
    assert.equal(busy.client.dead, true);
    assert.equal(server.clientIo(idle.client), true);
    server.close();
  });

  it("serves and forgets clients made with DC_CLIENT_FLAG_IN_SERVER via clientsIo", async () => {
    const server = new DcServer(512);
    assert.equal(server.clientsEmpty(), true);
    const { peer } = pair(server, DC_CLIENT_FLAG_IN_SERVER);
    assert.equal(server.clientsEmpty(), false);
    const req = command(7, OP.HAVE, bytes("nope"));
    peer.getSend().write(req);
    await pump(
      [peer],
      () => server.clientsIo(),
      () => peer.getRead().used() >= 15,
    );
    assert.deepEqual(
      peer.getRead().readPtr().subarray(14, 15),
      Uint8Array.of(1),
    );
    peer.close();
    await pump([], () => server.clientsIo(), () => server.clientsEmpty());
    server.close();
  });

  it("drops a client that sends a corrupt frame, keeping its reason", async () => {
    const server = new DcServer(512);
    const { client, peer } = pair(server, DC_CLIENT_FLAG_IN_SERVER);
    peer.getSend().write(Uint8Array.of(0x00, 0x11, 0x00, 0x00, 0x07));
    await pump([peer], () => server.clientsIo(), () => server.clientsEmpty());
    assert.ok(client.error !== null, "the protocol error is kept");
    assert.equal(server.stats().protocolErrors, 1);
    server.close();
  });
});
