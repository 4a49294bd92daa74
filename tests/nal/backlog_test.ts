// A burst of local clients (a web server's workers starting at once)
// connecting while the server is busy waits in the kernel's listen queue;
// over a UNIX socket, one beyond it is refused at once (EAGAIN). Bun
// listens with 512 whatever it is asked, so 1,000 clients connecting while
// its loop was busy saw some refused: every adapter now queues 1,000.
// Checked on a server process stopped with SIGSTOP (nothing accepts), over
// every adapter.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as path from "node:path";
import process from "node:process";
import { availableAdapters } from "../../nal/mod.ts";
import { CliProcess } from "../_cli.ts";
import { makeTempDir, removeDir } from "../_servers.ts";
import { bytes, command, OP } from "../_wire.ts";

const SERVE_PROC = new URL("../_serve_proc.ts", import.meta.url);
const BURST = 1000;

// Connects `n` sockets at once; how many the kernel took, and the errors.
async function burst(
  file: string,
  n: number,
): Promise<{ ok: number; refused: string[]; socks: net.Socket[] }> {
  const socks: net.Socket[] = [];
  const refused: string[] = [];
  let ok = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<void>((resolve) => {
        const s = net.connect(file);
        socks.push(s);
        s.once("connect", () => {
          ok++;
          resolve();
        });
        s.once("error", (err: NodeJS.ErrnoException) => {
          refused.push(err.code ?? err.message);
          resolve();
        });
      })),
  );
  return { ok, refused, socks };
}

describe("listen queue", {
  skip: process.platform !== "linux" &&
    "needs SIGSTOP and Linux's UNIX-socket backlog",
}, () => {
  for (const adapter of availableAdapters()) {
    it(`${adapter.name}: ${BURST} clients connecting while the server is stopped are all queued, then served`, async () => {
      const tmp = makeTempDir();
      const proc = new CliProcess(
        [adapter.name, `UNIX:${path.join(tmp, "s.sock")}`, "100000"],
        undefined,
        { script: SERVE_PROC },
      );
      let socks: net.Socket[] = [];
      try {
        await proc.waitFor(/listening on \S+/);
        proc.signal("SIGSTOP");
        const r = await burst(path.join(tmp, "s.sock"), BURST);
        socks = r.socks;
        proc.signal("SIGCONT");
        assert.deepEqual(
          { ok: r.ok, refused: r.refused.length, first: r.refused[0] },
          { ok: BURST, refused: 0, first: undefined },
        );
        // Queued, then accepted and served: a request on the last one.
        const last = socks[socks.length - 1];
        const answer = new Promise<number>((resolve, reject) => {
          last.once("data", (b: Buffer) => resolve(b.length));
          last.once("error", reject);
        });
        last.write(command(1, OP.HAVE, bytes("x")));
        assert.ok((await answer) > 0);
      } finally {
        for (const s of socks) s.destroy();
        proc.signal("SIGCONT");
        await proc.stop();
        removeDir(tmp);
      }
    });
  }
});
