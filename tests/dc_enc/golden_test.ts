// Replays every golden vector (traffic captured from the C distcache) through
// our frame and command codecs: same frames, same bytes when re-encoded, and
// CORRUPT exactly where the C server dropped the connection as corrupt.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  type DcCommand,
  DcCommandDecoder,
  type DcDirection,
  type DcMsg,
  DcOp,
  DcProtocolError,
  decodeMsg,
  encodeCommand,
  encodeMsg,
} from "../../dc_enc/mod.ts";
import { concatBytes, fromHex, toHex } from "../../nal/_util.ts";
import { below, prng } from "./_helpers.ts";

interface GoldenFrame {
  dir: "c2s" | "s2c";
  proto_level: number;
  is_response: number;
  request_uid: number;
  op_class: number;
  operation: string | number;
  complete: number;
  data_len: number;
  data_hex: string;
}

interface Golden {
  case: string;
  description: string;
  exchanges: { dir: "c2s" | "s2c"; hex: string }[];
  frames: GoldenFrame[];
  server_closed?: boolean;
}

const DIR = new URL("../fixtures/golden/", import.meta.url);

function load(sub: string): Golden[] {
  const dir = new URL(sub, DIR);
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => JSON.parse(readFileSync(new URL(name, dir), "utf8")));
}

const VECTORS = load("./");
const DEFECTS = load("c_defects/");

// Streams the C server dropped as corrupt, and what our decoder must name.
const CORRUPT: Record<string, { field: string; value: number; code?: string }> =
  {
    corrupt_complete_value: { field: "complete", value: 2 },
    corrupt_data_len: { field: "data_len", value: 2049 },
    corrupt_is_response: { field: "is_response", value: 1 },
    corrupt_is_response_value: { field: "is_response", value: 2 },
    corrupt_mixed_uid: { field: "request_uid", value: 38 },
    corrupt_op_class: { field: "op_class", value: 1 },
    corrupt_operation: { field: "operation", value: 4 },
    corrupt_short_incomplete: { field: "data_len", value: 100 },
    corrupt_too_many_frames: { field: "data_len", value: 32769 },
    version_mismatch: {
      field: "proto_level",
      value: 0x00120000,
      code: "ERR_VERSION",
    },
    version_mismatch_old: {
      field: "proto_level",
      value: 0x00100000,
      code: "ERR_VERSION",
    },
  };

// Hand-made by the capture tool, not by a C encoder: the C plug (and ours)
// sends a 32768-byte payload as 16 frames, not 16 and an empty 17th.
const HAND_FRAMED = new Set(["seventeen_frames_empty_last"]);

const DIRECTION: Record<string, DcDirection> = {
  c2s: "request",
  s2c: "response",
};

function streamOf(v: Golden, dir: string): Uint8Array {
  return concatBytes(
    v.exchanges.filter((e) => e.dir === dir).map((e) => fromHex(e.hex)),
  );
}

function asGolden(m: DcMsg, dir: string): GoldenFrame {
  return {
    dir: dir as GoldenFrame["dir"],
    proto_level: m.protoLevel,
    is_response: m.isResponse ? 1 : 0,
    request_uid: m.requestUid,
    op_class: m.opClass,
    operation: ["ADD", "GET", "REMOVE", "HAVE"][m.operation],
    complete: m.complete ? 1 : 0,
    data_len: m.data.length,
    data_hex: toHex(m.data),
  };
}

// Frames decoded one by one from the start of a stream, until the end, an
// incomplete frame, or a corrupt one; with the offset where that stopped.
function frames(stream: Uint8Array, direction: DcDirection) {
  const out: { msg: DcMsg; at: number }[] = [];
  let at = 0;
  let error: unknown = null;
  for (;;) {
    let m: DcMsg | null = null;
    try {
      m = decodeMsg(stream, at, stream.length - at, direction);
    } catch (err) {
      error = err;
    }
    if (m === null) break;
    out.push({ msg: m, at });
    at += 14 + m.data.length;
  }
  return { frames: out, rest: stream.length - at, error };
}

function decodeCommands(
  stream: Uint8Array,
  direction: DcDirection,
  chunks: number[] | null,
) {
  const dec = new DcCommandDecoder(direction);
  const got: DcCommand[] = [];
  if (chunks === null) got.push(...dec.push(stream));
  else {
    let off = 0;
    for (const n of chunks) {
      got.push(...dec.push(stream.subarray(off, off + n)));
      off += n;
    }
  }
  return { commands: got, error: dec.error, pending: dec.pending };
}

function randomChunks(rand: () => number, length: number): number[] {
  const out: number[] = [];
  const max = [1, 7, 20, 600][below(rand, 4)];
  for (let left = length; left > 0;) {
    const n = Math.min(left, 1 + below(rand, max));
    out.push(n);
    left -= n;
  }
  return out;
}

// The same bytes with our patch level in every frame header (a peer may send
// any patch level of version 0x0011; we always send 0x00110000).
function withOurLevel(bytes: Uint8Array): Uint8Array {
  for (let at = 0; at + 14 <= bytes.length;) {
    bytes[at + 2] = 0;
    bytes[at + 3] = 0;
    at += 14 + ((bytes[at + 12] << 8) | bytes[at + 13]);
  }
  return bytes;
}

function answered(v: Golden): boolean {
  return v.exchanges[v.exchanges.length - 1].dir === "s2c";
}

describe("golden vectors", () => {
  it("holds the vectors of the C capture", () => {
    assert.equal(VECTORS.length, 39);
    assert.equal(DEFECTS.length, 4);
  });

  for (const v of [...VECTORS, ...DEFECTS]) {
    describe(v.case, () => {
      const expectCorrupt = CORRUPT[v.case];

      it("each stream decodes into exactly the listed frames, which re-encode to the captured bytes", () => {
        for (const dir of ["c2s", "s2c"]) {
          const stream = streamOf(v, dir);
          const listed = v.frames.filter((f) => f.dir === dir);
          const got = frames(stream, DIRECTION[dir]);
          assert.deepEqual(
            got.frames.map((f) => asGolden(f.msg, dir)),
            listed.slice(0, got.frames.length),
          );
          if (got.error !== null) {
            // The one frame we refuse is the corrupt one the file lists (if
            // it was sent whole).
            assert.ok(expectCorrupt && dir === "c2s", `${dir}: ${got.error}`);
            assert.ok(listed.length - got.frames.length <= 1);
          } else {
            assert.equal(listed.length, got.frames.length, dir);
          }
          for (const { msg, at } of got.frames) {
            const bytes = new Uint8Array(14 + msg.data.length);
            encodeMsg(msg, bytes);
            assert.deepEqual(bytes, stream.subarray(at, at + bytes.length));
          }
        }
      });

      if (expectCorrupt) {
        it(`is CORRUPT for us too, naming ${expectCorrupt.field}`, () => {
          assert.equal(v.server_closed, true);
          assert.ok(!answered(v));
          const { error } = decodeCommands(
            streamOf(v, "c2s"),
            "request",
            null,
          );
          assert.ok(error instanceof DcProtocolError);
          assert.equal(error.code, expectCorrupt.code ?? "ERR_PROTOCOL");
          assert.equal(error.field, expectCorrupt.field);
          assert.equal(error.value, expectCorrupt.value);
        });
        return;
      }

      if (v.server_closed && !answered(v) && DEFECTS.indexOf(v) < 0) {
        it("is a valid frame whose short ADD payload the server layer refuses", () => {
          const { commands, error } = decodeCommands(
            streamOf(v, "c2s"),
            "request",
            null,
          );
          assert.equal(error, null);
          const last = commands[commands.length - 1];
          assert.equal(last.cmd - 1, DcOp.ADD);
          assert.ok(last.payload.length < 8);
        });
      }

      it("commands decode the same however the streams are split, and re-encode to the captured bytes", () => {
        const rand = prng(v.case.length * 7919);
        for (const dir of ["c2s", "s2c"]) {
          const stream = streamOf(v, dir);
          const whole = decodeCommands(stream, DIRECTION[dir], null);
          assert.equal(whole.error, null, dir);
          for (let round = 0; round < 20; round++) {
            const split = decodeCommands(
              stream,
              DIRECTION[dir],
              randomChunks(rand, stream.length),
            );
            assert.deepEqual(split, whole);
          }
          let at = 0;
          for (const c of whole.commands) {
            const bytes = encodeCommand(
              c.isResponse,
              c.requestUid,
              c.cmd,
              c.payload,
            );
            const captured = withOurLevel(stream.slice(at, at + c.wireSize));
            if (HAND_FRAMED.has(v.case) && c.payload.length === 32768) {
              // Ours: the same 16 full frames, the last marked complete.
              assert.equal(bytes.length, c.wireSize - 14);
              assert.deepEqual(
                bytes.subarray(0, 15 * 2062),
                captured.subarray(0, 15 * 2062),
              );
            } else {
              assert.deepEqual(bytes, captured);
            }
            at += c.wireSize;
          }
          // What is left is the start of a command: the C side stopped
          // sending (a defect case) or dropped the connection.
          assert.equal(stream.length - at, whole.pending, dir);
        }
      });
    });
  }

  it("a split HAVE whose header came alone is completed by its 4 id bytes", () => {
    const v = DEFECTS.find((d) => d.case === "split_header_small_payload")!;
    const dec = new DcCommandDecoder("request");
    const got = dec.push(streamOf(v, "c2s"));
    assert.equal(got.length, 1);
    assert.equal(dec.pending, 14);
    const [have] = dec.push(new TextEncoder().encode("abcd"));
    assert.equal(have.requestUid, 2);
    assert.equal(have.cmd - 1, DcOp.HAVE);
    assert.equal(dec.error, null);
  });
});
