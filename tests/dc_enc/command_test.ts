import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  commandSize,
  DC_MAX_TOTAL_DATA,
  DcCmd,
  DcCommandDecoder,
  DcEncodeError,
  type DcMsg,
  type DcProtocolError,
  decodeMsg,
  encodeCommand,
  encodeCommandInto,
} from "../../dc_enc/mod.ts";
import { concatBytes } from "../../nal/_util.ts";
import { below, prng, randomBytes, rawFrame } from "./_helpers.ts";

const SIZES = [0, 1, 100, 2047, 2048, 2049, 4096, 5019, 30000, 32767, 32768];

function framesOf(bytes: Uint8Array): DcMsg[] {
  const out: DcMsg[] = [];
  let off = 0;
  while (off < bytes.length) {
    const m = decodeMsg(bytes, off)!;
    out.push(m);
    off += 14 + m.data.length;
  }
  return out;
}

// Read through a call, so that an earlier assert on it does not narrow it.
function errorOf(dec: DcCommandDecoder): DcProtocolError | null {
  return dec.error;
}

// A request command of 16 full frames, then `last` as its final frame.
function sixteenFullThen(last: Uint8Array): Uint8Array {
  const full = Array.from(
    { length: 16 },
    () => rawFrame({ uid: 5, op: 0, complete: 0, data: new Uint8Array(2048) }),
  );
  return concatBytes([...full, last]);
}

describe("command encoding", () => {
  it("splits a payload into 2048-byte frames, the last marked complete, all with the same uid and operation", () => {
    const rand = prng(1);
    for (const size of SIZES) {
      const payload = randomBytes(rand, size);
      const bytes = encodeCommand(true, 0xdeadbeef, DcCmd.REMOVE, payload);
      assert.equal(bytes.length, commandSize(size));
      const frames = framesOf(bytes);
      assert.equal(frames.length, Math.max(1, Math.ceil(size / 2048)));
      frames.forEach((f, i) => {
        const last = i === frames.length - 1;
        assert.equal(f.complete, last);
        if (!last) assert.equal(f.data.length, 2048);
        assert.equal(f.requestUid, 0xdeadbeef);
        assert.equal(f.operation, DcCmd.REMOVE - 1);
        assert.equal(f.isResponse, true);
      });
      assert.deepEqual(
        concatBytes(frames.map((f) => f.data)),
        payload,
        `${size}`,
      );
    }
  });

  it("commandSize counts one header per frame, at least one", () => {
    assert.equal(commandSize(0), 14);
    assert.equal(commandSize(1), 15);
    assert.equal(commandSize(2048), 2062);
    assert.equal(commandSize(2049), 2077);
    assert.equal(commandSize(32768), 32768 + 16 * 14);
  });

  it("encodeCommandInto writes the whole command in one range at an offset, or nothing when it does not fit", () => {
    const payload = new Uint8Array(5000).fill(9);
    const want = encodeCommand(false, 4, DcCmd.ADD, payload);
    const dest = new Uint8Array(want.length + 10);
    assert.equal(
      encodeCommandInto(dest, 10, false, 4, DcCmd.ADD, payload),
      want.length,
    );
    assert.deepEqual(dest.subarray(10), want);
    const small = new Uint8Array(want.length - 1);
    assert.equal(encodeCommandInto(small, 0, false, 4, DcCmd.ADD, payload), 0);
    assert.deepEqual(small, new Uint8Array(small.length));
  });

  it("refuses a payload of 32769 bytes, an unknown command or a uid out of range, saying what is valid", () => {
    assert.throws(
      () => encodeCommand(false, 1, DcCmd.ADD, new Uint8Array(32769)),
      (err: unknown) =>
        err instanceof DcEncodeError && err.code === "ERR_ENCODE" &&
        /32769/.test(err.message) && /32768/.test(err.message),
    );
    for (const cmd of [0, 5]) {
      assert.throws(
        () => encodeCommand(false, 1, cmd as DcCmd, new Uint8Array(1)),
        DcEncodeError,
      );
    }
    assert.throws(
      () => encodeCommand(false, 2 ** 32, DcCmd.GET, new Uint8Array(1)),
      DcEncodeError,
    );
  });
});

describe("command reassembly", () => {
  it("joins the frames of each command, however the stream is split", () => {
    const rand = prng(2);
    const cmds = SIZES.map((size, i) => ({
      uid: i * 1000,
      cmd: ((i % 4) + 1) as DcCmd,
      payload: randomBytes(rand, size),
    }));
    const stream = concatBytes(
      cmds.map((c) => encodeCommand(false, c.uid, c.cmd, c.payload)),
    );
    for (let round = 0; round < 50; round++) {
      const dec = new DcCommandDecoder("request");
      const got = [];
      const max = [1, 13, 300, 5000, stream.length][round % 5];
      for (let off = 0; off < stream.length;) {
        const n = 1 + below(rand, max);
        got.push(...dec.push(stream.subarray(off, off + n)));
        off += n;
      }
      assert.equal(dec.error, null);
      assert.equal(dec.pending, 0);
      assert.deepEqual(
        got.map((c) => ({ uid: c.requestUid, cmd: c.cmd, payload: c.payload })),
        cmds,
      );
    }
  });

  it("accepts 16 full frames and an empty 17th final frame: 32768 bytes", () => {
    const dec = new DcCommandDecoder("request");
    const got = dec.push(sixteenFullThen(rawFrame({ uid: 5, op: 0 })));
    assert.equal(dec.error, null);
    assert.equal(got.length, 1);
    assert.equal(got[0].payload.length, DC_MAX_TOTAL_DATA);
    assert.equal(got[0].wireSize, 17 * 14 + 32768);
  });

  it("refuses 16 full frames and one more byte, as soon as that frame's data_len arrives", () => {
    const last = rawFrame({ uid: 5, op: 0, data: new Uint8Array([1]) });
    const stream = sixteenFullThen(last);
    const dec = new DcCommandDecoder("request");
    const headerEnd = 16 * 2062 + 14;
    assert.deepEqual(dec.push(stream.subarray(0, headerEnd - 1)), []);
    assert.equal(dec.error, null);
    dec.push(stream.subarray(headerEnd - 1, headerEnd));
    assert.equal(errorOf(dec)?.field, "data_len");
    assert.equal(errorOf(dec)?.value, 32769);
  });

  it("refuses a 17th frame marked incomplete at its complete byte", () => {
    const stream = sixteenFullThen(
      rawFrame({ uid: 5, op: 0, complete: 0, data: new Uint8Array(2048) }),
    );
    const dec = new DcCommandDecoder("request");
    dec.push(stream.subarray(0, 16 * 2062 + 11));
    assert.equal(dec.error, null);
    dec.push(stream.subarray(16 * 2062 + 11, 16 * 2062 + 12));
    assert.equal(errorOf(dec)?.field, "data_len");
  });

  it("refuses a follow-up frame with another uid, operation or direction, naming the field", () => {
    const first = rawFrame({
      uid: 7,
      op: 1,
      complete: 0,
      data: new Uint8Array(2048),
    });
    const cases: [Parameters<typeof rawFrame>[0], string, number][] = [
      [{ uid: 8, op: 1 }, "request_uid", 8],
      [{ uid: 7 + 0x01000000, op: 1 }, "request_uid", 7 + 0x01000000],
      [{ uid: 7, op: 2 }, "operation", 2],
      [{ uid: 7, op: 1, isResponse: 1 }, "is_response", 1],
    ];
    for (const [second, field, value] of cases) {
      const dec = new DcCommandDecoder("any");
      dec.push(concatBytes([first, rawFrame(second)]));
      assert.equal(dec.error?.field, field, field);
      assert.equal(dec.error?.value, value, field);
    }
  });

  it("stops decoding at the first corrupt byte, keeping the commands before it", () => {
    const good = encodeCommand(false, 1, DcCmd.GET, new Uint8Array([1, 2]));
    const bad = rawFrame({ opClass: 1 });
    const dec = new DcCommandDecoder("request");
    const got = dec.push(concatBytes([good, bad, good]));
    assert.equal(got.length, 1);
    assert.equal(dec.error?.field, "op_class");
    assert.deepEqual(dec.push(good), []);
  });

  it("a client-side decoder refuses requests and a server-side one responses", () => {
    const request = encodeCommand(false, 1, DcCmd.GET, new Uint8Array(0));
    const response = encodeCommand(true, 1, DcCmd.GET, new Uint8Array(0));
    const client = new DcCommandDecoder("response");
    client.push(request);
    assert.equal(client.error?.field, "is_response");
    const server = new DcCommandDecoder("request");
    server.push(response);
    assert.equal(server.error?.field, "is_response");
  });
});
