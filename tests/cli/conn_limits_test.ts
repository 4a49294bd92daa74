// The tools' connection limits as an operator meets them, in real
// processes: -maxconns of the server and of the proxy (and its default from
// the open-files limit), the server's -idle-timeout, and protocol errors
// logged once a second at most, naming the listener and the peer.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CliProcess } from "../_cli.ts";
import { frame, haveAnswered, OP, RawClient } from "../_wire.ts";
import { until } from "../_servers.ts";

// The server, or the proxy (`client`) with no server behind it: it answers
// every request 2 itself, which is all the -maxconns tests need of it.
async function started(args: string[], fdLimit?: number, tool = "server") {
  const proc = new CliProcess(
    tool === "server" ? ["server", "-listen", "IP:127.0.0.1:0", ...args] : [
      "client",
      "-listen",
      "IP:127.0.0.1:0",
      "-server",
      "IP:127.0.0.1:1",
      ...args,
    ],
    undefined,
    { fdLimit },
  );
  await proc.waitFor(/listening on \S+/);
  const addr = /listening on ([^\s,]+)/.exec(proc.stdout)![1];
  return { proc, addr };
}

for (const tool of ["server", "client"]) {
  describe(`${tool} -maxconns (CLI)`, () => {
    it("-maxconns 2: the third client is closed at once, and the refusal is logged; one leaving lets the next in", async () => {
      const { proc, addr } = await started(["-maxconns", "2"], undefined, tool);
      const clients: RawClient[] = [];
      try {
        for (let i = 0; i < 2; i++) {
          clients.push(await RawClient.connect(addr));
          assert.ok(await haveAnswered(clients[i], i));
        }
        const third = await RawClient.connect(addr);
        clients.push(third);
        assert.ok(await third.waitClosed());
        await proc.waitFor("refused 1 connection over -maxconns 2");
        clients.shift()!.close();
        await until(
          async () => {
            const next = await RawClient.connect(addr);
            clients.push(next);
            return await haveAnswered(next, 9);
          },
          5000,
          "a new client served once one left",
        );
      } finally {
        for (const c of clients) c.close();
        assert.ok(await proc.stop(), proc.stderr);
      }
    });

    it("without -maxconns the limit comes from the open-files limit (100: 50 clients)", async () => {
      const { proc, addr } = await started([], 100, tool);
      const clients: RawClient[] = [];
      try {
        for (let i = 0; i < 60; i++) {
          clients.push(await RawClient.connect(addr));
        }
        await proc.waitFor(/refused \d+ connections? over -maxconns 50/);
        await until(
          () => clients.filter((c) => c.closed).length === 10,
          5000,
          "10 of 60 clients closed",
        );
        const open = clients.filter((c) => !c.closed);
        assert.ok(await haveAnswered(open[0], 1), "the others are served");
      } finally {
        for (const c of clients) c.close();
        assert.ok(await proc.stop(), proc.stderr);
      }
    });
  });
}

describe("server connection limits (CLI)", () => {
  it("-idle-timeout 300 drops a client that sends nothing", async () => {
    const { proc, addr } = await started(["-idle-timeout", "300"]);
    const c = await RawClient.connect(addr);
    try {
      assert.ok(await c.waitClosed(), "dropped");
    } finally {
      c.close();
      assert.ok(await proc.stop(), proc.stderr);
    }
  });

  it("200 clients breaking the protocol make a line a second at most, naming the listener and the peer", async () => {
    const { proc, addr } = await started([]);
    try {
      const first = Date.now();
      for (let i = 0; i < 200; i++) {
        const c = await RawClient.connect(addr);
        c.send(frame({ uid: 1, op: OP.GET, protoLevel: 0x00120000 }));
        await c.waitClosed();
        c.close();
      }
      const dropLines = () =>
        proc.stderr.split("\n").filter((l) => l.includes("dropped"));
      const reported = () =>
        dropLines().reduce(
          (n, l) =>
            n + (l.includes("dropped a client") ? 1 : Number(
              /dropped (\d+) more/.exec(l)?.[1] ?? 0,
            )),
          0,
        );
      // The last summary comes within a second of the last drop (a summary
      // line can arrive while the next one is still due).
      await until(() => reported() >= 200, 5000, "every drop reported");
      const seconds = (Date.now() - first) / 1000;
      const lines = dropLines();
      assert.ok(
        lines.length <= Math.ceil(seconds) + 1,
        `${lines.length} lines in ${seconds.toFixed(1)} s:\n${proc.stderr}`,
      );
      assert.match(
        lines[0],
        new RegExp(
          `dropped a client of ${addr} from IP:127\\.0\\.0\\.1:\\d+: `,
        ),
      );
      const counted = lines.slice(1).map((l) =>
        Number(/dropped (\d+) more/.exec(l)?.[1] ?? 0)
      );
      assert.equal(
        1 + counted.reduce((a, b) => a + b, 0),
        200,
        `every drop counted:\n${lines.join("\n")}`,
      );
    } finally {
      assert.ok(await proc.stop(), proc.stderr);
    }
  });
});
