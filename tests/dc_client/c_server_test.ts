// Our client against the real C dc_server, which drops a connection that
// keeps too many requests unanswered: with its default maxInFlight, one
// persistent DcCtx carries 1,000 concurrent ADDs and GETs of 1000-byte
// sessions without losing one.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { makeTempDir, matrix, removeDir, until } from "../_servers.ts";
import { cTool, cToolMissing } from "../_c_tools.ts";

const DC_SERVER = cTool("dc_server");
const SKIP = DC_SERVER === null ? cToolMissing("dc_server") : false;
if (SKIP) console.warn(`skipping the C dc_server tests: ${SKIP}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(addr: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = addr.startsWith("UNIX:")
      ? net.createConnection({ path: addr.slice(5) })
      : net.createConnection({
        host: "127.0.0.1",
        port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
      });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

describe("DcCtx against the C dc_server", { skip: SKIP }, () => {
  let tmp = "";
  const servers: Record<string, { addr: string; child: ChildProcess }> = {};
  before(async () => {
    tmp = makeTempDir();
    const port = await freePort();
    for (
      const [transport, listen, addr] of [
        [
          "UNIX",
          `UNIX:${path.join(tmp, "c.sock")}`,
          `UNIX:${path.join(tmp, "c.sock")}`,
        ],
        ["TCP", `IP:${port}`, `IP:127.0.0.1:${port}`],
      ]
    ) {
      const child = spawn(
        DC_SERVER!,
        ["-listen", listen, "-sessions", "60000"],
        {
          stdio: "ignore",
        },
      );
      servers[transport] = { addr, child };
      await until(() => canConnect(addr), 10_000, `C dc_server on ${addr}`);
    }
  });
  after(() => {
    for (const { child } of Object.values(servers)) child.kill("SIGKILL");
    removeDir(tmp);
  });

  for (const { adapter, transport, label } of matrix()) {
    it(`${label}: 1,000 concurrent 1000-byte ADDs, then GETs, through one persistent context all succeed`, async () => {
      const ctx = await DcCtx.create(
        servers[transport].addr,
        DC_CTX_FLAG_PERSISTENT,
        {
          adapter,
          timeoutMs: 30_000,
        },
      );
      try {
        const ids = Array.from({ length: 1000 }, (_, i) => `c-${label}-${i}`);
        const data = (i: number) => new Uint8Array(1000).fill(i & 0xff);
        const adds = await Promise.all(
          ids.map((id, i) => ctx.addSession(id, data(i), 600_000)),
        );
        assert.equal(adds.filter((ok) => ok).length, 1000, "ADDs stored");
        const gets = await Promise.all(ids.map((id) => ctx.get(id)));
        gets.forEach((got, i) => assert.deepEqual(got, data(i), `GET ${i}`));
        // And mixed, all at once.
        const mixed = await Promise.all(ids.flatMap((id, i) => [
          ctx.hasSession(id),
          ctx.get(id).then((got) => got !== null && got[999] === (i & 0xff)),
        ]));
        assert.equal(mixed.filter((ok) => ok).length, 2000);
      } finally {
        ctx.close();
      }
    });
  }
});
