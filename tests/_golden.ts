// The request streams captured from the C tools, and their replay against a
// server: the answers must be the C server's bytes, and where the C server
// dropped the connection, ours must drop it too (and only it).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { serve, type ServeOptions, type Server } from "../dc_server/mod.ts";
import { fromHex } from "../nal/_util.ts";
import { listenAddress, makeTempDir, matrix, removeDir } from "./_servers.ts";
import { hex, RawClient } from "./_wire.ts";

/** One captured exchange. */
export interface Vector {
  case: string;
  exchanges: { dir: "c2s" | "s2c"; hex: string }[];
  server_closed: boolean;
}

const dir = fileURLToPath(new URL("./fixtures/golden/", import.meta.url));

/** Where the captures are. */
export const GOLDEN_DIR: string = dir;

/**
 * The server vectors (not the proxy's), in the order that builds the state
 * they share: add_ok stores the session that get_hit, have_yes and
 * remove_yes find; pipelined leaves "p2" for patch_level_accepted and
 * uid_echo.
 */
export function serverVectors(): Vector[] {
  const all: Vector[] = fs.readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(fs.readFileSync(dir + f, "utf8")));
  const first = [
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
  const server = all.filter((v) => !v.case.startsWith("proxy_"));
  for (const name of first) {
    if (!server.some((v) => v.case === name)) {
      throw new Error(`golden vector ${name} missing from ${dir}`);
    }
  }
  return [
    ...first.map((name) => server.find((v) => v.case === name)!),
    ...server.filter((v) => !first.includes(v.case)).sort((a, b) =>
      a.case.localeCompare(b.case)
    ),
  ];
}

/**
 * Replays one vector against the server at `addr` and checks every answer
 * byte, the drop where the C server dropped, and that another client is
 * still served afterwards.
 */
export async function replay(addr: string, vector: Vector): Promise<void> {
  const client = await RawClient.connect(addr);
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
  const other = await RawClient.connect(addr);
  try {
    other.send(fromHex("0011000000000000070003010002" + "7a7a"));
    assert.equal(
      hex(await other.read(15)),
      "001100000100000007000301000101",
    );
  } finally {
    other.close();
  }
}

/**
 * Replays every server vector, in order, against one server per adapter
 * and transport, made with `options(label)` (the store to use).
 */
export function describeReplays(
  what: string,
  options: (label: string) => ServeOptions,
): void {
  for (const { adapter, transport, label } of matrix()) {
    describe(label, () => {
      let tmp = "";
      let server: Server;
      before(async () => {
        tmp = makeTempDir();
        server = await serve({
          ...options(label),
          listen: listenAddress(transport, tmp),
          adapter,
        });
      });
      after(async () => {
        await server?.close();
        removeDir(tmp);
      });

      for (const vector of serverVectors()) {
        it(`${vector.case}: same answer bytes as ${what}`, async () => {
          await replay(server.addr, vector);
        });
      }
    });
  }
}
