// NAL_encode_* / NAL_decode_*: big-endian fields over a cursor that
// advances, and what happens when the bytes run out.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  decodeBin,
  decodeChar,
  decodeUint16,
  decodeUint32,
  encodeBin,
  encodeChar,
  encodeUint16,
  encodeUint32,
  NalCursor,
} from "../../nal/mod.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

describe("encode helpers", () => {
  it("encodeUint32 writes big-endian and advances by 4", () => {
    const out = new Uint8Array(6);
    const cur = new NalCursor(out, 1);
    assert.equal(encodeUint32(cur, 0x01020304), true);
    assert.equal(cur.offset, 5);
    assert.deepEqual(out, bytes(0, 1, 2, 3, 4, 0));
  });

  it("encodeUint32 keeps the full unsigned range", () => {
    const out = new Uint8Array(4);
    assert.ok(encodeUint32(new NalCursor(out), 0xfedcba98));
    assert.deepEqual(out, bytes(0xfe, 0xdc, 0xba, 0x98));
  });

  it("encodeUint16 writes big-endian and advances by 2", () => {
    const out = new Uint8Array(2);
    const cur = new NalCursor(out);
    assert.equal(encodeUint16(cur, 0xabcd), true);
    assert.equal(cur.offset, 2);
    assert.deepEqual(out, bytes(0xab, 0xcd));
  });

  it("encodeChar writes one byte and advances by 1", () => {
    const out = new Uint8Array(1);
    const cur = new NalCursor(out);
    assert.equal(encodeChar(cur, 0xfe), true);
    assert.equal(cur.offset, 1);
    assert.deepEqual(out, bytes(0xfe));
  });

  it("encodeBin copies the bytes and advances by their length", () => {
    const out = new Uint8Array(5);
    const cur = new NalCursor(out, 1);
    const src = bytes(7, 8, 9);
    assert.equal(encodeBin(cur, src), true);
    assert.equal(cur.offset, 4);
    src[0] = 0;
    assert.deepEqual(out, bytes(0, 7, 8, 9, 0));
  });

  it("encodeBin of nothing succeeds even with no room", () => {
    const cur = new NalCursor(new Uint8Array(0));
    assert.equal(encodeBin(cur, new Uint8Array(0)), true);
    assert.equal(cur.offset, 0);
  });
});

describe("decode helpers", () => {
  it("decodeUint32 reads big-endian, unsigned, and advances by 4", () => {
    const cur = new NalCursor(bytes(0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4));
    assert.equal(decodeUint32(cur), 0xfffffffe);
    assert.equal(cur.offset, 4);
    assert.equal(decodeUint32(cur), 0x01020304);
    assert.equal(cur.offset, 8);
  });

  it("decodeUint16 reads big-endian and advances by 2", () => {
    const cur = new NalCursor(bytes(0xff, 0xff, 0x08, 0x00));
    assert.equal(decodeUint16(cur), 65535);
    assert.equal(decodeUint16(cur), 2048);
    assert.equal(cur.offset, 4);
  });

  it("decodeChar reads one byte and advances by 1", () => {
    const cur = new NalCursor(bytes(0x80, 7));
    assert.equal(decodeChar(cur), 0x80);
    assert.equal(decodeChar(cur), 7);
    assert.equal(cur.offset, 2);
  });

  it("decodeBin gives the next n bytes and advances by n", () => {
    const cur = new NalCursor(bytes(1, 2, 3, 4, 5));
    assert.deepEqual(decodeBin(cur, 2), bytes(1, 2));
    assert.deepEqual(decodeBin(cur, 0), new Uint8Array(0));
    assert.deepEqual(decodeBin(cur, 3), bytes(3, 4, 5));
    assert.equal(cur.remaining(), 0);
  });

  it("a mixed record round-trips through encode then decode", () => {
    const out = new Uint8Array(4 + 2 + 1 + 3);
    const w = new NalCursor(out);
    assert.ok(encodeUint32(w, 0x00110000));
    assert.ok(encodeUint16(w, 3));
    assert.ok(encodeChar(w, 2));
    assert.ok(encodeBin(w, bytes(0xaa, 0xbb, 0xcc)));
    assert.equal(w.remaining(), 0);
    const r = new NalCursor(out);
    assert.equal(decodeUint32(r), 0x00110000);
    const n = decodeUint16(r)!;
    assert.equal(decodeChar(r), 2);
    assert.deepEqual(decodeBin(r, n), bytes(0xaa, 0xbb, 0xcc));
    assert.equal(r.remaining(), 0);
  });
});

describe("short buffers", () => {
  // A cursor over [2, 2 + room) of a 16-byte array set to 0x55.
  function short(room: number): { cur: NalCursor; out: Uint8Array } {
    const out = new Uint8Array(16).fill(0x55);
    return { cur: new NalCursor(out, 2, 2 + room), out };
  }
  const untouched = new Uint8Array(16).fill(0x55);

  const encoders: [string, number, (cur: NalCursor) => boolean][] = [
    ["encodeUint32", 4, (c) => encodeUint32(c, 0x01020304)],
    ["encodeUint16", 2, (c) => encodeUint16(c, 0x0102)],
    ["encodeChar", 1, (c) => encodeChar(c, 1)],
    ["encodeBin", 3, (c) => encodeBin(c, bytes(1, 2, 3))],
  ];
  for (const [name, width, encode] of encoders) {
    it(`${name} with ${width - 1} bytes left fails and writes nothing`, () => {
      const { cur, out } = short(width - 1);
      assert.equal(encode(cur), false);
      assert.equal(cur.offset, 2);
      assert.deepEqual(out, untouched);
    });
  }

  const decoders: [string, number, (cur: NalCursor) => unknown][] = [
    ["decodeUint32", 4, decodeUint32],
    ["decodeUint16", 2, decodeUint16],
    ["decodeChar", 1, decodeChar],
    ["decodeBin", 3, (c) => decodeBin(c, 3)],
  ];
  for (const [name, width, decode] of decoders) {
    it(`${name} with ${width - 1} bytes left gives null and consumes nothing`, () => {
      const { cur } = short(width - 1);
      assert.equal(decode(cur), null);
      assert.equal(cur.offset, 2);
      assert.equal(cur.remaining(), width - 1);
    });
  }

  it("a cursor's end bounds it even when the array goes on", () => {
    const { cur } = short(5);
    assert.ok(encodeUint32(cur, 1));
    assert.equal(encodeUint16(cur, 1), false);
    assert.ok(encodeChar(cur, 1));
    assert.equal(encodeChar(cur, 1), false);
    assert.equal(cur.offset, 7);
  });
});
