// The protocol facts dc_enc owns beside frames: the ADD payload layout
// (checked against the ADDs of the C capture), the names of answer codes,
// and the lifetime floor of -min-timeout.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  clampTimeout,
  DC_ADD_HEADER_SIZE,
  DC_MAX_TIMEOUT_MS,
  DcAddErr,
  type DcAddPayload,
  DcCmd,
  DcCommandDecoder,
  DcEncodeError,
  DcErr,
  decodeAddPayload,
  encodeAddPayload,
  errName,
} from "../../dc_enc/mod.ts";
import { concatBytes, fromHex } from "../../nal/_util.ts";

const te = new TextEncoder();

interface Golden {
  case: string;
  description: string;
  exchanges: { dir: "c2s" | "s2c"; hex: string }[];
}

const DIR = new URL("../fixtures/golden/", import.meta.url);
const VECTORS: Golden[] = readdirSync(DIR)
  .filter((name) => name.endsWith(".json"))
  .sort()
  .map((name) => JSON.parse(readFileSync(new URL(name, DIR), "utf8")));

function commands(v: Golden, dir: "c2s" | "s2c") {
  const stream = concatBytes(
    v.exchanges.filter((e) => e.dir === dir).map((e) => fromHex(e.hex)),
  );
  return new DcCommandDecoder(dir === "c2s" ? "request" : "response").push(
    stream,
  );
}

// The big-endian u32 at `o`, read independently of dc_enc.
function u32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.length).getUint32(o);
}

describe("ADD payloads", () => {
  it("encodes lifetime, id length, id and data in that order, big-endian", () => {
    const payload = encodeAddPayload(
      0x01020304,
      te.encode("ab"),
      te.encode("xyz"),
    );
    assert.deepEqual(
      Array.from(payload),
      [1, 2, 3, 4, 0, 0, 0, 2, 0x61, 0x62, 0x78, 0x79, 0x7a],
    );
    assert.equal(DC_ADD_HEADER_SIZE, 8);
  });

  it("decodes every ADD of the C capture into the fields its bytes hold", () => {
    let seen = 0;
    for (const v of VECTORS) {
      for (const c of commands(v, "c2s")) {
        if (c.cmd !== DcCmd.ADD) continue;
        const add = decodeAddPayload(c.payload);
        if (c.payload.length < 8) {
          assert.equal(add, null, v.case);
          continue;
        }
        seen++;
        assert.ok(add !== null, v.case);
        assert.equal(add.timeoutMs, u32(c.payload, 0), v.case);
        assert.equal(add.idLength, u32(c.payload, 4), v.case);
        const rest = c.payload.length - 8;
        if (add.idLength < rest) {
          assert.deepEqual(add.id, c.payload.subarray(8, 8 + add.idLength));
          assert.deepEqual(add.data, c.payload.subarray(8 + add.idLength));
          // A well-formed ADD re-encodes to the bytes the C client sent.
          assert.deepEqual(
            encodeAddPayload(add.timeoutMs, add.id, add.data),
            c.payload,
            v.case,
          );
        } else {
          assert.deepEqual(add.id, c.payload.subarray(8), v.case);
          assert.equal(add.data.length, 0, v.case);
        }
      }
    }
    assert.ok(seen >= 10, `ADDs in the capture: ${seen}`);
  });

  it("reads the capture's 60000 ms, 22-byte id, 512-byte ADD", () => {
    const v = VECTORS.find((x) => x.case === "add_ok")!;
    const add = decodeAddPayload(commands(v, "c2s")[0].payload)!;
    assert.equal(add.timeoutMs, 60_000);
    assert.equal(add.idLength, 22);
    assert.equal(new TextDecoder().decode(add.id), "golden-session-id-0001");
    assert.equal(add.data.length, 512);
  });

  it("decodes into a given object, with views rather than copies", () => {
    const into: DcAddPayload = {
      timeoutMs: 0,
      idLength: 0,
      id: new Uint8Array(0),
      data: new Uint8Array(0),
    };
    const payload = encodeAddPayload(5, te.encode("id"), te.encode("data"));
    assert.equal(decodeAddPayload(payload, into), into);
    payload[8] = 0x49; // "I"
    assert.equal(new TextDecoder().decode(into.id), "Id");
    assert.equal(into.data.buffer, payload.buffer);
  });

  it("refuses to encode what one command cannot carry, naming the value", () => {
    for (const bad of [-1, 1.5, 0x100000000, NaN]) {
      assert.throws(
        () => encodeAddPayload(bad, te.encode("id"), te.encode("data")),
        (err: unknown) =>
          err instanceof DcEncodeError && err.message.includes(String(bad)),
      );
    }
    assert.throws(
      () => encodeAddPayload(1, new Uint8Array(64), new Uint8Array(32768 - 71)),
      /32769 bytes.*at most 32768/,
    );
    assert.equal(
      encodeAddPayload(1, new Uint8Array(64), new Uint8Array(32768 - 72))
        .length,
      32768,
    );
  });
});

describe("errName", () => {
  it("names every answer code with its C name, and unknown ones by number", () => {
    assert.deepEqual(
      [
        DcErr.OK,
        DcErr.NOTOK,
        DcErr.DISCONNECTED,
        DcAddErr.CORRUPT,
        DcAddErr.MATCHING_SESSION,
        DcAddErr.TIMEOUT_RANGE,
        DcAddErr.ID_RANGE,
        DcAddErr.DATA_RANGE,
        3,
        255,
      ].map(errName),
      [
        "OK",
        "NOTOK",
        "DISCONNECTED",
        "ADD_ERR_CORRUPT",
        "ADD_ERR_MATCHING_SESSION",
        "ADD_ERR_TIMEOUT_RANGE",
        "ADD_ERR_ID_RANGE",
        "ADD_ERR_DATA_RANGE",
        "#3",
        "#255",
      ],
    );
  });

  it("names the codes the C server answered in the capture as its description does", () => {
    let named = 0;
    for (const v of VECTORS) {
      // Descriptions say e.g. "answers DC_ADD_ERR_MATCHING_SESSION (101)".
      const said = /DC_((?:ADD_)?ERR_[A-Z_]+) \((\d+)\)/.exec(v.description);
      if (said === null) continue;
      const answers = commands(v, "s2c").filter((c) =>
        c.payload.length === 1 && c.payload[0] === Number(said[2])
      );
      if (answers.length === 0) continue;
      const name = errName(answers[0].payload[0]);
      assert.equal(name.startsWith("ADD_") ? name : `ERR_${name}`, said[1]);
      named++;
    }
    assert.ok(named >= 8, `codes named in descriptions: ${named}`);
  });
});

describe("clampTimeout", () => {
  it("raises a lifetime to the floor, keeps longer ones, never passes 7 days", () => {
    assert.equal(clampTimeout(0, 300_000), 300_000);
    assert.equal(clampTimeout(999, 300_000), 300_000);
    assert.equal(clampTimeout(300_000, 300_000), 300_000);
    assert.equal(clampTimeout(300_001, 300_000), 300_001);
    assert.equal(clampTimeout(500, 0), 500);
    assert.equal(clampTimeout(DC_MAX_TIMEOUT_MS, 300_000), DC_MAX_TIMEOUT_MS);
    assert.equal(clampTimeout(5, DC_MAX_TIMEOUT_MS + 1), DC_MAX_TIMEOUT_MS);
  });

  it("leaves a lifetime over 7 days as it is, for the server to refuse", () => {
    assert.equal(
      clampTimeout(DC_MAX_TIMEOUT_MS + 1, 300_000),
      DC_MAX_TIMEOUT_MS + 1,
    );
  });
});
