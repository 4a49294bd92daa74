// NalHttpServer and nalHttpGet over each HTTP implementation of the
// runtime (its own and node:http), on TCP and UNIX addresses: requests
// reach the handler with their path, answers come back whole, UNIX socket
// files are handled as socket listeners handle theirs.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
  availableHttpAdapters,
  NalAddressError,
  nalHttpGet,
  NalHttpServer,
  NalSocketError,
} from "../../nal/mod.ts";
import { makeTempDir, removeDir, TRANSPORTS } from "../_servers.ts";

const echo = (req: { method: string; path: string }) => ({
  status: req.path === "/missing" ? 404 : 200,
  contentType: "text/plain; charset=utf-8",
  body: `${req.method} ${req.path} ✓\n`,
  headers: { "x-test": "yes" },
});

describe("NalHttpServer", () => {
  let tmp = "";
  before(() => {
    tmp = makeTempDir("distcache-http-");
  });
  after(() => removeDir(tmp));

  for (const server of availableHttpAdapters()) {
    for (const client of availableHttpAdapters()) {
      for (const transport of TRANSPORTS) {
        it(`${server.name} server, ${client.name} client, ${transport}`, async () => {
          const listen = transport === "UNIX"
            ? `UNIX:${path.join(tmp, `${server.name}-${client.name}.sock`)}`
            : "IP:127.0.0.1:0";
          const http = await NalHttpServer.listen(listen, echo, {
            adapter: server,
          });
          try {
            if (transport === "TCP") {
              assert.match(http.addr, /^IP:127\.0\.0\.1:[1-9][0-9]*$/);
            } else assert.equal(http.addr, listen);
            const ok = await nalHttpGet(http.addr, "/metrics?x=1", {
              adapter: client,
            });
            assert.deepEqual(ok, {
              status: 200,
              contentType: "text/plain; charset=utf-8",
              body: "GET /metrics ✓\n",
            });
            const missing = await nalHttpGet(http.addr, "/missing", {
              adapter: client,
            });
            assert.equal(missing.status, 404);
          } finally {
            await http.close();
          }
          if (transport === "UNIX") {
            assert.equal(
              fs.existsSync(listen.slice(5)),
              false,
              "socket removed",
            );
          }
        });
      }
    }

    it(`${server.name}: a failing handler answers 500 and the server keeps serving`, async () => {
      let calls = 0;
      const http = await NalHttpServer.listen("IP:127.0.0.1:0", () => {
        if (calls++ === 0) throw new Error("boom");
        return { status: 200, contentType: "text/plain", body: "fine" };
      }, { adapter: server });
      try {
        assert.equal((await nalHttpGet(http.addr, "/")).status, 500);
        assert.equal((await nalHttpGet(http.addr, "/")).body, "fine");
      } finally {
        await http.close();
      }
    });
  }

  it("a real fetch() reads it, and the headers given are sent", async () => {
    const http = await NalHttpServer.listen("IP:127.0.0.1:0", echo);
    try {
      const res = await fetch(`http://${http.addr.slice(3)}/a/b`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-test"), "yes");
      assert.equal(await res.text(), "GET /a/b ✓\n");
    } finally {
      await http.close();
    }
  });

  it("replaces a stale socket file, refuses a live one and a regular file", async () => {
    const stale = path.join(tmp, "stale.sock");
    // A socket file left behind by a process that died: node:net removes
    // its file at close, so the file is moved away from it first.
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(stale + ".tmp", r));
    fs.renameSync(stale + ".tmp", stale);
    await new Promise<void>((r) => holder.close(() => r()));
    assert.ok(fs.lstatSync(stale).isSocket(), "a stale socket file is there");
    const http = await NalHttpServer.listen(`UNIX:${stale}`, echo);
    try {
      assert.equal((await nalHttpGet(http.addr, "/x")).status, 200);
      await assert.rejects(
        NalHttpServer.listen(`UNIX:${stale}`, echo),
        (err) =>
          err instanceof NalSocketError && err.code === "ERR_ADDRESS_IN_USE" &&
          /live server/.test(err.message),
      );
      assert.equal(
        (await nalHttpGet(http.addr, "/x")).status,
        200,
        "untouched",
      );
    } finally {
      await http.close();
    }
    const file = path.join(tmp, "regular");
    fs.writeFileSync(file, "keep me");
    await assert.rejects(
      NalHttpServer.listen(`UNIX:${file}`, echo),
      (err) =>
        err instanceof NalSocketError && /not a socket/.test(err.message),
    );
    assert.equal(fs.readFileSync(file, "utf8"), "keep me");
  });

  it("a port in use is ERR_ADDRESS_IN_USE; a listen-only or dead address fails clearly", async () => {
    const http = await NalHttpServer.listen("IP:127.0.0.1:0", echo);
    try {
      await assert.rejects(
        NalHttpServer.listen(http.addr, echo),
        (err) =>
          err instanceof NalSocketError && err.code === "ERR_ADDRESS_IN_USE",
      );
    } finally {
      await http.close();
    }
    await assert.rejects(
      nalHttpGet("IP:9101", "/stats"),
      (err) =>
        err instanceof NalAddressError && /listen-only/.test(err.message),
    );
    await assert.rejects(
      nalHttpGet(`UNIX:${path.join(tmp, "nobody.sock")}`, "/stats"),
      (err) =>
        err instanceof NalSocketError && err.code === "ERR_CONNECT" &&
        err.message.includes("nobody.sock"),
    );
  });
});
