// The default store's private parts where a bug would not show through the
// store's own API for a long time: the hash against the published vectors,
// and the index's deletion when probe runs collide and wrap around.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { halfSipHash } from "../../dc_server/_halfsiphash.ts";
import { IdIndex } from "../../dc_server/_id_index.ts";
import { HEAD_BYTES, pageOf, Slab } from "../../dc_server/_slab.ts";

describe("halfSipHash", () => {
  it("matches the reference HalfSipHash-2-4 vectors (key 00..07, message 00..n-1)", () => {
    const expected = [
      0x5b9f35a9,
      0xb85a4727,
      0x03a662fa,
      0x04e7fe8a,
      0x89466e2a,
      0x69b6fac5,
      0x23fc6358,
      0xc563cf8b,
      0x8f84b8d0,
      0x79e706f8,
      0x3479b094,
      0x50300808,
      0x2f87f057,
      0xff63e677,
      0x7cf8ffd6,
      0x972bfe74,
    ];
    const message = Uint8Array.from({ length: 16 }, (_, i) => i);
    expected.forEach((want, n) => {
      const got = halfSipHash(
        message.subarray(0, n),
        0x03020100,
        0x07060504,
        2,
        4,
      );
      assert.equal(got >>> 0, want, `length ${n}`);
    });
  });

  it("depends on the key", () => {
    const id = new TextEncoder().encode("session");
    assert.notEqual(halfSipHash(id, 1, 2), halfSipHash(id, 1, 3));
  });
});

describe("IdIndex", () => {
  it("keeps every entry reachable when removing from runs that collide and wrap", () => {
    const index = new IdIndex(8); // 16 entries
    const mask = index.mask;
    // Homes near the end of the table, so the runs wrap to its start.
    const homes = [mask, mask, mask - 1, mask, 0, mask - 1, 1, mask];
    homes.forEach((home, ref) => index.insert(home, ref));
    const alive = new Set(homes.keys());
    for (const gone of [0, 4, 2, 7]) {
      index.removeAt(index.positionOf(homes[gone], gone));
      alive.delete(gone);
      for (const ref of alive) {
        // A lookup probes from the home and gives up at an empty entry.
        assert.notEqual(
          probe(index, homes[ref], ref),
          -1,
          `ref ${ref} after removing ${gone}`,
        );
      }
    }
  });

  it("grows past its first size and still finds every entry", () => {
    const index = new IdIndex(16);
    const first = index.table.length;
    for (let ref = 0; ref < 1000; ref++) {
      index.insert(Math.imul(ref, 0x9e3779b1), ref);
    }
    assert.ok(index.table.length > first);
    for (let ref = 0; ref < 1000; ref++) {
      assert.notEqual(probe(index, Math.imul(ref, 0x9e3779b1), ref), -1);
    }
  });
});

// The position of `ref` found by probing from its home up to an empty entry,
// or -1 (unlike positionOf, which trusts that the ref is there).
function probe(index: IdIndex, hash: number, ref: number): number {
  for (let i = hash & index.mask;; i = (i + 1) & index.mask) {
    const entry = index.table[i << 1];
    if (entry === 0) return -1;
    if (entry === ref + 1) return i;
  }
}

describe("Slab", () => {
  // The chunk size of a record of `len` bytes, from two chunks cut one
  // after the other from a page (null when the second opened a new page).
  function chunkSize(slab: Slab, len: number): number | null {
    const a = slab.alloc(len);
    const b = slab.alloc(len);
    return pageOf(a) === pageOf(b) ? (b - a) * 8 : null;
  }

  it("rounds a record up by at most 7 bytes up to 1 KiB, then by about 3% at most", () => {
    const max = HEAD_BYTES + 64 + 32768;
    const slab = new Slab(max);
    const lens = [
      ...Array.from({ length: 4096 }, (_, i) => i + 1),
      ...Array.from({ length: 28 }, (_, i) => 4096 + i * 997),
      max,
    ];
    let checked = 0;
    for (const len of lens) {
      const size = chunkSize(slab, len);
      if (size === null) continue;
      checked++;
      assert.ok(size >= len, `${len} bytes in a chunk of ${size}`);
      const most = len <= 1024 ? len + 7 : Math.ceil(len * 1.032) + 8;
      assert.ok(size <= most, `${len} bytes in a chunk of ${size}`);
    }
    assert.ok(checked > 4000, `${checked} sizes checked`);
    // The session of the benchmarks: a 16-byte id and 512 bytes of data.
    assert.equal(chunkSize(new Slab(max), HEAD_BYTES + 16 + 512), 552);
  });
});
