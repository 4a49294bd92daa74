/**
 * The TLS and `-allow` flags of the tools: a TCP listener's (`-tls-cert`,
 * `-tls-key`, `-tls-ca`, `-allow`) and a connection's (`-tls-ca`,
 * `-tls-cert`, `-tls-key`, `-tls-server-name`; the proxy's link to its
 * server takes them as `-server-tls-*`), read into nal's options.
 *
 * @module
 */

import * as fs from "node:fs";
import {
  NalAllowList,
  NalOptionError,
  type NalTlsConnectOptions,
  type NalTlsListenOptions,
} from "@distcache/distcache/nal";
import { type FlagSpec, type FlagValues, UsageError } from "./flags.ts";

/** Flags of a TCP listener: TLS, mutual TLS, and the peers allowed. */
export const LISTEN_TLS_FLAGS: FlagSpec[] = [
  {
    name: "tls-cert",
    kind: "string",
    arg: "<file>",
    help:
      "speak TLS (1.2, 1.3) on the TCP listener with this PEM certificate chain (with -tls-key)",
  },
  {
    name: "tls-key",
    kind: "string",
    arg: "<file>",
    help: "the PEM private key of -tls-cert",
  },
  {
    name: "tls-ca",
    kind: "string",
    arg: "<file>",
    help: "mutual TLS: let in only clients with a certificate from this PEM CA",
  },
  {
    name: "allow",
    kind: "string",
    arg: "<cidr,...>",
    help:
      "let in only TCP peers from these networks, e.g. 10.0.0.0/8,fd00::/8 (default: any)",
  },
];

/**
 * Flags of a TLS connection, their names starting with `prefix` (`""` for
 * the test tool's `-tls-ca`, `"server-"` for the proxy's
 * `-server-tls-ca`).
 */
export function connectTlsFlags(prefix: string, what: string): FlagSpec[] {
  return [
    {
      name: `${prefix}tls-ca`,
      kind: "string",
      arg: "<file>",
      help:
        `connect to ${what} over TLS, trusting only this PEM CA for its certificate`,
    },
    {
      name: `${prefix}tls-cert`,
      kind: "string",
      arg: "<file>",
      help:
        `client certificate (PEM) for ${what} (with -${prefix}tls-key; TLS even without -${prefix}tls-ca, then the system's CAs are trusted)`,
    },
    {
      name: `${prefix}tls-key`,
      kind: "string",
      arg: "<file>",
      help: `the PEM private key of -${prefix}tls-cert`,
    },
    {
      name: `${prefix}tls-name`,
      kind: "string",
      arg: "<name>",
      help:
        `the name ${what}'s certificate must be for (default: the host of its address)`,
    },
  ];
}

/**
 * Reads a PEM file named by a flag, as text.
 *
 * @param warn Told when a private key is readable by every user.
 * @throws {UsageError} naming the flag and the file when it cannot be read.
 */
function readPem(
  flag: string,
  file: string,
  warn?: (text: string) => void,
): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
    if (warn !== undefined && (fs.statSync(file).mode & 0o004) !== 0) {
      warn(
        `warning: -${flag} ${file} is readable by every user of this machine (chmod 600 it)`,
      );
    }
  } catch (err) {
    throw new UsageError(
      `flag -${flag}: cannot read ${file}: ${(err as Error).message}`,
    );
  }
  if (!text.includes("-----BEGIN ")) {
    throw new UsageError(`flag -${flag}: ${file} holds no PEM block`);
  }
  return text;
}

function flagString(flags: FlagValues, name: string): string | undefined {
  return flags[name] as string | undefined;
}

// nal's checks of the PEM text, said as a flag's error.
function asUsage<T>(flag: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (err instanceof NalOptionError) {
      throw new UsageError(`flag -${flag}: ${err.message}`);
    }
    throw err;
  }
}

/**
 * The TLS of a listener from `-tls-cert`, `-tls-key`, `-tls-ca`
 * (undefined without them).
 *
 * @throws {UsageError} for one of cert and key without the other, `-tls-ca`
 *   alone, a file that cannot be read or holds no PEM.
 */
export function listenTlsOf(
  flags: FlagValues,
  warn: (text: string) => void,
): NalTlsListenOptions | undefined {
  const cert = flagString(flags, "tls-cert");
  const key = flagString(flags, "tls-key");
  const ca = flagString(flags, "tls-ca");
  if (cert === undefined && key === undefined && ca === undefined) {
    return undefined;
  }
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      `flag ${cert === undefined ? "-tls-key" : "-tls-cert"} needs ${
        cert === undefined ? "-tls-cert" : "-tls-key"
      } too${ca !== undefined ? " (and -tls-ca needs both)" : ""}`,
    );
  }
  const options: NalTlsListenOptions = {
    cert: readPem("tls-cert", cert),
    key: readPem("tls-key", key, warn),
  };
  if (ca !== undefined) options.ca = readPem("tls-ca", ca);
  return options;
}

/**
 * The allow list of `-allow` (undefined without it).
 *
 * @throws {UsageError} for a bad network, naming it.
 */
export function allowOf(flags: FlagValues): NalAllowList | undefined {
  const text = flagString(flags, "allow");
  return text === undefined
    ? undefined
    : asUsage("allow", () => NalAllowList.parse(text));
}

/**
 * The TLS of a connection from `-<prefix>tls-*` (undefined without any).
 *
 * @throws {UsageError} for a certificate without its key (or the other way
 *   round), a file that cannot be read or holds no PEM.
 */
export function connectTlsOf(
  flags: FlagValues,
  prefix: string,
  warn: (text: string) => void,
): NalTlsConnectOptions | undefined {
  const name = (flag: string) => `${prefix}tls-${flag}`;
  const ca = flagString(flags, name("ca"));
  const cert = flagString(flags, name("cert"));
  const key = flagString(flags, name("key"));
  const serverName = flagString(flags, name("name"));
  if (
    ca === undefined && cert === undefined && key === undefined &&
    serverName === undefined
  ) return undefined;
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError(
      cert === undefined
        ? `flag -${name("key")} needs -${name("cert")} too`
        : `flag -${name("cert")} needs -${name("key")} too`,
    );
  }
  const options: NalTlsConnectOptions = {};
  if (ca !== undefined) options.ca = readPem(name("ca"), ca);
  if (cert !== undefined) options.cert = readPem(name("cert"), cert);
  if (key !== undefined) options.key = readPem(name("key"), key, warn);
  if (serverName !== undefined) options.serverName = serverName;
  return options;
}

/**
 * The log of peers refused by `-allow`: one line a second at most.
 *
 * @param print Where the line goes (nothing when quiet).
 */
export function deniedLog(
  listener: () => string,
  print: ((text: string) => void) | undefined,
): (count: number, address: string) => void {
  return (count, address) =>
    print?.(
      `refused ${count} connection${
        count === 1 ? "" : "s"
      } to ${listener()} from outside -allow (the last from ${address})`,
    );
}

/**
 * What the banner says of TLS and -allow: `" over TLS (client certificates
 * from -tls-ca), allowing 10.0.0.0/8"`, or nothing.
 */
export function tlsNote(
  tls: boolean,
  mutual: boolean,
  allow: { toString(): string } | undefined,
): string {
  return `${
    tls ? ` over TLS${mutual ? " (client certificates from -tls-ca)" : ""}` : ""
  }${allow === undefined ? "" : `, allowing ${allow}`}`;
}
