// Test helpers for TLS links: a small PKI made with `openssl` in a test's
// temporary directory (a CA, a server certificate for 127.0.0.1, ::1 and
// localhost, a client certificate, and a second CA with a client
// certificate of its own that the first CA does not vouch for). Keys are
// written 0600 and never leave the directory.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A certificate and its key: files in the temp dir, and their PEM text. */
export interface CertPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** What {@linkcode makePki} made. */
export interface Pki {
  dir: string;
  /** The CA everything below is signed by (its cert only, as PEM). */
  caFile: string;
  ca: string;
  /** Server certificate for 127.0.0.1, ::1 and localhost. */
  server: CertPair;
  /** Client certificate from the CA. */
  client: CertPair;
  /** A second, unrelated CA. */
  otherCaFile: string;
  otherCa: string;
  /** Client certificate from the second CA (the wrong one). */
  wrongClient: CertPair;
  /** Server certificate from the CA for the name "elsewhere.test" only. */
  wrongName: CertPair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "pipe" });
}

function newKey(dir: string, name: string): string {
  const file = path.join(dir, `${name}.key`);
  openssl([
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    file,
  ], dir);
  fs.chmodSync(file, 0o600);
  return file;
}

function newCa(
  dir: string,
  name: string,
): { certFile: string; keyFile: string } {
  const keyFile = newKey(dir, name);
  const certFile = path.join(dir, `${name}.crt`);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    keyFile,
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${name} test CA`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  return { certFile, keyFile };
}

function issue(
  dir: string,
  ca: { certFile: string; keyFile: string },
  name: string,
  ext: string,
): CertPair {
  const keyFile = newKey(dir, name);
  const csr = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  const certFile = path.join(dir, `${name}.crt`);
  openssl(
    ["req", "-new", "-key", keyFile, "-out", csr, "-subj", `/CN=${name}`],
    dir,
  );
  fs.writeFileSync(extFile, ext);
  openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-CAcreateserial",
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    extFile,
  ], dir);
  return {
    certFile,
    keyFile,
    cert: fs.readFileSync(certFile, "utf8"),
    key: fs.readFileSync(keyFile, "utf8"),
  };
}

const SERVER_EXT = "basicConstraints=CA:FALSE\n" +
  "keyUsage=digitalSignature\n" +
  "extendedKeyUsage=serverAuth\n" +
  "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n";
const CLIENT_EXT = "basicConstraints=CA:FALSE\n" +
  "keyUsage=digitalSignature\n" +
  "extendedKeyUsage=clientAuth\n";

/** Makes the test PKI in `dir` (a fresh temporary directory). */
export function makePki(dir: string): Pki {
  const ca = newCa(dir, "ca");
  const other = newCa(dir, "other-ca");
  return {
    dir,
    caFile: ca.certFile,
    ca: fs.readFileSync(ca.certFile, "utf8"),
    server: issue(dir, ca, "server", SERVER_EXT),
    client: issue(dir, ca, "client", CLIENT_EXT),
    otherCaFile: other.certFile,
    otherCa: fs.readFileSync(other.certFile, "utf8"),
    wrongClient: issue(dir, other, "wrong-client", CLIENT_EXT),
    wrongName: issue(
      dir,
      ca,
      "wrong-name",
      SERVER_EXT.replace(
        /subjectAltName=.*/,
        "subjectAltName=DNS:elsewhere.test",
      ),
    ),
  };
}
