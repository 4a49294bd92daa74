// 100,000 random and mutated streams fed through a DcPlug in random chunk
// sizes. The PRNG is seeded: a failure names the stream, and reruns the same.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  commandSize,
  DC_MAX_TOTAL_DATA,
  DC_PLUG_FLAG_NOFREE_CONN,
  DC_PLUG_FLAG_TO_SERVER,
  type DcCmd,
  DcCommandDecoder,
  DcDecodeState,
  type DcDirection,
  DcPlug,
  DcProtocolError,
  encodeCommand,
  preDecodeMsg,
} from "../../dc_enc/mod.ts";
import { NalConnection } from "../../nal/mod.ts";
import { bytesEqual, concatBytes } from "../../nal/_util.ts";
import { below, prng, randomBytes } from "./_helpers.ts";

const STREAMS = 100_000;
// Most chunk limit, drawn per stream: byte by byte now and then (costly),
// mostly a few bytes to whole streams.
const CHUNK_LIMITS = [1, 4, 16, 16, 16, 100, 100, 2062, 2062, 40000, 40000];
const SEED = 0x5eed;
// What a plug may hold of a command it has not delivered: 16 full frames
// and the header of a 17th.
const MAX_UNDELIVERED = DC_MAX_TOTAL_DATA + 17 * 14;

interface Cmd {
  uid: number;
  cmd: DcCmd;
  payload: Uint8Array;
}

interface Case {
  stream: Uint8Array;
  cmds: Cmd[];
  // Offset of each command's end in the stream.
  ends: number[];
  // Commands ending at or before this offset are untouched.
  cut: number;
  valid: boolean;
}

function payloadSize(rand: () => number): number {
  const r = below(rand, 1000);
  if (r < 700) return below(rand, 64);
  if (r < 950) return below(rand, 600);
  if (r < 995) return 2040 + below(rand, 20);
  return below(rand, DC_MAX_TOTAL_DATA + 1);
}

// Payloads are views of one block of random bytes: cheaper than drawing
// every byte, and as good for the decoder.
const POOL = randomBytes(prng(SEED + 1), 2 * DC_MAX_TOTAL_DATA);

function makeCase(rand: () => number, isResponse: boolean): Case {
  const cmds: Cmd[] = [];
  const parts: Uint8Array[] = [];
  const ends: number[] = [];
  let end = 0;
  for (let n = 1 + below(rand, 4); n > 0; n--) {
    const from = below(rand, DC_MAX_TOTAL_DATA);
    const c = {
      uid: rand(),
      cmd: (1 + below(rand, 4)) as DcCmd,
      payload: POOL.subarray(from, from + payloadSize(rand)),
    };
    cmds.push(c);
    parts.push(encodeCommand(isResponse, c.uid, c.cmd, c.payload));
    end += commandSize(c.payload.length);
    ends.push(end);
  }
  const valid = concatBytes(parts);
  const kind = below(rand, 20);
  if (kind < 5) {
    return { stream: valid, cmds, ends, cut: Infinity, valid: true };
  }
  if (kind < 10) {
    // One byte anywhere changed.
    const at = below(rand, valid.length);
    valid[at] ^= 1 + below(rand, 255);
    return { stream: valid, cmds, ends, cut: at, valid: false };
  }
  if (kind < 16) {
    // One header byte of one of the frames changed.
    const frameStarts = [];
    for (let at = 0; at < valid.length;) {
      frameStarts.push(at);
      at += 14 + ((valid[at + 12] << 8) | valid[at + 13]);
    }
    const at = frameStarts[below(rand, frameStarts.length)] + below(rand, 14);
    valid[at] = below(rand, 3) === 0 ? valid[at] ^ 1 : rand() & 0xff;
    return { stream: valid, cmds, ends, cut: at, valid: false };
  }
  if (kind < 18) {
    // Cut short, then garbage.
    const at = below(rand, valid.length);
    const stream = concatBytes([
      valid.subarray(0, at),
      randomBytes(rand, below(rand, 300)),
    ]);
    return { stream, cmds, ends, cut: at, valid: false };
  }
  // Random bytes, half of them behind a valid protocol level.
  const noise = randomBytes(rand, 1 + below(rand, 200));
  if (rand() & 1) noise.set([0x00, 0x11, 0x00, 0x00].slice(0, noise.length));
  return { stream: noise, cmds, ends, cut: 0, valid: false };
}

function fail(index: number, what: string): never {
  assert.fail(`stream #${index} (seed ${SEED}): ${what}`);
}

describe("fuzzing DcPlug", () => {
  it(`${STREAMS} random and mutated streams in random chunks: no throw, no hang, bounded buffering, commands before the damage intact`, () => {
    const rand = prng(SEED);
    const pool = [2062, 4096, 32768].map((size) => {
      const conn = new NalConnection();
      assert.ok(conn.createDummy(size));
      return conn;
    });
    const stats = { valid: 0, corrupt: 0, delivered: 0, compared: 0 };
    for (let index = 0; index < STREAMS; index++) {
      const toServer = (rand() & 1) === 1;
      const direction: DcDirection = toServer ? "response" : "request";
      const c = makeCase(rand, toServer);
      const conn = pool[below(rand, pool.length)];
      const rb = conn.getRead();
      rb.takeData(null, rb.used());
      const plug = new DcPlug(
        conn,
        DC_PLUG_FLAG_NOFREE_CONN | (toServer ? DC_PLUG_FLAG_TO_SERVER : 0),
      );
      let maxChunk = CHUNK_LIMITS[below(rand, CHUNK_LIMITS.length)];
      // Byte-by-byte splits of headers are what matter: short streams get
      // them all; long ones would only cost time.
      if (c.stream.length > 256) maxChunk = Math.max(maxChunk, 64);
      const chunks: number[] = [];
      const delivered: Cmd[] = [];
      let fed = 0;
      let takenAtLastCommand = 0;
      for (let turns = 0;; turns++) {
        if (turns > c.stream.length + 10) fail(index, "no progress");
        if (fed < c.stream.length) {
          const n = Math.min(1 + below(rand, maxChunk), c.stream.length - fed);
          const wrote = rb.write(c.stream.subarray(fed, fed + n));
          if (wrote > 0) chunks.push(wrote);
          fed += wrote;
        }
        const alive = plug.io();
        for (let got = plug.read(); got !== null; got = plug.read()) {
          delivered.push({
            uid: got.requestUid,
            cmd: got.cmd,
            payload: got.payload.slice(),
          });
          plug.consume();
          takenAtLastCommand = fed - rb.used();
        }
        if (plug.error !== null) break;
        if (!alive) fail(index, "io() false without an error");
        // Whatever is left in the read buffer must be the start of a frame:
        // a whole one left there would never be read (a hang).
        if (
          preDecodeMsg(rb.readPtr(), 0, undefined, direction) !==
            DcDecodeState.INCOMPLETE && rb.notEmpty()
        ) {
          fail(index, "a whole frame was left unread");
        }
        if (fed - rb.used() - takenAtLastCommand > MAX_UNDELIVERED) {
          fail(index, "the plug holds more than one command");
        }
        if (fed === c.stream.length) break;
      }
      plug.close();

      const intact = c.cmds.filter((_, i) => c.ends[i] <= c.cut);
      if (delivered.length < intact.length) {
        fail(index, `${delivered.length} commands, ${intact.length} expected`);
      }
      intact.forEach((want, i) => {
        const got = delivered[i];
        if (
          got.uid !== want.uid || got.cmd !== want.cmd ||
          !bytesEqual(got.payload, want.payload)
        ) fail(index, `command ${i} damaged`);
      });
      if (c.valid) {
        if (plug.error !== null || delivered.length !== c.cmds.length) {
          fail(index, `valid stream: ${plug.error?.message}`);
        }
        stats.valid++;
      }
      if (plug.error !== null) {
        if (!(plug.error instanceof DcProtocolError)) fail(index, "error type");
        stats.corrupt++;
      }
      stats.delivered += delivered.length;

      // The stream decoder must see the same commands and the same fault.
      if (index % 10 === 0) {
        const dec = new DcCommandDecoder(direction);
        const got: Cmd[] = [];
        let off = 0;
        for (const n of chunks) {
          for (const d of dec.push(c.stream.subarray(off, off + n))) {
            got.push({ uid: d.requestUid, cmd: d.cmd, payload: d.payload });
          }
          off += n;
        }
        assert.deepEqual(got, delivered, `stream #${index}`);
        assert.equal(dec.error?.field, plug.error?.field, `stream #${index}`);
        assert.equal(dec.error?.value, plug.error?.value, `stream #${index}`);
        stats.compared++;
      }
    }
    // The mix exercised both outcomes in earnest.
    assert.ok(stats.valid > STREAMS / 5, JSON.stringify(stats));
    assert.ok(stats.corrupt > STREAMS / 5, JSON.stringify(stats));
    assert.ok(stats.delivered > STREAMS, JSON.stringify(stats));
  });
});
