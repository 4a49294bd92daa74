// TLS resumption across a web farm with real processes: a `distcache
// server`, two HTTPS hosts (each its own process under the runtime running
// this test, both helpers on), and openssl s_client going from one host to
// the other. Under Bun and Deno it pins down what their node:tls servers
// do across hosts.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { detectRuntime } from "../../nal/mod.ts";
import { CliProcess, scriptCommand } from "../_cli.ts";
import { makeTempDir, removeDir } from "../_servers.ts";
import { carrySession, makeCert, sClient, type TestCert } from "./_tls.ts";

const RUNTIME = detectRuntime();
const NODE = RUNTIME === "node";

function startHost(
  name: string,
  cache: string,
  cert: TestCert,
): CliProcess {
  const cmd = scriptCommand(new URL("./_https_host.ts", import.meta.url), [
    "--cache",
    cache,
    "--cert",
    cert.certFile,
    "--key",
    cert.keyFile,
    "--name",
    name,
  ]);
  return new CliProcess(cmd.args, cmd.command);
}

function portOf(host: CliProcess): number {
  return Number(/listening (\d+)/.exec(host.stdout)![1]);
}

describe(`TLS resumption across two ${RUNTIME} HTTPS hosts (processes)`, () => {
  let tmp = "";
  let cert: TestCert;
  let cache: CliProcess;
  let a: CliProcess;
  let b: CliProcess;
  const procs: CliProcess[] = [];
  before(async () => {
    tmp = makeTempDir("distcache-tls-e2e-");
    cert = makeCert(tmp);
    const addr = `UNIX:${path.join(tmp, "cache.sock")}`;
    cache = new CliProcess(["server", "-listen", addr]);
    procs.push(cache);
    await cache.waitFor("listening on");
    a = startHost("A", addr, cert);
    b = startHost("B", addr, cert);
    procs.push(a, b);
    await a.waitFor(/listening \d+/, 30_000);
    await b.waitFor(/listening \d+/, 30_000);
  });
  after(() => {
    for (const p of procs) p.signal("SIGKILL");
    removeDir(tmp);
  });

  it(
    NODE
      ? "TLS 1.3: a ticket from A resumes on B (shared ticket keys)"
      : `${RUNTIME}: TLS 1.3 tickets do not resume across hosts`,
    async () => {
      if (RUNTIME === "bun") {
        assert.match(a.stdout, /tickets: unsupported: .*no setTicketKeys/);
      } else {
        assert.match(a.stdout, NODE ? /tickets: callback/ : /tickets: single/);
      }
      const hs = await carrySession({
        from: portOf(a),
        to: portOf(b),
        file: path.join(tmp, "t13.sess"),
        version: "tls1_3",
      });
      assert.equal(hs.version, "TLSv1.3");
      assert.equal(hs.outcome, NODE ? "Reused" : "New");
      assert.equal(hs.body, "hello from B");
    },
  );

  it(
    NODE
      ? "TLS 1.2 without tickets: a session from A resumes on B"
      : `${RUNTIME}: TLS 1.2 session ids do not resume across hosts`,
    async () => {
      const hs = await carrySession({
        from: portOf(a),
        to: portOf(b),
        file: path.join(tmp, "t12.sess"),
        version: "tls1_2",
        noTicket: true,
      });
      assert.equal(hs.outcome, NODE ? "Reused" : "New");
      assert.equal(hs.body, "hello from B");
    },
  );

  it("with the cache server stopped: full handshakes, both hosts serve", async () => {
    assert.ok(await cache.stop("SIGTERM"), "the cache server stopped");
    const hs = await carrySession({
      from: portOf(a),
      to: portOf(b),
      file: path.join(tmp, "down.sess"),
      version: "tls1_2",
      noTicket: true,
    });
    assert.equal(hs.outcome, "New");
    assert.equal(hs.body, "hello from B");
    const again = await sClient({ port: portOf(a), version: "tls1_3" });
    assert.equal(again.body, "hello from A");
    assert.equal(a.child.exitCode, null);
    assert.equal(b.child.exitCode, null);
  });

  it("the hosts stop cleanly on SIGTERM", async () => {
    assert.ok(await a.stop("SIGTERM"), a.stdout + a.stderr);
    assert.ok(await b.stop("SIGTERM"), b.stdout + b.stderr);
  });
});
