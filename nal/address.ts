/**
 * NAL_ADDRESS: one string namespace for UNIX and TCP (IPv4, IPv6) addresses.
 *
 * @module
 */

import { NalAddressError } from "./errors.ts";
import type { SocketTarget } from "./runtime/types.ts";

/**
 * Buffer size given to connections made from an address created without one.
 * Large enough for sixteen request frames, so that pipelined clients are
 * served in few reads.
 */
export const NAL_DEFAULT_BUFFER_SIZE = 32768;

/** Largest buffer size an address accepts (16 MiB). */
export const NAL_MAX_BUFFER_SIZE = 16 * 1024 * 1024;

// sun_path holds 108 bytes on Linux, including the terminating NUL.
const MAX_UNIX_PATH = 107;

interface Parsed {
  target: SocketTarget;
  canConnect: boolean;
  canListen: boolean;
}

/**
 * A network address in libnal syntax (the C API's `NAL_ADDRESS`):
 *
 * - `UNIX:<path>`: a UNIX domain socket;
 * - `IP:<host>:<port>` or `IPv4:<host>:<port>`: TCP over IPv4; connect and
 *   listen (`localhost` means 127.0.0.1; other host names are resolved by the
 *   runtime when connecting or listening);
 * - `IP:<port>` / `IP::<port>`: listen on every IPv4 interface (listen only);
 * - `IPv6:[<addr>]:<port>`: TCP over IPv6; `IPv6:<port>`: listen on every
 *   IPv6 interface (listen only).
 *
 * Port 0 asks the system for a free port when listening (and cannot connect).
 *
 * @example Parse, then ask what it can do
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAddress } from "@distcache/distcache/nal";
 *
 * const addr = NalAddress.parse("IP:9001");
 * console.log(addr.canListen(), addr.canConnect()); // true false
 * assert.ok(NalAddress.parse("IPv4:127.0.0.1:9001").canConnect());
 * ```
 */
export class NalAddress {
  #parsed: Parsed | null = null;
  #text = "";
  #bufferSize = NAL_DEFAULT_BUFFER_SIZE;
  /** Why the last {@linkcode NalAddress.prototype.create} failed, if it did. */
  error: NalAddressError | null = null;

  /**
   * Parses an address string, throwing on a bad one.
   *
   * @param text The address, e.g. `"UNIX:/tmp/dcserver"`.
   * @param defBufferSize Buffer size of connections made from it (0 or
   *   omitted: {@linkcode NAL_DEFAULT_BUFFER_SIZE}).
   * @throws {NalAddressError} naming what is wrong.
   */
  static parse(text: string, defBufferSize = 0): NalAddress {
    const addr = new NalAddress();
    if (!addr.create(text, defBufferSize)) throw addr.error!;
    return addr;
  }

  /**
   * Sets this address from a string (`NAL_ADDRESS_create`).
   *
   * @param text The address string.
   * @param defBufferSize Buffer size of connections made from it (0 or
   *   omitted: the default).
   * @returns `false` for a bad string; {@linkcode NalAddress.prototype.error}
   *   says why.
   */
  create(text: string, defBufferSize = 0): boolean {
    try {
      this.#bufferSize = checkBufferSize(defBufferSize);
      this.#parsed = parseAddress(text);
      this.#text = text;
      this.error = null;
      return true;
    } catch (err) {
      if (!(err instanceof NalAddressError)) throw err;
      this.error = err;
      return false;
    }
  }

  /** Whether connections can be made to this address. */
  canConnect(): boolean {
    return this.#parsed?.canConnect ?? false;
  }

  /** Whether a listener can be created on this address. */
  canListen(): boolean {
    return this.#parsed?.canListen ?? false;
  }

  /** Default buffer size of connections made from this address. */
  bufferSize(): number {
    return this.#bufferSize;
  }

  /**
   * The transport target for an adapter.
   *
   * @throws {NalAddressError} when the address was never set.
   */
  target(): SocketTarget {
    if (this.#parsed === null) {
      throw new NalAddressError("the address was not created from a string");
    }
    return this.#parsed.target;
  }

  /** The string this address was created from. */
  toString(): string {
    return this.#text;
  }
}

function checkBufferSize(size: number): number {
  if (size === 0) return NAL_DEFAULT_BUFFER_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > NAL_MAX_BUFFER_SIZE) {
    throw new NalAddressError(
      `invalid buffer size ${size}: must be 1..${NAL_MAX_BUFFER_SIZE} (0 for the default)`,
    );
  }
  return size;
}

/** Builds the libnal string for a target, e.g. after listening on port 0. */
export function formatTarget(target: SocketTarget): string {
  if (target.kind === "unix") return `UNIX:${target.path}`;
  return target.family === 6
    ? `IPv6:[${target.host}]:${target.port}`
    : `IP:${target.host}:${target.port}`;
}

function parseAddress(text: string): Parsed {
  if (typeof text !== "string") {
    throw new NalAddressError(`invalid address ${String(text)}: not a string`);
  }
  const colon = text.indexOf(":");
  const prefix = colon < 0 ? "" : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  switch (prefix) {
    case "UNIX":
      return parseUnix(text, rest);
    case "IP":
    case "IPv4":
      return parseIPv4(text, rest);
    case "IPv6":
      return parseIPv6(text, rest);
    default:
      throw new NalAddressError(
        `invalid address "${text}": must start with UNIX:, IP:, IPv4: or IPv6:`,
      );
  }
}

function parseUnix(text: string, path: string): Parsed {
  if (path.length === 0) {
    throw new NalAddressError(`invalid address "${text}": empty UNIX path`);
  }
  if (new TextEncoder().encode(path).length > MAX_UNIX_PATH) {
    throw new NalAddressError(
      `invalid address "${text}": UNIX path longer than ${MAX_UNIX_PATH} bytes`,
    );
  }
  if (path.includes("\0")) {
    throw new NalAddressError(`invalid address "${text}": NUL in UNIX path`);
  }
  return { target: { kind: "unix", path }, canConnect: true, canListen: true };
}

function parsePort(text: string, port: string): number {
  if (port.length === 0) {
    throw new NalAddressError(`invalid address "${text}": missing port`);
  }
  if (!/^[0-9]+$/.test(port)) {
    throw new NalAddressError(
      `invalid address "${text}": port "${port}" is not a number`,
    );
  }
  const n = Number(port);
  if (n > 65535) {
    throw new NalAddressError(
      `invalid address "${text}": port must be 0..65535`,
    );
  }
  return n;
}

const HOSTNAME =
  /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

function parseIPv4(text: string, rest: string): Parsed {
  const last = rest.lastIndexOf(":");
  if (last < 0) {
    // IP:<port>: every interface, listen only.
    const port = parsePort(text, rest);
    return listenOnly("0.0.0.0", port, 4);
  }
  const hostPart = rest.slice(0, last);
  const port = parsePort(text, rest.slice(last + 1));
  if (hostPart.length === 0) return listenOnly("0.0.0.0", port, 4);
  if (hostPart.includes(":")) {
    throw new NalAddressError(
      `invalid address "${text}": IPv6 addresses are written IPv6:[addr]:port`,
    );
  }
  if (!HOSTNAME.test(hostPart)) {
    throw new NalAddressError(
      `invalid address "${text}": bad host "${hostPart}"`,
    );
  }
  if (/^[0-9.]+$/.test(hostPart) && !isIPv4(hostPart)) {
    throw new NalAddressError(
      `invalid address "${text}": bad IPv4 address "${hostPart}"`,
    );
  }
  const host = hostPart.toLowerCase() === "localhost" ? "127.0.0.1" : hostPart;
  return {
    target: { kind: "tcp", host, port, family: 4 },
    canConnect: port !== 0,
    canListen: true,
  };
}

function parseIPv6(text: string, rest: string): Parsed {
  if (!rest.startsWith("[")) {
    const port = parsePort(text, rest);
    return listenOnly("::", port, 6);
  }
  const close = rest.indexOf("]");
  if (close < 0 || rest[close + 1] !== ":") {
    throw new NalAddressError(
      `invalid address "${text}": expected IPv6:[addr]:port`,
    );
  }
  const host = rest.slice(1, close);
  const port = parsePort(text, rest.slice(close + 2));
  if (
    host.length === 0 || !/^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(host) ||
    !host.includes(":")
  ) {
    throw new NalAddressError(
      `invalid address "${text}": bad IPv6 address "${host}"`,
    );
  }
  return {
    target: { kind: "tcp", host, port, family: 6 },
    canConnect: port !== 0,
    canListen: true,
  };
}

function listenOnly(host: string, port: number, family: 4 | 6): Parsed {
  return {
    target: { kind: "tcp", host, port, family },
    canConnect: false,
    canListen: true,
  };
}

function isIPv4(host: string): boolean {
  const parts = host.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}
