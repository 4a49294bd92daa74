// Option checks shared by the TLS helpers: wrong types throw before the
// server is touched.

import { intOption } from "../nal/_util.ts";
import { DistcacheTlsError } from "./errors.ts";

export { intOption };

/** An `ERR_ARGUMENT` error with `message`, for {@linkcode intOption}. */
export function argError(message: string): DistcacheTlsError {
  return new DistcacheTlsError("ERR_ARGUMENT", message);
}

/** Throws unless `value` has every named method. */
export function needMethods(
  value: unknown,
  name: string,
  methods: readonly string[],
): void {
  const missing = methods.filter((m) =>
    typeof (value as Record<string, unknown> | null)?.[m] !== "function"
  );
  if (value === null || typeof value !== "object" || missing.length > 0) {
    throw new DistcacheTlsError(
      "ERR_ARGUMENT",
      `invalid ${name}: it has no ${missing.join(", ")} method${
        missing.length === 1 ? "" : "s"
      }`,
    );
  }
}

/** A prefix option as bytes (a string is UTF-8). */
export function prefixOption(
  value: unknown,
  fallback: string,
): Uint8Array {
  if (value === undefined) return new TextEncoder().encode(fallback);
  if (typeof value === "string") return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  throw new DistcacheTlsError(
    "ERR_ARGUMENT",
    `invalid prefix: ${typeof value}; must be a string or a Uint8Array`,
  );
}
