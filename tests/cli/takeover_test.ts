// Twenty servers started at once over a stale socket file (a server that
// was killed left it): exactly one serves, each other fails saying the path
// is in use, and the one serving is the one a client reaches (no server is
// left listening on a socket file nobody can find). Real processes.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CliProcess } from "../_cli.ts";
import { bytes, command, OP, RawClient } from "../_wire.ts";
import { makeTempDir, removeDir, staleSocket } from "../_servers.ts";

const STARTS = 20;
// Rounds of STARTS: the race is a matter of timing, each round a new try.
const ROUNDS = 3;

describe("servers started at once over a stale socket", () => {
  let dir = "";
  before(() => {
    dir = makeTempDir("distcache-takeover-");
  });
  after(() => removeDir(dir));

  for (let round = 1; round <= ROUNDS; round++) {
    it(`${STARTS} at once (round ${round}): one serves, the others fail "in use", no orphan`, async () => {
      const sock = path.join(dir, `sock${round}`);
      staleSocket(sock);
      const procs = Array.from(
        { length: STARTS },
        () => new CliProcess(["server", "-listen", `UNIX:${sock}`]),
      );
      try {
        // Each either serves or ends. (waitFor() fails as soon as the
        // process has exited, which can be before `exited` settles: its
        // failure means "ended", told by `exited`.)
        const outcomes = await Promise.all(
          procs.map((p) =>
            p.waitFor("listening on", 60_000).then(
              () => "serving",
              (err) =>
                p.child.exitCode === null
                  ? Promise.reject(err)
                  : p.exited.then((code) => `exited ${code}`),
            )
          ),
        );
        const serving = procs.filter((_, i) => outcomes[i] === "serving");
        assert.equal(serving.length, 1, `outcomes: ${outcomes.join(", ")}`);
        for (const [i, p] of procs.entries()) {
          if (outcomes[i] === "serving") continue;
          assert.equal(outcomes[i], "exited 1", p.stderr);
          assert.match(
            p.stderr,
            /live server (holds it|answers on that socket)/,
            p.stderr,
          );
        }
        // The path leads to the one that serves.
        const client = await RawClient.connect(`UNIX:${sock}`);
        try {
          client.send(command(1, OP.HAVE, bytes("x")));
          assert.deepEqual((await client.answer()).payload, Uint8Array.of(1));
        } finally {
          client.close();
        }
        assert.ok(await serving[0].stop(), serving[0].stderr);
        assert.equal(fs.existsSync(sock), false, "socket file removed");
        assert.equal(fs.existsSync(`${sock}.lock`), false, "lock file removed");
      } finally {
        for (const p of procs) p.signal("SIGKILL");
        await Promise.all(procs.map((p) => p.exited));
      }
    });
  }
});
