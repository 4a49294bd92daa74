// NalBuffer: the bounded FIFO behind every connection, function by function,
// with the edges where a caller gets fewer bytes than asked.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NalBuffer } from "../../nal/mod.ts";

const bytes = (...values: number[]) => Uint8Array.from(values);

function filled(size: number, ...values: number[]): NalBuffer {
  const buf = new NalBuffer(size);
  assert.equal(buf.write(bytes(...values)), values.length);
  return buf;
}

describe("NalBuffer state", () => {
  it("a buffer made without a size holds nothing and takes nothing", () => {
    const buf = new NalBuffer();
    assert.equal(buf.size(), 0);
    assert.equal(buf.used(), 0);
    assert.equal(buf.unused(), 0);
    assert.equal(buf.empty(), true);
    assert.equal(buf.full(), true);
    assert.equal(buf.write(bytes(1)), 0);
    assert.equal(buf.writePtr().length, 0);
  });

  it("a new buffer is empty and not full", () => {
    const buf = new NalBuffer(8);
    assert.equal(buf.size(), 8);
    assert.equal(buf.used(), 0);
    assert.equal(buf.unused(), 8);
    assert.equal(buf.empty(), true);
    assert.equal(buf.notEmpty(), false);
    assert.equal(buf.full(), false);
    assert.equal(buf.notFull(), true);
  });

  it("a partly filled buffer is neither empty nor full", () => {
    const buf = filled(8, 1, 2, 3);
    assert.equal(buf.used(), 3);
    assert.equal(buf.unused(), 5);
    assert.equal(buf.empty(), false);
    assert.equal(buf.notEmpty(), true);
    assert.equal(buf.full(), false);
    assert.equal(buf.notFull(), true);
  });

  it("a buffer filled to its size is full and not empty", () => {
    const buf = filled(4, 1, 2, 3, 4);
    assert.equal(buf.used(), 4);
    assert.equal(buf.unused(), 0);
    assert.equal(buf.full(), true);
    assert.equal(buf.notFull(), false);
    assert.equal(buf.notEmpty(), true);
  });
});

describe("NalBuffer write and read", () => {
  it("write() takes only what fits and says how much", () => {
    const buf = new NalBuffer(4);
    assert.equal(buf.write(bytes(1, 2, 3, 4, 5, 6)), 4);
    assert.deepEqual(buf.readPtr(), bytes(1, 2, 3, 4));
    assert.equal(buf.write(bytes(7)), 0);
    assert.deepEqual(buf.readPtr(), bytes(1, 2, 3, 4));
  });

  it("write() of nothing moves nothing", () => {
    const buf = filled(4, 1);
    assert.equal(buf.write(new Uint8Array(0)), 0);
    assert.equal(buf.used(), 1);
  });

  it("read() fills a smaller destination and leaves the rest, in order", () => {
    const buf = filled(8, 1, 2, 3, 4, 5);
    const dest = new Uint8Array(2);
    assert.equal(buf.read(dest), 2);
    assert.deepEqual(dest, bytes(1, 2));
    assert.deepEqual(buf.readPtr(), bytes(3, 4, 5));
  });

  it("read() into a larger destination gives only what is held", () => {
    const buf = filled(8, 1, 2, 3);
    const dest = new Uint8Array(6).fill(9);
    assert.equal(buf.read(dest), 3);
    assert.deepEqual(dest, bytes(1, 2, 3, 9, 9, 9));
    assert.equal(buf.empty(), true);
  });

  it("read() from an empty buffer gives 0 and leaves the destination alone", () => {
    const dest = bytes(9, 9);
    assert.equal(new NalBuffer(4).read(dest), 0);
    assert.deepEqual(dest, bytes(9, 9));
  });

  it("read() copies: the bytes outlive later writes to the buffer", () => {
    const buf = filled(4, 1, 2, 3, 4);
    const dest = new Uint8Array(4);
    buf.read(dest);
    buf.write(bytes(5, 6, 7, 8));
    assert.deepEqual(dest, bytes(1, 2, 3, 4));
  });

  it("keeps FIFO order when writes and reads interleave past the size", () => {
    const buf = new NalBuffer(8);
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      const chunk = Uint8Array.from(
        { length: 1 + (round * 7) % 8 },
        (_, i) => (next + i) & 0xff,
      );
      next += buf.write(chunk);
      const dest = new Uint8Array(1 + (round * 5) % 6);
      out.push(...dest.subarray(0, buf.read(dest)));
      assert.ok(buf.used() <= buf.size());
    }
    const rest = new Uint8Array(8);
    out.push(...rest.subarray(0, buf.read(rest)));
    assert.equal(out.length, next);
    assert.deepEqual(out, Array.from({ length: next }, (_, i) => i & 0xff));
  });
});

describe("NalBuffer readPtr, writePtr, takeData, wrote", () => {
  it("readPtr() views exactly the used bytes", () => {
    const buf = filled(8, 1, 2, 3);
    assert.deepEqual(buf.readPtr(), bytes(1, 2, 3));
    assert.deepEqual(new NalBuffer(8).readPtr(), new Uint8Array(0));
  });

  it("writePtr() views the unused room; wrote(n) turns n of it into data", () => {
    const buf = filled(8, 1, 2);
    const room = buf.writePtr();
    assert.equal(room.length, 6);
    room.set(bytes(3, 4, 5));
    assert.equal(buf.used(), 2, "writing at the pointer alone adds nothing");
    assert.equal(buf.wrote(3), 3);
    assert.equal(buf.used(), 5);
    assert.deepEqual(buf.readPtr(), bytes(1, 2, 3, 4, 5));
  });

  it("writePtr() offers all the unused room after data was taken from the front", () => {
    const buf = filled(8, 1, 2, 3, 4, 5, 6, 7, 8);
    buf.takeData(null, 5);
    const room = buf.writePtr();
    assert.equal(room.length, 5);
    room.set(bytes(9, 10, 11, 12, 13));
    assert.equal(buf.wrote(5), 5);
    assert.equal(buf.full(), true);
    assert.deepEqual(buf.readPtr(), bytes(6, 7, 8, 9, 10, 11, 12, 13));
  });

  it("wrote(n) accepts no more than the unused room", () => {
    const buf = filled(4, 1);
    buf.writePtr();
    assert.equal(buf.wrote(10), 3);
    assert.equal(buf.full(), true);
    assert.equal(buf.wrote(1), 0);
    assert.equal(buf.used(), 4);
  });

  it("wrote(0) and wrote(-1) change nothing", () => {
    const buf = filled(4, 1);
    assert.equal(buf.wrote(0), 0);
    assert.equal(buf.wrote(-1), 0);
    assert.equal(buf.used(), 1);
  });

  it("takeData(null, n) discards n bytes and scrolls the rest forward", () => {
    const buf = filled(8, 1, 2, 3, 4, 5);
    assert.equal(buf.takeData(null, 2), 2);
    assert.equal(buf.used(), 3);
    assert.deepEqual(buf.readPtr(), bytes(3, 4, 5));
  });

  it("takeData(null, n) beyond the data discards only what is held", () => {
    const buf = filled(8, 1, 2, 3);
    assert.equal(buf.takeData(null, 100), 3);
    assert.equal(buf.empty(), true);
    assert.equal(buf.unused(), 8);
    assert.equal(buf.takeData(null, 1), 0);
  });

  it("takeData(dest, n) copies like read() but at most n bytes", () => {
    const buf = filled(8, 1, 2, 3, 4, 5);
    const dest = new Uint8Array(4);
    assert.equal(buf.takeData(dest, 3), 3);
    assert.deepEqual(dest, bytes(1, 2, 3, 0));
    assert.deepEqual(buf.readPtr(), bytes(4, 5));
  });

  it("takeData(dest, n) stops at the end of dest", () => {
    const buf = filled(8, 1, 2, 3, 4, 5);
    const dest = new Uint8Array(2);
    assert.equal(buf.takeData(dest, 5), 2);
    assert.deepEqual(dest, bytes(1, 2));
    assert.deepEqual(buf.readPtr(), bytes(3, 4, 5));
  });

  it("consuming through readPtr() then takeData(null, n) leaves the unread bytes", () => {
    const buf = filled(16, 0, 3, 7, 8, 9, 0, 2, 5, 6);
    const seen: number[][] = [];
    // Length-prefixed records, parsed in place as a server does.
    while (buf.used() > 0 && buf.used() >= 1 + buf.readPtr()[0]) {
      const view = buf.readPtr();
      seen.push([...view.subarray(1, 1 + view[0])]);
      buf.takeData(null, 1 + view[0]);
    }
    assert.deepEqual(seen, [[], [7, 8, 9], [], [5, 6]]);
    assert.equal(buf.empty(), true);
  });
});

describe("NalBuffer setSize", () => {
  it("growing keeps the data and adds room", () => {
    const buf = filled(4, 1, 2, 3, 4);
    assert.equal(buf.setSize(10), true);
    assert.equal(buf.size(), 10);
    assert.deepEqual(buf.readPtr(), bytes(1, 2, 3, 4));
    assert.equal(buf.unused(), 6);
  });

  it("shrinking below the data crops it to the new size and leaves the buffer full", () => {
    const buf = filled(8, 1, 2, 3, 4, 5, 6);
    assert.equal(buf.setSize(4), true);
    assert.equal(buf.size(), 4);
    assert.equal(buf.full(), true);
    assert.deepEqual(buf.readPtr(), bytes(1, 2, 3, 4));
  });

  it("shrinking after a takeData() crops from the current front", () => {
    const buf = filled(8, 1, 2, 3, 4, 5, 6);
    buf.takeData(null, 2);
    assert.equal(buf.setSize(3), true);
    assert.deepEqual(buf.readPtr(), bytes(3, 4, 5));
    assert.equal(buf.full(), true);
  });

  it("shrinking above the data keeps it all", () => {
    const buf = filled(8, 1, 2);
    assert.equal(buf.setSize(3), true);
    assert.deepEqual(buf.readPtr(), bytes(1, 2));
    assert.equal(buf.unused(), 1);
  });

  it("setSize(0) drops everything", () => {
    const buf = filled(8, 1, 2);
    assert.equal(buf.setSize(0), true);
    assert.equal(buf.size(), 0);
    assert.equal(buf.used(), 0);
    assert.equal(buf.write(bytes(1)), 0);
  });

  for (const size of [-1, 2.5, Number.NaN]) {
    it(`setSize(${size}) fails and leaves the buffer as it was`, () => {
      const buf = filled(8, 1, 2);
      assert.equal(buf.setSize(size), false);
      assert.equal(buf.size(), 8);
      assert.deepEqual(buf.readPtr(), bytes(1, 2));
    });
  }
});
