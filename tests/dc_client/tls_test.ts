// TLS between DcCtx and a server, over every socket adapter: the handshake
// and traffic, mutual TLS refusing clients without the right certificate,
// the client refusing a server certificate that does not verify, and a
// plaintext client dropped alone.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import {
  DC_CTX_FLAG_PERSISTENT,
  DcArgumentError,
  DcConnectError,
  DcCtx,
} from "../../dc_client/mod.ts";
import { serve, type ServeOptions, type Server } from "../../dc_server/mod.ts";
import { availableAdapters, type NalTlsConnectOptions } from "../../nal/mod.ts";
import { makePki, type Pki } from "../_certs.ts";
import { makeTempDir, removeDir } from "../_servers.ts";

const td = new TextDecoder();
const P = DC_CTX_FLAG_PERSISTENT;

let dir = "";
let pki: Pki;
before(() => {
  dir = makeTempDir("distcache-tls-");
  pki = makePki(dir);
});
after(() => removeDir(dir));

function portOf(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(":") + 1));
}

// A raw node:tls client: resolves with the protocol it agreed, or rejects
// with the handshake's error.
function handshake(
  port: number,
  options: tls.ConnectionOptions,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca: pki.ca, ...options });
    s.once("secureConnect", () => {
      const version = s.getProtocol() ?? "";
      s.destroy();
      resolve(version);
    });
    s.once("error", (err) => {
      s.destroy();
      reject(err);
    });
  });
}

for (const adapter of availableAdapters()) {
  describe(`TLS links (${adapter.name})`, () => {
    const servers: Server[] = [];
    after(async () => {
      for (const s of servers) await s.close();
    });
    async function start(options: Partial<ServeOptions> = {}): Promise<Server> {
      const s = await serve({
        adapter,
        listen: "IP:127.0.0.1:0",
        tls: { cert: pki.server.cert, key: pki.server.key },
        ...options,
      });
      servers.push(s);
      return s;
    }
    async function roundTrip(
      server: Server,
      tlsOptions: NalTlsConnectOptions,
      id: string,
    ): Promise<void> {
      const ctx = await DcCtx.create(server.addr, P, {
        adapter,
        tls: tlsOptions,
        timeoutMs: 10_000,
      });
      try {
        assert.equal(await ctx.addSession(id, `data of ${id}`, 60_000), true);
        const got = await ctx.get(id);
        assert.equal(got === null ? null : td.decode(got), `data of ${id}`);
      } finally {
        ctx.close();
      }
    }

    it("a TLS listener serves a DcCtx that verifies its certificate", async () => {
      const server = await start();
      await roundTrip(server, { ca: pki.ca }, "verified");
      // The name checked may be given: the certificate is for localhost too.
      await roundTrip(server, { ca: pki.ca, serverName: "localhost" }, "named");
      assert.equal(server.stats().items, 2);
    });

    it("a TLS listener speaks TLS 1.2 and TLS 1.3", async () => {
      const server = await start();
      const port = portOf(server.addr);
      assert.equal(
        await handshake(port, {
          minVersion: "TLSv1.2",
          maxVersion: "TLSv1.2",
        }),
        "TLSv1.2",
      );
      assert.equal(
        await handshake(port, {
          minVersion: "TLSv1.3",
          maxVersion: "TLSv1.3",
        }),
        "TLSv1.3",
      );
    });

    it("a client refuses a server certificate that does not verify, unless told to skip it", async () => {
      const server = await start();
      // Another CA: the chain does not verify.
      await assert.rejects(
        DcCtx.create(server.addr, P, { adapter, tls: { ca: pki.otherCa } }),
        DcConnectError,
      );
      // The right CA, the wrong name.
      await assert.rejects(
        DcCtx.create(server.addr, P, {
          adapter,
          tls: { ca: pki.ca, serverName: "elsewhere.test" },
        }),
        DcConnectError,
      );
      const misnamed = await start({
        tls: { cert: pki.wrongName.cert, key: pki.wrongName.key },
      });
      await assert.rejects(
        DcCtx.create(misnamed.addr, P, { adapter, tls: { ca: pki.ca } }),
        DcConnectError,
      );
      await roundTrip(misnamed, { insecureSkipVerify: true }, "unverified");
      assert.equal(server.stats().items, 0);
      // Clients that gave up on the handshake do not keep a server from
      // closing.
      await server.close();
      await misnamed.close();
    });

    it("with a CA (mutual TLS) only a client holding a certificate from it gets in", async () => {
      const server = await start({
        tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca },
      });
      await roundTrip(server, {
        ca: pki.ca,
        cert: pki.client.cert,
        key: pki.client.key,
      }, "mutual");
      for (
        const refused of [
          { ca: pki.ca },
          { ca: pki.ca, cert: pki.wrongClient.cert, key: pki.wrongClient.key },
        ]
      ) {
        // TLS 1.3 finishes the client's side before the server has judged
        // its certificate: the refusal may come as the connection closing.
        let ctx: DcCtx | null = null;
        try {
          ctx = await DcCtx.create(server.addr, P, {
            adapter,
            tls: refused,
            timeoutMs: 5000,
          });
          assert.equal(
            await ctx.addSession("intruder", "x".repeat(8), 1000),
            false,
          );
        } catch (err) {
          assert.ok(err instanceof DcConnectError, String(err));
        } finally {
          ctx?.close();
        }
      }
      assert.equal(server.stats().items, 1);
    });

    it("a plaintext client on a TLS listener is dropped, and a TLS client beside it is served", async () => {
      const server = await start();
      const ctx = await DcCtx.create(server.addr, P, {
        adapter,
        tls: { ca: pki.ca },
      });
      try {
        assert.equal(await ctx.addSession("before", "12345678", 60_000), true);
        // A plaintext request: the server must neither answer nor hang on.
        const plain = net.connect({
          host: "127.0.0.1",
          port: portOf(server.addr),
        });
        const closed = new Promise<string>((resolve) => {
          let got = "";
          plain.on("data", (d) => got += d.toString("latin1"));
          plain.on("error", () => {});
          plain.on("close", () => resolve(got));
        });
        plain.write(new Uint8Array(64).fill(0x41));
        const seen = await closed;
        assert.doesNotMatch(seen, /AAAA/);
        assert.equal(await ctx.addSession("after", "12345678", 60_000), true);
        assert.equal(td.decode((await ctx.get("before"))!), "12345678");
      } finally {
        ctx.close();
      }
    });
  });
}

describe("TLS options of DcCtx", () => {
  it("are refused before anything is sent when they are not PEM, or the target is UNIX", async () => {
    await assert.rejects(
      DcCtx.create("IP:127.0.0.1:1", P, { tls: { ca: "not a certificate" } }),
      (err: Error) =>
        err instanceof DcArgumentError && /TLS ca/.test(err.message),
    );
    await assert.rejects(
      DcCtx.create("IP:127.0.0.1:1", P, {
        tls: { cert: pki.client.cert },
      }),
      (err: Error) =>
        err instanceof DcArgumentError && /both cert and key/.test(err.message),
    );
    await assert.rejects(
      DcCtx.create("UNIX:/nonexistent/sock", P, { tls: { ca: pki.ca } }),
      (err: Error) =>
        err instanceof DcArgumentError && /TLS is for TCP/.test(err.message),
    );
  });
});
