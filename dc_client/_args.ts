// The argument rules of DcCtx, checked before anything is sent: ids and
// data are exactly a Uint8Array (any view of bytes, Node's Buffer included)
// or a string; numbers are numbers in range. Everything else throws a
// DcArgumentError that names the argument. Internal to dc_client.

import { DC_MAX_ID_LEN } from "../dc_enc/mod.ts";
import { DcArgumentError } from "./errors.ts";

const encoder = new TextEncoder();

// %TypedArray%.prototype[@@toStringTag] reads the array's internal type
// name: "Uint8Array" for a Uint8Array of any realm (and a Buffer), never for
// another typed array, and undefined for anything that is not one.
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!;

/** Whether `value` is a Uint8Array (of this realm or another, or a Buffer). */
export function isUint8Array(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array ||
    typedArrayName.call(value) === "Uint8Array";
}

/** What a bad value is, for a message: "a Uint16Array", "the number 123". */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "undefined":
      return "undefined";
    case "number":
    case "bigint":
    case "boolean":
      return `the ${typeof value} ${String(value)}`;
    case "string":
      return `the string ${JSON.stringify(value.slice(0, 40))}`;
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
  }
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  const name = typedArrayName.call(value) ??
    (value as object).constructor?.name ?? "Object";
  return `${/^[AEIO]/.test(name) ? "an" : "a"} ${name}`;
}

/** The bytes of an id or data argument (a string is sent as UTF-8). */
export function bytesArg(value: unknown, name: string): Uint8Array {
  if (typeof value === "string") return encoder.encode(value);
  if (isUint8Array(value)) return value;
  throw new DcArgumentError(
    `invalid ${name}: ${
      describeValue(value)
    }; must be a Uint8Array or a string`,
  );
}

/** A session id argument: bytes or a string, 1..64 bytes. */
export function idArg(value: unknown): Uint8Array {
  const bytes = bytesArg(value, "id");
  if (bytes.length === 0 || bytes.length > DC_MAX_ID_LEN) {
    throw new DcArgumentError(
      `invalid session id of ${bytes.length} bytes: must be 1..${DC_MAX_ID_LEN}`,
    );
  }
  return bytes;
}

/** A `storage` argument: a Uint8Array to copy into, or null / absent. */
export function storageArg(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (isUint8Array(value)) return value;
  throw new DcArgumentError(
    `invalid storage: ${describeValue(value)}; must be a Uint8Array or null`,
  );
}

/** An integer argument in `min..max`. */
export function intArg(
  value: unknown,
  name: string,
  min: number,
  max: number,
): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new DcArgumentError(
      `invalid ${name}: ${
        describeValue(value)
      }; must be an integer ${min}..${max}`,
    );
  }
  return value;
}
