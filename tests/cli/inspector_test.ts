// SIGUSR1 must never open a debugger in the tools' processes. Deno (since
// 2.9.2) starts V8's inspector on 127.0.0.1:9229 when a process gets
// SIGUSR1, half a second after start-up, and Node does the same; any local
// user could then run code in the server. Each case starts a real process,
// lets it live past that half second, sends SIGUSR1, checks that it still
// serves, and then that no TCP socket of it listens beyond its own.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { CliSandbox, listenAddr, runCli, SOURCE_ROOT } from "../_cli.ts";
import { until } from "../_servers.ts";
import { alive, HAVE_PROC } from "../_proc.ts";
import { checkNoInspector, sigusr1OpensNothing } from "../_usr1.ts";

describe("SIGUSR1 opens no inspector", {
  skip: HAVE_PROC ? false : "needs /proc (Linux) to list a process's sockets",
}, () => {
  const box = new CliSandbox("distcache-usr1-");
  const start = (args: string[]) => box.start(args);
  const addrOf = listenAddr;

  for (const listen of ["UNIX", "IP:127.0.0.1:0"]) {
    it(`server on ${listen}`, async () => {
      const server = await start([
        "server",
        "-listen",
        listen === "UNIX" ? `UNIX:${path.join(box.dir, "s.sock")}` : listen,
      ]);
      await checkNoInspector(server, addrOf(server));
      assert.ok(await server.stop(), "clean shutdown");
    });
  }

  it("client (the proxy) and snoop", async () => {
    const server = await start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "up.sock")}`,
    ]);
    const proxy = await start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "proxy.sock")}`,
      "-server",
      addrOf(server),
    ]);
    const snoop = await start([
      "snoop",
      "-listen",
      `UNIX:${path.join(box.dir, "snoop.sock")}`,
      "-server",
      addrOf(server),
    ]);
    await checkNoInspector(proxy, addrOf(proxy));
    await checkNoInspector(snoop, addrOf(snoop));
    for (const p of [snoop, proxy, server]) {
      assert.ok(await p.stop(), "clean shutdown");
    }
  });

  it("server -daemon", async () => {
    const sock = path.join(box.dir, "daemon.sock");
    const pidfile = path.join(box.dir, "daemon.pid");
    const spawnedAt = Date.now();
    const pid = await box.startDaemon("server", pidfile, [
      "-listen",
      `UNIX:${sock}`,
    ]);
    try {
      await sigusr1OpensNothing(pid, spawnedAt, `UNIX:${sock}`, []);
    } catch (err) {
      process.kill(pid, "SIGKILL");
      throw err;
    }
    process.kill(pid, "SIGTERM");
    await until(() => !alive(pid), 5000, "the daemon to exit");
  });

  it(
    "under Deno without --allow-ffi, server, client and snoop refuse to start",
    {
      skip: "Deno" in globalThis ? false : "Deno only",
    },
    async () => {
      const main = path.join(SOURCE_ROOT, "cli", "main.ts");
      for (const tool of ["server", "client", "snoop"]) {
        const sock = `UNIX:${path.join(box.dir, `noffi-${tool}.sock`)}`;
        const res = await runCli([
          "run",
          "--allow-net",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          "--allow-sys",
          "--allow-run",
          main,
          tool,
          "-listen",
          sock,
          "-server",
          sock,
        ], process.execPath);
        assert.equal(res.code, 1, `${tool}: ${res.stdout}`);
        assert.match(res.stderr, /refusing to start: SIGUSR1 .*--allow-ffi/);
        assert.equal(res.stderr.trim().split("\n").length, 1);
        assert.equal(fs.existsSync(sock.slice(5)), false, "never listened");
      }
    },
  );
});
