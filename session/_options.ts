// Option checks shared by the session stores.

import { DC_MAX_TIMEOUT_MS } from "../dc_enc/mod.ts";
import { intOption } from "../nal/_util.ts";
import { DistcacheSessionError } from "./errors.ts";

export { intOption };

/** An `ERR_ARGUMENT` error with `message`, for {@linkcode intOption}. */
export function argError(message: string): DistcacheSessionError {
  return new DistcacheSessionError("ERR_ARGUMENT", message);
}

/** `value` as a string option, or `fallback` when undefined. */
export function stringOption(
  value: unknown,
  name: string,
  fallback: string,
): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string") {
    throw new DistcacheSessionError(
      "ERR_ARGUMENT",
      `invalid ${name}: ${typeof value}; must be a string`,
    );
  }
  return value;
}

/** Throws unless `ctx` has the cache calls the stores make. */
export function checkCtx(ctx: unknown): void {
  const c = ctx as Record<string, unknown> | null;
  if (
    c === null || typeof c !== "object" || typeof c.get !== "function" ||
    typeof c.addSession !== "function" || typeof c.removeSession !== "function"
  ) {
    throw new DistcacheSessionError(
      "ERR_ARGUMENT",
      "invalid ctx: must be a DcCtx (get, addSession, removeSession)",
    );
  }
}

/** A day: the lifetime of a session whose cookie does not say. */
export const DEFAULT_TTL_MS = 86_400_000;

/** The options both stores take, checked, with their defaults. */
export function commonOptions(
  options: { prefix?: unknown; ttlMs?: unknown; missRetryMs?: unknown },
): { prefix: string; ttlMs: number; missRetryMs: number } {
  return {
    prefix: stringOption(options.prefix, "prefix", "sess:"),
    ttlMs: intOption(options.ttlMs, "ttlMs", {
      min: 1,
      max: DC_MAX_TIMEOUT_MS,
      fallback: DEFAULT_TTL_MS,
    }, argError),
    missRetryMs: intOption(options.missRetryMs, "missRetryMs", {
      min: 0,
      max: 1000,
      fallback: 10,
    }, argError),
  };
}
