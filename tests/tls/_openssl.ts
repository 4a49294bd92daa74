// Test helpers for TLS resumption: a throwaway certificate made with
// `openssl req`, and `openssl s_client` as the client whose "New" or
// "Reused" line says whether a server resumed the session it was given.

import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
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
