// The protocol version of a serialised OpenSSL session (what Node's
// 'newSession' hands over: i2d_SSL_SESSION), read from its DER without a
// full parser: SEQUENCE { INTEGER version(1), INTEGER ssl_version, ... }.

/** TLS 1.3's version number in a session. */
export const TLS1_3_VERSION = 0x0304;

/**
 * The `ssl_version` of a DER-encoded SSL_SESSION (0x0303 for TLS 1.2,
 * 0x0304 for TLS 1.3), or null when the bytes do not start like one.
 */
export function sessionVersion(der: Uint8Array): number | null {
  let at = 0;
  // One DER header: tag, then a short or long form length.
  const header = (tag: number): number | null => {
    if (der[at] !== tag) return null;
    at++;
    const first = der[at++];
    if (first === undefined) return null;
    if (first < 0x80) return first;
    const n = first & 0x7f;
    if (n === 0 || n > 3) return null;
    let len = 0;
    for (let i = 0; i < n; i++) {
      const b = der[at++];
      if (b === undefined) return null;
      len = len * 256 + b;
    }
    return len;
  };
  const integer = (): number | null => {
    const len = header(0x02);
    if (len === null || len < 1 || len > 4 || at + len > der.length) {
      return null;
    }
    let v = 0;
    for (let i = 0; i < len; i++) v = v * 256 + der[at++];
    return v;
  };
  if (header(0x30) === null) return null;
  if (integer() !== 1) return null;
  return integer();
}
