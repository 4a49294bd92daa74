// A real server process out of file descriptors (ulimit -n 64, then more
// idle connections than that): it neither spins nor stops serving the
// clients it has, says so at most once a second, and serves new clients
// again once connections close. Over the runtime's own adapter (through
// the CLI) and node:net (through a small serve() process).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import process from "node:process";
import { availableAdapters, defaultAdapter } from "../../nal/mod.ts";
import { CliProcess } from "../_cli.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";
import {
  listenAddress,
  makeTempDir,
  removeDir,
  TRANSPORTS,
  until,
} from "../_servers.ts";

const SERVE_PROC = new URL("../_serve_proc.ts", import.meta.url);
const FD_LIMIT = 64;
const IDLE = 100;
// Clock ticks of /proc/<pid>/stat per second (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND = 100;
const WINDOW_MS = 2000;
const MESSAGE = /cannot accept on "[^"]+"/;
const MESSAGES = new RegExp(MESSAGE, "g");

function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function connectIdle(addr: string): net.Socket {
  const socket = addr.startsWith("UNIX:")
    ? net.createConnection({ path: addr.slice(5) })
    : net.createConnection({
      host: "127.0.0.1",
      port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
    });
  socket.on("error", () => {});
  return socket;
}

// One GET answered with the data stored under `id`, on a fresh connection
// if `client` is not given.
async function served(addr: string, id: string): Promise<boolean> {
  let c: RawClient;
  try {
    c = await RawClient.connect(addr);
  } catch {
    return false;
  }
  try {
    c.send(command(9, OP.GET, bytes(id)));
    const ans = await c.answer(2000);
    return new TextDecoder().decode(ans.payload) === "still here";
  } catch {
    return false;
  } finally {
    c.close();
  }
}

describe("out of file descriptors", {
  skip: process.platform !== "linux" && "needs ulimit and /proc",
}, () => {
  for (const adapter of availableAdapters()) {
    for (const transport of TRANSPORTS) {
      const label = `${adapter.name}/${transport}`;
      it(`${label}: no spin, connected clients served, one message a second, new clients served after`, async () => {
        const tmp = makeTempDir();
        const listen = listenAddress(transport, tmp);
        const proc = adapter === defaultAdapter()
          // No connection limit: the point is to run out of descriptors.
          ? new CliProcess(
            ["server", "-listen", listen, "-maxconns", "100000"],
            undefined,
            { fdLimit: FD_LIMIT },
          )
          : new CliProcess([adapter.name, listen, "100000"], undefined, {
            script: SERVE_PROC,
            fdLimit: FD_LIMIT,
          });
        const idle: net.Socket[] = [];
        let client: RawClient | null = null;
        try {
          await proc.waitFor(/listening on \S+/);
          const addr = /listening on (\S+)/.exec(proc.stdout)![1];
          client = await RawClient.connect(addr);
          client.send(
            command(1, OP.ADD, addPayload("s", "still here", 600_000)),
          );
          assert.deepEqual((await client.answer()).payload, Uint8Array.of(0));

          for (let i = 0; i < IDLE; i++) idle.push(connectIdle(addr));
          // Out of descriptors, the server says so (checked below, after
          // the spin it would be without the fix).
          const said = await proc.waitFor(MESSAGE, 10_000).then(
            () => true,
            () => false,
          );

          const pid = proc.child.pid!;
          const cpu0 = cpuSeconds(pid);
          const wall0 = Date.now();
          const messages0 = proc.stderr.match(MESSAGES)?.length ?? 0;
          // A measuring window, not a wait for an event.
          await new Promise((r) => setTimeout(r, WINDOW_MS));
          const cpu = cpuSeconds(pid) - cpu0;
          const wall = (Date.now() - wall0) / 1000;
          const messages = (proc.stderr.match(MESSAGES)?.length ?? 0) -
            messages0;
          assert.ok(
            cpu / wall < 0.25,
            `the server used ${cpu.toFixed(2)} s of CPU in ${
              wall.toFixed(2)
            } s`,
          );
          assert.ok(said, `no message about it:\n${proc.stderr}`);
          assert.ok(
            messages <= Math.ceil(wall) + 1,
            `${messages} messages in ${wall.toFixed(2)} s:\n${proc.stderr}`,
          );

          // The client connected before is still served.
          client.send(command(2, OP.GET, bytes("s")));
          const ans = await client.answer();
          assert.equal(new TextDecoder().decode(ans.payload), "still here");

          for (const s of idle) s.destroy();
          await until(
            () => served(addr, "s"),
            15_000,
            "a new client to be served",
          );
          assert.equal(proc.child.exitCode, null, "the server still runs");
        } finally {
          client?.close();
          for (const s of idle) s.destroy();
          await proc.stop();
          removeDir(tmp);
        }
      });
    }
  }
});
