/**
 * NalAllowList: which peers a TCP listener lets in, as IPv4 and IPv6
 * networks in CIDR notation.
 *
 * @module
 */

import { NalOptionError } from "./errors.ts";

// Every address is kept as a 128-bit number: an IPv4 address as its
// IPv4-mapped IPv6 form (::ffff:a.b.c.d), an IPv4 network a.b.c.d/n as
// ::ffff:a.b.c.d/(96+n). So an IPv4 peer that a dual-stack listener sees as
// ::ffff:a.b.c.d matches the IPv4 networks, and an IPv6 network that covers
// ::ffff:0:0/96 (::/0 does) covers the IPv4 peers, with one comparison rule.
const MAPPED = 0xffffn << 32n;
const ALL = (1n << 128n) - 1n;

interface Network {
  readonly base: bigint;
  readonly mask: bigint;
}

/**
 * A set of networks (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a
 * network of one) that a listener's peers must belong to. IPv4 peers seen
 * through an IPv6 socket (`::ffff:10.1.2.3`) count as the IPv4 addresses
 * they are.
 *
 * @example Parse a list and ask about peers
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalAllowList } from "@distcache/distcache/nal";
 *
 * const allow = NalAllowList.parse("10.0.0.0/8,::1");
 * assert.equal(allow.allows("10.20.30.40"), true);
 * assert.equal(allow.allows("::ffff:10.20.30.40"), true);
 * assert.equal(allow.allows("::1"), true);
 * assert.equal(allow.allows("192.168.1.1"), false);
 * ```
 */
export class NalAllowList {
  readonly #networks: readonly Network[];
  readonly #text: string;

  /**
   * Makes a list from networks in CIDR notation.
   *
   * @param cidrs Networks such as `"192.168.0.0/16"`, `"::1/128"`, or bare
   *   addresses (`"10.0.0.7"`: that address only). Host bits past the
   *   prefix are ignored (`10.0.0.1/8` is `10.0.0.0/8`).
   * @throws {NalOptionError} for an empty list, or an entry that is not an
   *   IPv4 or IPv6 network (naming it).
   */
  constructor(cidrs: readonly string[]) {
    if (!Array.isArray(cidrs) || cidrs.length === 0) {
      throw new NalOptionError(
        "invalid allow list: no networks given (e.g. 10.0.0.0/8,::1/128)",
      );
    }
    this.#networks = cidrs.map(parseNetwork);
    this.#text = cidrs.join(",");
  }

  /**
   * Parses a comma-separated list, e.g. `"10.0.0.0/8, 192.168.1.0/24"`.
   *
   * @param text Networks separated by commas (spaces around them allowed).
   * @returns The list.
   * @throws {NalOptionError} for an empty list or a bad entry.
   */
  static parse(text: string): NalAllowList {
    if (typeof text !== "string") {
      throw new NalOptionError(
        `invalid allow list ${String(text)}: not a string`,
      );
    }
    const entries = text.trim() === ""
      ? []
      : text.split(",").map((s) => s.trim());
    return new NalAllowList(entries);
  }

  /**
   * Whether a peer may connect.
   *
   * @param address The peer's IP address as the runtime reports it
   *   (`"10.1.2.3"`, `"::1"`, `"::ffff:10.1.2.3"`, `"fe80::1%eth0"`).
   * @returns `false` also for anything that is not an IP address.
   */
  allows(address: string): boolean {
    const ip = parseIp(address);
    if (ip === null) return false;
    for (const net of this.#networks) {
      if ((ip & net.mask) === net.base) return true;
    }
    return false;
  }

  /** The networks as given, comma-separated. */
  toString(): string {
    return this.#text;
  }
}

function parseNetwork(entry: string): Network {
  if (typeof entry !== "string") {
    throw new NalOptionError(
      `invalid network ${String(entry)} in the allow list: not a string`,
    );
  }
  if (entry === "") {
    throw new NalOptionError(
      `invalid allow list: an empty entry (a comma too many?)`,
    );
  }
  const slash = entry.indexOf("/");
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const ip = parseIp(addr);
  if (ip === null || addr.includes("%")) {
    throw new NalOptionError(
      `invalid network "${entry}" in the allow list: "${addr}" is not an IPv4 or IPv6 address (e.g. 10.0.0.0/8, 2001:db8::/32)`,
    );
  }
  const v4 = !addr.includes(":");
  const most = v4 ? 32 : 128;
  let prefix = most;
  if (slash >= 0) {
    const text = entry.slice(slash + 1);
    prefix = /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
    if (!(prefix <= most)) {
      throw new NalOptionError(
        `invalid network "${entry}" in the allow list: the prefix length of an ${
          v4 ? "IPv4" : "IPv6"
        } network is 0 to ${most}`,
      );
    }
  }
  const bits = v4 ? 96 + prefix : prefix;
  const mask = bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
  return { base: ip & mask, mask };
}

// The 128-bit form of an IPv4 or IPv6 address (a zone id is dropped), or
// null for anything else.
function parseIp(text: string): bigint | null {
  if (!text.includes(":")) {
    const v4 = parseIPv4(text);
    return v4 === null ? null : MAPPED | BigInt(v4);
  }
  const zone = text.indexOf("%");
  const addr = zone < 0 ? text : text.slice(0, zone);
  if (zone === text.length - 1) return null;
  return parseIPv6(addr);
}

function parseIPv4(text: string): number | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let out = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > 255) return null;
    out = out * 256 + Number(p);
  }
  return out;
}

function parseIPv6(text: string): bigint | null {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (head === null || tail === null) return null;
  const given = head.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  const all = [...head, ...new Array(8 - given).fill(0), ...tail];
  let out = 0n;
  for (const g of all) out = (out << 16n) | BigInt(g);
  return out;
}

// The 16-bit groups of one side of "::"; a trailing dotted IPv4 address
// counts as two groups.
function groups(text: string): number[] | null {
  if (text === "") return [];
  const parts = text.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i === parts.length - 1 && p.includes(".")) {
      const v4 = parseIPv4(p);
      if (v4 === null) return null;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) {
      out.push(parseInt(p, 16));
    } else {
      return null;
    }
  }
  return out;
}
