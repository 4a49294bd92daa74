import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DcDecodeState,
  type DcDirection,
  DcEncodeError,
  type DcMsg,
  DcOp,
  DcProtocolError,
  decodeMsg,
  DISTCACHE_PROTO_LEVEL,
  encodeMsg,
  preDecodeMsg,
} from "../../dc_enc/mod.ts";
import { fromHex, toBytes, toHex } from "../../nal/_util.ts";
import { type RawFrame, rawFrame } from "./_helpers.ts";

function msg(over: Partial<DcMsg> = {}): DcMsg {
  return {
    protoLevel: DISTCACHE_PROTO_LEVEL,
    isResponse: false,
    requestUid: 3,
    opClass: 0,
    operation: DcOp.GET,
    complete: true,
    data: toBytes("abc"),
    ...over,
  };
}

function encoded(m: DcMsg): Uint8Array {
  const out = new Uint8Array(14 + m.data.length);
  assert.equal(encodeMsg(m, out), out.length);
  return out;
}

// Valid frames of every shape the protocol allows.
const VALID: DcMsg[] = [
  msg({ data: new Uint8Array(0) }),
  msg({ data: new Uint8Array([7]), isResponse: true }),
  msg({ operation: DcOp.ADD, data: new Uint8Array(2047).fill(1) }),
  msg({ operation: DcOp.HAVE, data: new Uint8Array(2048).fill(2) }),
  msg({
    operation: DcOp.REMOVE,
    complete: false,
    data: new Uint8Array(2048).fill(3),
  }),
  msg({ requestUid: 0xffffffff, protoLevel: 0x0011ffff }),
];

// A single invalid field: where it sits, the value, the first byte at which
// a decoder can know, and what the error must name.
interface Corruption {
  name: string;
  bytes: Uint8Array;
  detectAt: number;
  field: string;
  value: number;
  code?: string;
}

// The one-byte fields: their offset and which values are valid.
const BYTE_FIELDS: {
  field: string;
  key: keyof RawFrame;
  at: number;
  valid: (v: number) => boolean;
}[] = [
  { field: "is_response", key: "isResponse", at: 4, valid: (v) => v <= 1 },
  { field: "op_class", key: "opClass", at: 9, valid: (v) => v === 0 },
  { field: "operation", key: "op", at: 10, valid: (v) => v <= 3 },
  { field: "complete", key: "complete", at: 11, valid: (v) => v <= 1 },
];

function corruptions(): Corruption[] {
  const out: Corruption[] = [];
  const data = toBytes("xyz");
  for (let v = 0; v < 256; v++) {
    for (const f of BYTE_FIELDS) {
      if (f.valid(v)) continue;
      out.push({
        name: `${f.field} ${v}`,
        bytes: rawFrame({ [f.key]: v, data }),
        detectAt: f.at,
        field: f.field,
        value: v,
      });
    }
    if (v > 8) {
      out.push({
        name: `data_len high byte ${v}`,
        bytes: rawFrame({ dataLen: v << 8 }),
        detectAt: 12,
        field: "data_len",
        value: v << 8,
      });
    }
    // proto_level: a wrong first byte, or a wrong version byte.
    for (const [at, level] of [[0, (v << 24) | 0x110000], [1, v << 16]]) {
      if (v === [0x00, 0x11][at]) continue;
      out.push({
        name: `proto_level ${level.toString(16)}`,
        bytes: rawFrame({ protoLevel: level, data }),
        detectAt: at,
        field: "proto_level",
        value: level >>> 0,
        code: "ERR_VERSION",
      });
    }
  }
  for (const [len, detectAt] of [[100, 12], [2047, 12], [2049, 13]]) {
    out.push({
      name: `incomplete frame with data_len ${len}`,
      bytes: rawFrame({ complete: 0, data: new Uint8Array(len) }),
      detectAt,
      field: "data_len",
      value: len,
    });
  }
  return out;
}

describe("frame layout", () => {
  it("encodeMsg writes the 14-byte big-endian header of docs/protocol.md, then the data", () => {
    const bytes = encoded(msg({ requestUid: 0x01020304, isResponse: true }));
    assert.equal(
      toHex(bytes),
      "00110000" + "01" + "01020304" + "00" + "01" + "01" + "0003" + "616263",
    );
  });

  it("decodeMsg reads back every field, the data as a view of the input", () => {
    for (const m of VALID) {
      const bytes = encoded(m);
      const got = decodeMsg(bytes);
      assert.deepEqual(got, m);
      assert.equal(got!.data.buffer, bytes.buffer);
    }
  });

  it("decodes in place at an offset, within a given length, without looking past it", () => {
    const frame = encoded(msg());
    const buf = new Uint8Array(100).fill(0xee);
    buf.set(frame, 40);
    assert.equal(preDecodeMsg(buf, 40, frame.length), DcDecodeState.OK);
    assert.equal(
      preDecodeMsg(buf, 40, frame.length - 1),
      DcDecodeState.INCOMPLETE,
    );
    assert.equal(decodeMsg(buf, 40, frame.length - 1), null);
    const got = decodeMsg(buf, 40, frame.length)!;
    assert.equal(got.data.byteOffset, 54);
    assert.deepEqual(got.data, toBytes("abc"));
    // The 0xee bytes after the frame are none of its business.
    assert.equal(preDecodeMsg(buf, 40), DcDecodeState.OK);
  });

  it("decodeMsg can fill a caller's object instead of allocating one", () => {
    const into = msg({ requestUid: 0 });
    const got = decodeMsg(encoded(msg({ requestUid: 77 })), 0, 17, "any", into);
    assert.equal(got, into);
    assert.equal(into.requestUid, 77);
  });

  it("encodeMsg returns 0 when the frame does not fit, writing nothing", () => {
    const dest = new Uint8Array(16);
    assert.equal(encodeMsg(msg(), dest), 0);
    assert.equal(encodeMsg(msg(), dest, 0), 0);
    assert.deepEqual(dest, new Uint8Array(16));
    assert.equal(encodeMsg(msg(), new Uint8Array(20), 3), 17);
  });

  it("encodeMsg refuses frames that no receiver would accept", () => {
    const bad: Partial<DcMsg>[] = [
      { data: new Uint8Array(2049) },
      { complete: false, data: new Uint8Array(100) },
      { operation: 4 as DcOp },
      { opClass: 1 },
      { protoLevel: 0x00120000 },
      { requestUid: -1 },
      { requestUid: 2 ** 32 },
    ];
    for (const over of bad) {
      assert.throws(
        () => encodeMsg(msg(over), new Uint8Array(4096)),
        (err: unknown) =>
          err instanceof DcEncodeError && err.code === "ERR_ENCODE",
        JSON.stringify(Object.keys(over)),
      );
    }
  });
});

describe("pre-decoding", () => {
  it("every strict prefix of a valid frame is INCOMPLETE, the whole frame OK", () => {
    for (const m of VALID) {
      const bytes = encoded(m);
      for (let n = 0; n < bytes.length; n++) {
        assert.equal(
          preDecodeMsg(bytes, 0, n),
          DcDecodeState.INCOMPLETE,
          `prefix ${n}`,
        );
      }
      assert.equal(preDecodeMsg(bytes), DcDecodeState.OK);
    }
  });

  it("accepts any patch level of version 0x0011", () => {
    for (const level of [0x00110000, 0x00110001, 0x0011ffff]) {
      const got = decodeMsg(encoded(msg({ protoLevel: level })));
      assert.equal(got?.protoLevel, level);
    }
  });

  it("reports each single-field corruption as CORRUPT at the first byte that shows it, naming field and value", () => {
    for (const c of corruptions()) {
      for (let n = 0; n <= c.detectAt; n++) {
        assert.equal(
          preDecodeMsg(c.bytes, 0, n),
          DcDecodeState.INCOMPLETE,
          `${c.name}: prefix ${n}`,
        );
      }
      for (let n = c.detectAt + 1; n <= c.bytes.length; n++) {
        assert.equal(
          preDecodeMsg(c.bytes, 0, n),
          DcDecodeState.CORRUPT,
          `${c.name}: prefix ${n}`,
        );
      }
      assert.throws(
        () => decodeMsg(c.bytes),
        (err: unknown) => {
          assert.ok(err instanceof DcProtocolError, c.name);
          assert.equal(err.field, c.field, c.name);
          assert.equal(err.code, c.code ?? "ERR_PROTOCOL", c.name);
          if (c.bytes.length >= 14) assert.equal(err.value, c.value, c.name);
          return true;
        },
      );
    }
  });

  it("a version mismatch names both levels in its message", () => {
    const bytes = rawFrame({ protoLevel: 0x00120000 });
    assert.throws(() => decodeMsg(bytes), {
      code: "ERR_VERSION",
      field: "proto_level",
      value: 0x00120000,
      message: /00120000.*00110000/,
    });
  });

  it("a server rejects responses and a client rejects requests, at the is_response byte", () => {
    const request = rawFrame({ isResponse: 0 });
    const response = rawFrame({ isResponse: 1 });
    const { OK, INCOMPLETE, CORRUPT } = DcDecodeState;
    const cases: [Uint8Array, number, DcDirection, DcDecodeState][] = [
      [request, 5, "request", INCOMPLETE],
      [response, 5, "request", CORRUPT],
      [request, 5, "response", CORRUPT],
      [request, 4, "response", INCOMPLETE],
      [response, 14, "response", OK],
      [request, 14, "any", OK],
      [response, 14, "any", OK],
    ];
    for (const [bytes, n, direction, want] of cases) {
      assert.equal(preDecodeMsg(bytes, 0, n, direction), want);
    }
    assert.throws(() => decodeMsg(response, 0, undefined, "request"), {
      field: "is_response",
      value: 1,
    });
  });

  it("an incomplete frame of exactly 2048 bytes and a complete one of 0..2048 are valid", () => {
    for (const [complete, len] of [[0, 2048], [1, 0], [1, 2048]]) {
      const bytes = rawFrame({ complete, data: new Uint8Array(len) });
      assert.equal(preDecodeMsg(bytes), DcDecodeState.OK, `${complete}/${len}`);
    }
  });

  it("decodes a frame captured from the C server", () => {
    const got = decodeMsg(fromHex("001100000100000001000001000100"))!;
    assert.equal(got.isResponse, true);
    assert.equal(got.requestUid, 1);
    assert.equal(got.operation, DcOp.ADD);
    assert.deepEqual(got.data, new Uint8Array([0]));
  });
});
