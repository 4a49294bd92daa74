// Helpers for the dc_enc tests: a seeded PRNG (failures reproduce), frames
// built by hand from their fields (independently of the encoder under
// test), and a select loop with a deadline for connection pairs.

import type { DcPlug } from "../../dc_enc/mod.ts";
import { NalSelector } from "../../nal/mod.ts";

/** A seeded PRNG (mulberry32): each call gives a uint32. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** An integer in [0, n). */
export function below(rand: () => number, n: number): number {
  return rand() % n;
}

/** `n` random bytes. */
export function randomBytes(rand: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() & 0xff;
  return out;
}

/** Raw header fields; any byte value may be given, valid or not. */
export interface RawFrame {
  protoLevel?: number;
  isResponse?: number;
  uid?: number;
  opClass?: number;
  op?: number;
  complete?: number;
  /** data_len as written; defaults to data.length. */
  dataLen?: number;
  data?: Uint8Array;
}

/** The bytes of one frame, laid out as docs/protocol.md's table says. */
export function rawFrame(f: RawFrame): Uint8Array {
  const data = f.data ?? new Uint8Array(0);
  const bytes = new Uint8Array(14 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, f.protoLevel ?? 0x00110000);
  view.setUint8(4, f.isResponse ?? 0);
  view.setUint32(5, f.uid ?? 1);
  view.setUint8(9, f.opClass ?? 0);
  view.setUint8(10, f.op ?? 1);
  view.setUint8(11, f.complete ?? 1);
  view.setUint16(12, f.dataLen ?? data.length);
  bytes.set(data, 14);
  return bytes;
}

/**
 * Runs io() on the plugs until `done()` holds, waiting on a selector in
 * between; throws when `ms` milliseconds pass first.
 */
export async function pumpUntil(
  plugs: DcPlug[],
  done: () => boolean,
  ms = 5000,
): Promise<void> {
  const sel = new NalSelector();
  const deadline = performance.now() + ms;
  for (;;) {
    for (const p of plugs) p.io();
    if (done()) return;
    if (performance.now() > deadline) {
      throw new Error(`condition not reached within ${ms} ms`);
    }
    for (const p of plugs) p.toSelect(sel);
    await sel.select(20_000);
  }
}
