/**
 * TLS options of listeners and connections: what a caller gives (PEM as a
 * string or its bytes), checked and turned into what an adapter takes.
 * The TLS itself is the runtime's (`Deno.listenTls`, `Bun.listen`'s `tls`,
 * `node:tls`); nothing here touches a byte of the protocol.
 *
 * @module
 */

import { NalOptionError } from "./errors.ts";
import type { TlsConnectOptions, TlsListenOptions } from "./runtime/types.ts";

/**
 * PEM text: a string, or its bytes (a file's content as read).
 *
 * @example Text and bytes are the same PEM
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalConnection, type NalPem } from "@distcache/distcache/nal";
 *
 * const text = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
 * const bytes: NalPem = new TextEncoder().encode(text); // fs.readFileSync("ca.crt")
 * assert.ok(new NalConnection({ tls: { ca: text } }));
 * assert.ok(new NalConnection({ tls: { ca: bytes } }));
 * ```
 */
export type NalPem = string | Uint8Array;

/**
 * TLS of a listener ({@linkcode NalListenerOptions.tls}): TLS 1.2 or 1.3
 * with this certificate; with `ca`, mutual TLS. Checked when the listener
 * is made.
 *
 * @example What is not PEM is refused at once, naming the option
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalListener, NalOptionError } from "@distcache/distcache/nal";
 *
 * assert.throws(
 *   () => new NalListener({ tls: { cert: "server.crt", key: "server.key" } }),
 *   (err: Error) => err instanceof NalOptionError && /TLS cert/.test(err.message),
 * );
 * ```
 */
export interface NalTlsListenOptions {
  /**
   * The server's certificate chain (PEM): its own certificate first, then
   * any intermediates.
   */
  cert: NalPem;
  /** The certificate's private key (PEM, unencrypted). */
  key: NalPem;
  /**
   * CA certificates (PEM) that client certificates must chain to: when
   * given, a client without such a certificate is refused during the
   * handshake (mutual TLS). @default {no client certificate asked}
   */
  ca?: NalPem;
}

/**
 * TLS of a connection ({@linkcode NalConnectionOptions.tls}): TLS 1.2 or
 * 1.3, the server's certificate verified (chain and name). Checked when
 * the connection is made.
 *
 * @example A client certificate needs its key
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalConnection, NalOptionError } from "@distcache/distcache/nal";
 *
 * const cert = "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n";
 * assert.throws(
 *   () => new NalConnection({ tls: { cert } }),
 *   (err: Error) => err instanceof NalOptionError && /both cert and key/.test(err.message),
 * );
 * ```
 */
export interface NalTlsConnectOptions {
  /**
   * CA certificates (PEM) the server's certificate must chain to; only
   * these are trusted. @default {the runtime's root certificates}
   */
  ca?: NalPem;
  /** A client certificate chain (PEM), for a server that asks for one. */
  cert?: NalPem;
  /** The client certificate's private key (PEM, unencrypted). */
  key?: NalPem;
  /**
   * The name the server's certificate must be for (a DNS name or an IP
   * address), also sent as SNI when it is a DNS name. @default {the host
   * of the address connected to}
   */
  serverName?: string;
  /**
   * FOR TESTS ONLY: accept any certificate the server shows (no chain, no
   * name check). The traffic is still encrypted, but anyone on the path
   * can read and change it by showing a certificate of their own.
   * @default {false}
   */
  insecureSkipVerify?: boolean;
}

const LISTEN_KEYS = ["cert", "key", "ca"];
const CONNECT_KEYS = ["ca", "cert", "key", "serverName", "insecureSkipVerify"];

/**
 * Checks listener TLS options and gives them as an adapter takes them.
 *
 * @throws {NalOptionError} naming what is missing or not PEM.
 */
export function tlsListenConfig(options: unknown): TlsListenOptions {
  const o = objectOf(options, LISTEN_KEYS);
  const cert = pem(o.cert, "cert", "CERTIFICATE", true)!;
  const key = pem(o.key, "key", "PRIVATE KEY", true)!;
  const ca = pem(o.ca, "ca", "CERTIFICATE", false);
  return ca === undefined ? { cert, key } : { cert, key, ca };
}

/**
 * Checks connection TLS options and gives them as an adapter takes them.
 *
 * @throws {NalOptionError} naming what is wrong.
 */
export function tlsConnectConfig(options: unknown): TlsConnectOptions {
  const o = objectOf(options, CONNECT_KEYS);
  const out: {
    -readonly [K in keyof TlsConnectOptions]: TlsConnectOptions[K];
  } = {};
  const ca = pem(o.ca, "ca", "CERTIFICATE", false);
  const cert = pem(o.cert, "cert", "CERTIFICATE", false);
  const key = pem(o.key, "key", "PRIVATE KEY", false);
  if ((cert === undefined) !== (key === undefined)) {
    throw new NalOptionError(
      `invalid TLS options: a client certificate needs both cert and key (only ${
        cert === undefined ? "key" : "cert"
      } given)`,
    );
  }
  if (ca !== undefined) out.ca = ca;
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (o.serverName !== undefined) {
    if (typeof o.serverName !== "string" || o.serverName.length === 0) {
      throw new NalOptionError(
        `invalid TLS serverName ${
          describe(o.serverName)
        }: must be a non-empty host name or IP address`,
      );
    }
    out.serverName = o.serverName;
  }
  if (o.insecureSkipVerify !== undefined) {
    if (typeof o.insecureSkipVerify !== "boolean") {
      throw new NalOptionError(
        `invalid TLS insecureSkipVerify ${
          describe(o.insecureSkipVerify)
        }: must be true or false`,
      );
    }
    if (o.insecureSkipVerify) out.insecureSkipVerify = true;
  }
  return out;
}

function objectOf(
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (typeof options !== "object" || options === null) {
    throw new NalOptionError(
      `invalid TLS options ${describe(options)}: must be an object`,
    );
  }
  for (const name of Object.keys(options)) {
    if (!known.includes(name)) {
      throw new NalOptionError(
        `unknown TLS option "${name}": the options are ${known.join(", ")}`,
      );
    }
  }
  return options as Record<string, unknown>;
}

// PEM text of an option, checked for the block it must hold.
function pem(
  value: unknown,
  name: string,
  block: string,
  required: boolean,
): string | undefined {
  if (value === undefined) {
    if (!required) return undefined;
    throw new NalOptionError(
      `invalid TLS options: ${name} is required (PEM text)`,
    );
  }
  let text: string;
  if (typeof value === "string") text = value;
  else if (value instanceof Uint8Array) {
    text = new TextDecoder().decode(value);
  } else {
    throw new NalOptionError(
      `invalid TLS ${name} ${
        describe(value)
      }: must be PEM text (a string or its bytes)`,
    );
  }
  if (!new RegExp(`-----BEGIN [A-Z ]*${block}-----`).test(text)) {
    throw new NalOptionError(
      `invalid TLS ${name}: no "-----BEGIN ...${block}-----" block in it (PEM expected)`,
    );
  }
  return text;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "object") {
    return `a ${value.constructor?.name ?? "value"}`;
  }
  return `${typeof value} ${String(value)}`;
}
