// Every request stream captured from the C tools, replayed against our
// server: the answers must be the C server's bytes, and where the C server
// dropped the connection, ours must drop it too (and only it).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { serve, type Server } from "../../dc_server/mod.ts";
import { fromHex } from "../../nal/_util.ts";
import { hex, RawClient } from "../_wire.ts";
import { listenAddress, makeTempDir, matrix, removeDir } from "../_servers.ts";

interface Vector {
  case: string;
  exchanges: { dir: "c2s" | "s2c"; hex: string }[];
  server_closed: boolean;
}

const dir = fileURLToPath(new URL("../fixtures/golden/", import.meta.url));
const all: Vector[] = fs.readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(fs.readFileSync(dir + f, "utf8")));

// The captures share one server's state: replay in the order that builds it
// (add_ok stores the session that get_hit, have_yes and remove_yes find;
// pipelined leaves "p2" for patch_level_accepted and uid_echo).
const FIRST = [
  "add_ok",
  "add_duplicate",
  "get_hit",
  "have_yes",
  "remove_yes",
  "remove_no",
  "pipelined",
  "patch_level_accepted",
  "uid_echo",
];
const serverVectors = all.filter((v) => !v.case.startsWith("proxy_"));
const ordered = [
  ...FIRST.map((name) => serverVectors.find((v) => v.case === name)!),
  ...serverVectors.filter((v) => !FIRST.includes(v.case)).sort((a, b) =>
    a.case.localeCompare(b.case)
  ),
];

describe("golden vectors replayed against our server", () => {
  it("covers every server vector of the capture", () => {
    assert.equal(ordered.length, serverVectors.length);
    assert.ok(
      ordered.length >= 30,
      `only ${ordered.length} vectors found in ${dir}`,
    );
  });

  for (const { adapter, transport, label } of matrix()) {
    describe(label, () => {
      let tmp = "";
      let server: Server;
      before(async () => {
        tmp = makeTempDir();
        server = await serve({
          listen: listenAddress(transport, tmp),
          adapter,
          sessions: 1000,
        });
      });
      after(async () => {
        await server.close();
        removeDir(tmp);
      });

      for (const vector of ordered) {
        it(`${vector.case}: same answer bytes as the C server`, async () => {
          const client = await RawClient.connect(server.addr);
          try {
            for (const ex of vector.exchanges) {
              const bytes = fromHex(ex.hex);
              if (ex.dir === "c2s") {
                client.send(bytes);
              } else {
                assert.equal(hex(await client.read(bytes.length)), ex.hex);
              }
            }
            if (vector.server_closed) {
              assert.ok(
                await client.waitClosed(),
                "the server should drop this connection",
              );
              assert.equal(client.buffered, 0, "and send nothing on it");
            }
          } finally {
            client.close();
          }
          // Whatever that client did, the server still serves others.
          const other = await RawClient.connect(server.addr);
          try {
            other.send(fromHex("0011000000000000070003010002" + "7a7a"));
            assert.equal(
              hex(await other.read(15)),
              "001100000100000007000301000101",
            );
          } finally {
            other.close();
          }
        });
      }
    });
  }
});
