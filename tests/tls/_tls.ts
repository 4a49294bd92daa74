// Test helpers for TLS resumption: a throwaway certificate made with
// `openssl req`, `openssl s_client` as the client whose "New" or "Reused"
// line says whether a server resumed the session it was given, and HTTPS
// servers to resume on.

import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";

/** A self-signed certificate and its key, as PEM text. */
export interface TestCert {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

/** Makes a P-256 certificate for localhost in `dir` with `openssl req`. */
export function makeCert(dir: string): TestCert {
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyFile,
    "-out",
    certFile,
    "-days",
    "1",
    "-subj",
    "/CN=localhost",
  ], { stdio: "pipe" });
  return {
    key: fs.readFileSync(keyFile, "utf8"),
    cert: fs.readFileSync(certFile, "utf8"),
    keyFile,
    certFile,
  };
}

/** What one `openssl s_client` run saw. */
export interface Handshake {
  /** "New" (full handshake) or "Reused" (resumed). */
  outcome: "New" | "Reused";
  /** "TLSv1.2" or "TLSv1.3". */
  version: string;
  /** The HTTP body the server sent back. */
  body: string;
}

/**
 * Connects with `openssl s_client`, sends one HTTP/1.0 request (so that
 * the client stays until the server has sent its tickets and answer), and
 * says whether the session was resumed.
 */
export function sClient(opts: {
  port: number;
  version: "tls1_2" | "tls1_3";
  noTicket?: boolean;
  sessIn?: string;
  sessOut?: string;
  timeoutMs?: number;
}): Promise<Handshake> {
  const args = [
    "s_client",
    "-connect",
    `127.0.0.1:${opts.port}`,
    `-${opts.version}`,
    "-servername",
    "localhost",
    // Read on after our request is sent: the tickets and the answer.
    "-ign_eof",
  ];
  if (opts.noTicket) args.push("-no_ticket");
  if (opts.sessIn) args.push("-sess_in", opts.sessIn);
  if (opts.sessOut) args.push("-sess_out", opts.sessOut);
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`openssl s_client timed out: ${out}`));
    }, opts.timeoutMs ?? 15_000);
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
    });
    child.stderr!.on("data", () => {});
    child.stdin!.on("error", () => {});
    child.stdin!.end("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    child.on("close", () => {
      clearTimeout(timer);
      const m = /^(New|Reused), (TLSv[\d.]+)/m.exec(out);
      if (m === null) {
        reject(new Error(`no handshake line from openssl s_client: ${out}`));
        return;
      }
      const body = out.slice(out.indexOf("\r\n\r\n") + 4).split("\n")[0] ?? "";
      resolve({ outcome: m[1] as "New" | "Reused", version: m[2], body });
    });
  });
}

/**
 * Makes a session on the server at `from` and brings it to the one at
 * `to`: the second handshake (the first must be a full one).
 */
export async function carrySession(opts: {
  from: number;
  to: number;
  file: string;
  version: "tls1_2" | "tls1_3";
  noTicket?: boolean;
}): Promise<Handshake> {
  const { version, noTicket } = opts;
  const first = await sClient({
    port: opts.from,
    version,
    noTicket,
    sessOut: opts.file,
  });
  if (first.outcome !== "New") {
    throw new Error(`the first handshake was ${first.outcome}, not New`);
  }
  return await sClient({ port: opts.to, version, noTicket, sessIn: opts.file });
}

/** An HTTPS server on a loopback port answering "hello". */
export function startHttps(
  cert: TestCert,
  extra: https.ServerOptions = {},
): Promise<{ server: https.Server; port: number }> {
  const server = https.createServer({
    key: cert.key,
    cert: cert.cert,
    // Every host of a farm needs the same one (Node's default comes from
    // the command line).
    sessionIdContext: "distcache-tests",
    ...extra,
  }, (_req, res) => res.end("hello\n"));
  return new Promise((resolve) =>
    server.listen(
      0,
      "127.0.0.1",
      () => resolve({ server, port: (server.address() as AddressInfo).port }),
    )
  );
}

/** Stops a server from {@linkcode startHttps}, dropping its connections. */
export function stopHttps(server: https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}
