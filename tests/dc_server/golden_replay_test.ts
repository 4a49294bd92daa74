// Every request stream captured from the C tools, replayed against our
// server: the answers must be the C server's bytes, and where the C server
// dropped the connection, ours must drop it too (and only it).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { describeReplays, GOLDEN_DIR, serverVectors } from "../_golden.ts";

describe("golden vectors replayed against our server", () => {
  it("covers every server vector of the capture", () => {
    const n = serverVectors().length;
    assert.ok(n >= 30, `only ${n} vectors found in ${GOLDEN_DIR}`);
  });

  describeReplays("the C server", () => ({ sessions: 1000 }));
});
