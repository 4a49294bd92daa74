// TLS and -allow as an operator meets them, in real processes: `server`
// and `snoop` with -tls-cert/-tls-key (and -tls-ca for mutual TLS), the
// test tool connecting with -tls-ca (and a client certificate), and
// -allow refusing peers outside its networks, counted in a log line.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CliSandbox, listenAddr, runCli } from "../_cli.ts";
import { makePki, type Pki } from "../_certs.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";

// A short test-tool run against `addr`; resolves with its result.
function dctest(addr: string, extra: string[]) {
  return runCli([
    "test",
    "-connect",
    addr,
    "-sessions",
    "5",
    "-ops",
    "200",
    "-persistent",
    ...extra,
  ]);
}

describe("TLS and -allow (CLI)", () => {
  const box = new CliSandbox("distcache-cli-tls-");
  let pki: Pki;
  const tlsListen = () => [
    "-tls-cert",
    pki.server.certFile,
    "-tls-key",
    pki.server.keyFile,
  ];
  // A server letting in only client certificates from the test CA.
  const mutualServer = () =>
    box.start([
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      ...tlsListen(),
      "-tls-ca",
      pki.caFile,
    ]);

  it("server -tls-cert/-tls-key: the test tool connects with -tls-ca, and without it is refused", async () => {
    pki = makePki(box.dir);
    const server = await box.start([
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      ...tlsListen(),
    ]);
    assert.match(server.stdout, /listening on IP:127\.0\.0\.1:\d+ over TLS/);
    const addr = listenAddr(server);
    const ok = await dctest(addr, ["-tls-ca", pki.caFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /200 operations .* over TLS\)/);
    // Plaintext to a TLS listener: no answer, the tool fails.
    const plain = await dctest(addr, []);
    assert.notEqual(plain.code, 0);
    // Another CA: the server's certificate does not verify.
    const wrongCa = await dctest(addr, ["-tls-ca", pki.otherCaFile]);
    assert.notEqual(wrongCa.code, 0);
    assert.match(wrongCa.stderr, /cannot connect to "IP:127\.0\.0\.1:\d+"/);
    // And the server still serves a good client after those.
    const again = await dctest(addr, ["-tls-ca", pki.caFile]);
    assert.equal(again.code, 0, again.stderr);
    // (Stopping cleanly: node:tls once kept waiting for the client that
    // did not trust the certificate.)
    assert.ok(await server.stop(), server.stderr);
  });

  it("server -tls-ca: only a client certificate from that CA gets in", async () => {
    const server = await mutualServer();
    assert.match(
      server.stdout,
      /over TLS \(client certificates from -tls-ca\)/,
    );
    const addr = listenAddr(server);
    const ok = await dctest(addr, [
      "-tls-ca",
      pki.caFile,
      "-tls-cert",
      pki.client.certFile,
      "-tls-key",
      pki.client.keyFile,
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const none = await dctest(addr, ["-tls-ca", pki.caFile]);
    assert.notEqual(none.code, 0);
    const wrong = await dctest(addr, [
      "-tls-ca",
      pki.caFile,
      "-tls-cert",
      pki.wrongClient.certFile,
      "-tls-key",
      pki.wrongClient.keyFile,
    ]);
    assert.notEqual(wrong.code, 0);
    assert.ok(await server.stop(), server.stderr);
  });

  it("-allow: a peer outside the networks is refused and the refusal logged; one inside is served", async () => {
    const refusing = await box.start([
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      "-allow",
      "10.0.0.0/8,::1",
    ]);
    assert.match(refusing.stdout, /allowing 10\.0\.0\.0\/8,::1/);
    const refused = await dctest(listenAddr(refusing), []);
    assert.notEqual(refused.code, 0);
    await refusing.waitFor(
      /refused 1 connection to IP:127\.0\.0\.1:\d+ from outside -allow \(the last from (::ffff:)?127\.0\.0\.1\)/,
    );
    assert.ok(await refusing.stop(), refusing.stderr);
    const admitting = await box.start([
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      "-allow",
      "10.0.0.0/8, 127.0.0.1",
    ]);
    const served = await dctest(listenAddr(admitting), []);
    assert.equal(served.code, 0, served.stderr);
    assert.doesNotMatch(admitting.stderr, /refused/);
    assert.ok(await admitting.stop(), admitting.stderr);
  });

  it("client -server-tls-*: the proxy reaches a mutual-TLS server, its apps unchanged on a UNIX socket", async () => {
    const server = await mutualServer();
    const proxy = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "scache")}`,
      "-server",
      listenAddr(server),
      "-server-tls-ca",
      pki.caFile,
      "-server-tls-cert",
      pki.client.certFile,
      "-server-tls-key",
      pki.client.keyFile,
    ]);
    assert.match(proxy.stdout, /server IP:127\.0\.0\.1:\d+ over TLS/);
    const ok = await dctest(listenAddr(proxy), []);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(await proxy.stop(), proxy.stderr);
    // Without a client certificate the server turns the proxy away: the
    // proxy says so, and answers its apps "disconnected" meanwhile.
    const refused = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "scache2")}`,
      "-server",
      listenAddr(server),
      "-server-tls-ca",
      pki.caFile,
    ]);
    await refused.waitFor(/lost the server IP:127\.0\.0\.1:\d+: /);
    const down = await dctest(listenAddr(refused), []);
    assert.notEqual(down.code, 0);
    assert.ok(await refused.stop(), refused.stderr);
    assert.ok(await server.stop(), server.stderr);
  });

  it(
    "client -store: its listener over TLS with -allow, straight on Redis; -server-tls-* refused with -store",
    {
      skip: REDIS_MISSING,
    },
    async () => {
      const redis = await StandaloneRedis.start();
      try {
        const proxy = await box.start([
          "client",
          "-listen",
          "IP:127.0.0.1:0",
          ...tlsListen(),
          "-allow",
          "127.0.0.1",
          "-store",
          redis.url,
        ]);
        assert.match(proxy.stdout, /over TLS, allowing 127\.0\.0\.1 \(store: /);
        const ok = await dctest(listenAddr(proxy), ["-tls-ca", pki.caFile]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.ok(await proxy.stop(), proxy.stderr);
        const refused = await runCli([
          "client",
          "-store",
          redis.url,
          "-server-tls-ca",
          pki.caFile,
        ]);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          /flag -server-tls-ca is for TLS to a -server/,
        );
      } finally {
        await redis.stop();
      }
    },
  );

  it("snoop -tls-cert/-tls-key: TLS clients relayed to a plain server, each command printed", async () => {
    const server = await box.start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "plain.sock")}`,
    ]);
    const snoop = await box.start([
      "snoop",
      "-listen",
      "IP:127.0.0.1:0",
      ...tlsListen(),
      "-allow",
      "127.0.0.0/8",
      "-server",
      listenAddr(server),
    ]);
    assert.match(snoop.stdout, /over TLS, allowing 127\.0\.0\.0\/8, relaying/);
    const ok = await dctest(listenAddr(snoop), ["-tls-ca", pki.caFile]);
    assert.equal(ok.code, 0, ok.stderr);
    await snoop.waitFor(/#1 c->s request {2}uid \d+ ADD/);
    assert.ok(await snoop.stop(), snoop.stderr);
    assert.ok(await server.stop(), server.stderr);
  });

  it("bad TLS and -allow flags are refused with a line naming the flag", async () => {
    const garbage = path.join(box.dir, "garbage.pem");
    fs.writeFileSync(garbage, "not a certificate\n");
    for (
      const [args, message] of [
        [["-tls-cert", pki.server.certFile], /-tls-cert needs -tls-key/],
        [["-tls-ca", pki.caFile], /-tls-key needs -tls-cert/],
        [
          ["-tls-cert", garbage, "-tls-key", pki.server.keyFile],
          /flag -tls-cert: .*garbage\.pem holds no PEM block/,
        ],
        [
          ["-tls-cert", path.join(box.dir, "missing.pem"), "-tls-key", "x"],
          /flag -tls-cert: cannot read .*missing\.pem/,
        ],
        [["-allow", "10.0.0.0/33"], /flag -allow: .*"10\.0\.0\.0\/33"/],
        [["-allow", "cachehost"], /flag -allow: .*"cachehost" is not an IPv4/],
      ] as const
    ) {
      const res = await runCli([
        "server",
        "-listen",
        "IP:127.0.0.1:0",
        ...args,
      ]);
      assert.notEqual(res.code, 0, args.join(" "));
      assert.match(res.stderr, message);
    }
    // A private key every user may read: served, with a warning. (The
    // temporary directory itself is private to the test's user.)
    const loose = path.join(box.dir, "loose.key");
    fs.copyFileSync(pki.server.keyFile, loose);
    fs.chmodSync(loose, 0o644);
    const warned = await box.start([
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      "-tls-cert",
      pki.server.certFile,
      "-tls-key",
      loose,
    ]);
    assert.match(
      warned.stderr,
      /warning: -tls-key .*loose\.key is readable by every user of this machine \(chmod 600 it\)/,
    );
    assert.ok(await warned.stop(), warned.stderr);
    // TLS on a UNIX socket: said plainly.
    const unix = await runCli([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "tls.sock")}`,
      ...tlsListen(),
    ]);
    assert.notEqual(unix.code, 0);
    assert.match(unix.stderr, /TLS is for TCP addresses/);
  });
});
