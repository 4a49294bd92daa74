import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import {
  DC_MAX_TOTAL_DATA,
  DC_PLUG_FLAG_TO_SERVER,
  DcCmd,
  DcEncodeError,
  DcPlug,
  encodeCommand,
} from "../../dc_enc/mod.ts";
import { NalConnection } from "../../nal/mod.ts";
import { below, prng, pumpUntil } from "./_helpers.ts";

// Every size at the edges of a frame (and of the whole command), plus a
// seeded sample of the rest of 1..32768.
function sizes(): number[] {
  const set = new Set<number>();
  for (let n = 1; n <= 70; n++) set.add(n);
  for (let k = 1; k <= 16; k++) {
    for (let d = -2; d <= 2; d++) set.add(k * 2048 + d);
  }
  for (let n = 32760; n <= DC_MAX_TOTAL_DATA; n++) set.add(n);
  const rand = prng(3);
  while (set.size < 1000) set.add(1 + below(rand, DC_MAX_TOTAL_DATA));
  return [...set].filter((n) => n >= 1 && n <= DC_MAX_TOTAL_DATA).sort((
    a,
    b,
  ) => a - b);
}

function payloadFor(uid: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 13 + uid) & 0xff;
  return out;
}

const opened: DcPlug[] = [];
afterEach(() => {
  for (const p of opened.splice(0)) p.close();
});

// A client and a server plug on a connection pair with `size`-byte buffers.
function plugs(size: number): [DcPlug, DcPlug] {
  const a = new NalConnection();
  const b = new NalConnection();
  assert.ok(NalConnection.createPair(a, b, size));
  const client = new DcPlug(a, DC_PLUG_FLAG_TO_SERVER);
  const server = new DcPlug(b, 0);
  opened.push(client, server);
  return [client, server];
}

// Sends a request of each size and has the server answer each with a
// response of the same size; checks both arrive intact and in order.
async function roundTrip(bufferSize: number, all: number[]): Promise<void> {
  const [client, server] = plugs(bufferSize);
  let sent = 0;
  let served = 0;
  let answered = 0;
  await pumpUntil([client, server], () => {
    // Pipeline requests while the client plug takes them.
    while (
      sent < all.length &&
      client.write(
        false,
        sent,
        ((sent % 4) + 1) as DcCmd,
        payloadFor(sent, all[sent]),
      )
    ) {
      client.commit();
      sent++;
    }
    for (let req = server.read(); req !== null; req = server.read()) {
      assert.equal(req.requestUid, served);
      assert.equal(req.cmd, (served % 4) + 1);
      assert.deepEqual(req.payload, payloadFor(served, all[served]));
      const answer = payloadFor(served + 1000, all[served]);
      if (!server.write(req.requestUid, req.cmd, answer)) break;
      server.commit();
      server.consume();
      served++;
    }
    for (let ans = client.read(); ans !== null; ans = client.read()) {
      assert.equal(ans.requestUid, answered);
      assert.deepEqual(ans.payload, payloadFor(answered + 1000, all[answered]));
      client.consume();
      answered++;
    }
    return answered === all.length;
  }, 20_000);
  assert.equal(client.error, null);
  assert.equal(server.error, null);
}

describe("command sizes", () => {
  const all = sizes();

  it("every size from 1 to 32768 (sampled) crosses a connection pair intact both ways, with 32 KiB buffers", async () => {
    assert.ok(all.includes(2047) && all.includes(2049) && all.includes(4096));
    assert.ok(all.includes(32767) && all.includes(32768));
    await roundTrip(32768, all);
  });

  it("the same with 4 KiB buffers, where big commands wait in the plug's backlog", async () => {
    await roundTrip(4096, all);
  });

  it("a 32769-byte command is refused by the plug and the encoder, and the plug carries on", async () => {
    const [client, server] = plugs(32768);
    const tooBig = new Uint8Array(DC_MAX_TOTAL_DATA + 1);
    assert.equal(client.write(1, DcCmd.ADD, tooBig), false);
    assert.ok(client.write(1, DcCmd.ADD, tooBig.subarray(1)));
    assert.equal(client.writeMore(new Uint8Array(1)), false);
    assert.ok(client.rollback());
    assert.throws(
      () => encodeCommand(false, 1, DcCmd.ADD, tooBig),
      (err: unknown) =>
        err instanceof DcEncodeError && /32769/.test(err.message),
    );
    assert.ok(client.write(2, DcCmd.ADD, tooBig.subarray(1)));
    assert.ok(client.commit());
    await pumpUntil([client, server], () => server.read() !== null);
    assert.equal(server.peek()?.payload.length, DC_MAX_TOTAL_DATA);
  });
});
