// HalfSipHash (Aumasson and Bernstein), 32-bit output: the hash of session
// ids in the default store. Ids come from the network, so a keyed hash with a
// random key per store keeps a client from choosing ids that all collide and
// turning O(1) lookups into scans. Internal: not part of any entry point.

/**
 * The 32-bit HalfSipHash-c-d of `bytes` under the 64-bit key `k0`, `k1`
 * (little-endian words), as a signed 32-bit integer. The store uses 1-3, the
 * variant Linux uses for hash tables; 2-4 is what the reference vectors cover.
 */
export function halfSipHash(
  bytes: Uint8Array,
  k0: number,
  k1: number,
  cRounds = 1,
  dRounds = 3,
): number {
  let v0 = k0 | 0;
  let v1 = k1 | 0;
  let v2 = 0x6c796765 ^ k0;
  let v3 = 0x74656462 ^ k1;
  const n = bytes.length;
  const end = n & ~3;
  // One pass per message word, the last holding the 0..3 trailing bytes and
  // the length in its top byte; then a pass with no word that finalizes.
  for (let i = 0; i <= end + 4; i += 4) {
    let m = 0;
    let rounds = cRounds;
    if (i < end) {
      m = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) |
        (bytes[i + 3] << 24);
    } else if (i === end) {
      m = n << 24;
      for (let j = n - 1; j >= end; j--) m |= bytes[j] << ((j - end) << 3);
    } else {
      v2 ^= 0xff;
      rounds = dRounds;
    }
    v3 ^= m;
    for (let r = 0; r < rounds; r++) {
      v0 = (v0 + v1) | 0, v1 = (v1 << 5) | (v1 >>> 27), v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16), v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24), v3 ^= v2, v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25), v3 ^= v0, v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19), v1 ^= v2, v2 = (v2 << 16) | (v2 >>> 16);
    }
    v0 ^= m;
  }
  return v1 ^ v3;
}
