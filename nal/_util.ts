// Small byte and async helpers shared by every layer. Kept in one place so
// no layer grows its own copy. Internal: not part of any entry point.

const encoder = new TextEncoder();

/** Bytes of a string (UTF-8) or the same Uint8Array. */
export function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

/** Whether two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lower-case hex of some bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    out += bytes[i].toString(16).padStart(2, "0");
  }
  return out;
}

/** Bytes of a hex string (even length, no prefix). */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new RangeError("hex string of odd length");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const byte = parseInt(hex.substr(i * 2, 2), 16);
    if (Number.isNaN(byte)) throw new RangeError(`bad hex at ${i * 2}`);
    out[i] = byte;
  }
  return out;
}

/** One Uint8Array holding the given ones back to back. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A promise with its resolve and reject functions exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason?: unknown) => void;
}

/** Makes a {@linkcode Deferred}. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * An integer option in `min..max`, `fallback` when undefined; anything
 * else throws what `fail` makes of the message (each layer its own error
 * class).
 */
export function intOption(
  value: unknown,
  name: string,
  range: { min: number; max: number; fallback: number },
  fail: (message: string) => Error,
): number {
  if (value === undefined) return range.fallback;
  if (
    typeof value !== "number" || !Number.isInteger(value) ||
    value < range.min || value > range.max
  ) {
    throw fail(
      `invalid ${name}: ${
        String(value)
      }; must be an integer ${range.min}..${range.max}`,
    );
  }
  return value;
}
