// TLS options of a client-side link (DcCtx, DcServerLink), checked once
// when it is made, before anything connects. Internal to dc_client.

import type { NalAddress } from "../nal/address.ts";
import { NalConnection } from "../nal/connection.ts";
import { NalOptionError } from "../nal/errors.ts";
import type { NalTlsConnectOptions } from "../nal/tls_options.ts";
import { DcArgumentError } from "./errors.ts";

/**
 * Checks TLS options for `addr` (given as `target`), by the connection
 * that will use them (which makes no socket until asked to).
 *
 * @throws {DcArgumentError} for options that are not PEM, or a UNIX target.
 */
export function checkTls(
  tls: NalTlsConnectOptions | undefined,
  addr: NalAddress,
  target: string,
): void {
  if (tls === undefined) return;
  try {
    new NalConnection({ tls });
  } catch (err) {
    if (!(err instanceof NalOptionError)) throw err;
    throw new DcArgumentError(err.message);
  }
  if (addr.target().kind !== "tcp") {
    throw new DcArgumentError(
      `invalid tls for "${target}": TLS is for TCP targets (IP:, IPv4:, IPv6:); a UNIX socket is reached with file permissions`,
    );
  }
}
