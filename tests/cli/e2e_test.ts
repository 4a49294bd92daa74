// The tools as operators run them: real processes, under the runtime that
// runs this test.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { CliProcess, CliSandbox, runCli } from "../_cli.ts";
import { alive } from "../_proc.ts";
import { until } from "../_servers.ts";
import { bytes, frame, OP, RawClient } from "../_wire.ts";

const LISTENING = /listening on (\S+)/;

async function startServer(
  args: string[],
): Promise<{ proc: CliProcess; addr: string }> {
  const proc = new CliProcess(["server", ...args]);
  await proc.waitFor(LISTENING);
  return { proc, addr: LISTENING.exec(proc.stdout)![1] };
}

describe("distcache tools end to end", () => {
  const box = new CliSandbox("distcache-e2e-");

  for (const transport of ["UNIX", "TCP"] as const) {
    for (const persistent of [true, false]) {
      const mode = persistent ? "persistent" : "per-operation";
      it(`server + test over ${transport}, ${mode} connections, 20000 operations`, async () => {
        const listen = transport === "UNIX"
          ? `UNIX:${path.join(box.dir, `s-${mode}.sock`)}`
          : "IP:127.0.0.1:0";
        const { proc, addr } = await startServer([
          "-listen",
          listen,
          "-sessions",
          "10000",
        ]);
        box.track(proc);
        const args = [
          "test",
          "-connect",
          addr,
          "-ops",
          "20000",
          ...(persistent ? ["-persistent"] : []),
        ];
        const res = await runCli(args);
        assert.equal(res.code, 0, res.stderr);
        assert.match(
          res.stdout,
          /20000 operations in [0-9.]+ s: [0-9]+ ops\/s/,
        );
        assert.ok(await proc.stop(), "clean shutdown");
        if (transport === "UNIX") {
          assert.equal(
            fs.existsSync(listen.slice(5)),
            false,
            "socket file removed",
          );
        }
      });
    }
  }

  it("test -> client proxy -> server; the proxy answers 2 while the server is down and recovers", async () => {
    const serverAddr = `UNIX:${path.join(box.dir, "px-server.sock")}`;
    const proxyAddr = `UNIX:${path.join(box.dir, "px-proxy.sock")}`;
    let server = await startServer(["-listen", serverAddr]);
    box.track(server.proc);
    const proxy = new CliProcess([
      "client",
      "-listen",
      proxyAddr,
      "-server",
      serverAddr,
      "-retry",
      "300",
    ]);
    box.track(proxy);
    await proxy.waitFor(LISTENING);
    const through = await runCli([
      "test",
      "-connect",
      proxyAddr,
      "-ops",
      "2000",
      "-persistent",
    ]);
    assert.equal(through.code, 0, through.stderr);

    assert.ok(await server.proc.stop(), "clean shutdown");
    const raw = await RawClient.connect(proxyAddr);
    try {
      const t0 = Date.now();
      raw.send(frame({ uid: 77, op: OP.HAVE, data: bytes("anything") }));
      const ans = await raw.answer();
      assert.equal(ans.uid, 77);
      assert.deepEqual(ans.payload, Uint8Array.of(2), "DC_ERR_DISCONNECTED");
      assert.ok(Date.now() - t0 < 1000, "answered at once");
    } finally {
      raw.close();
    }

    server = await startServer(["-listen", serverAddr]);
    box.track(server.proc);
    const ctx = await DcCtx.create(proxyAddr, DC_CTX_FLAG_PERSISTENT);
    try {
      await until(
        () => ctx.addSession("back", "server is back", 60_000),
        3000,
        "the proxy to reconnect",
      );
      assert.equal(await ctx.hasSession("back"), true);
    } finally {
      ctx.close();
    }
    const again = await runCli(["test", "-connect", proxyAddr, "-ops", "2000"]);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(await proxy.stop(), "clean shutdown");
    assert.ok(await server.proc.stop(), "clean shutdown");
  });

  it("test -> snoop -> server: same results as direct, one line per command", async () => {
    const serverAddr = `UNIX:${path.join(box.dir, "sn-server.sock")}`;
    const snoopAddr = `UNIX:${path.join(box.dir, "sn-snoop.sock")}`;
    const server = await startServer(["-listen", serverAddr]);
    box.track(server.proc);
    const snoop = new CliProcess([
      "snoop",
      "-listen",
      snoopAddr,
      "-server",
      serverAddr,
    ]);
    box.track(snoop);
    await snoop.waitFor(LISTENING);
    const direct = await runCli([
      "test",
      "-connect",
      serverAddr,
      "-ops",
      "500",
      "-persistent",
    ]);
    const snooped = await runCli([
      "test",
      "-connect",
      snoopAddr,
      "-ops",
      "500",
      "-persistent",
    ]);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(snooped.code, 0, snooped.stderr);
    assert.match(snooped.stdout, /^500 operations/m);
    await until(
      () => (snoop.stdout.match(/ response /g) ?? []).length >= 500,
      5000,
      "snoop lines",
    );
    assert.equal((snoop.stdout.match(/ request {2}uid /g) ?? []).length, 500);
    assert.equal((snoop.stdout.match(/ response uid /g) ?? []).length, 500);
    assert.ok(await snoop.stop(), "clean shutdown");
    assert.ok(await server.proc.stop(), "clean shutdown");
  });

  it("-daemon -pidfile detaches; SIGTERM stops it and removes the socket; -sockperms sets the mode", async () => {
    const sock = path.join(box.dir, "daemon.sock");
    const pidfile = path.join(box.dir, "daemon.pid");
    const pid = await box.startDaemon("server", pidfile, [
      "-listen",
      `UNIX:${sock}`,
      "-sockperms",
      "600",
    ]);
    assert.ok(pid > 0 && alive(pid), "the pidfile holds a live pid");
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    const ctx = await DcCtx.create(`UNIX:${sock}`);
    assert.equal(await ctx.addSession("d", "daemon data", 60_000), true);
    ctx.close();
    process.kill(pid, "SIGTERM");
    await until(() => !alive(pid), 5000, "the daemon to exit");
    assert.equal(fs.existsSync(sock), false, "socket file removed");
    assert.equal(fs.existsSync(pidfile), false, "pidfile removed");
  });

  it("-killable: SIGUSR1 (SIGUSR2 under Deno) stops the server; without it SIGUSR1 is ignored", async () => {
    const plain = await startServer([
      "-listen",
      `UNIX:${path.join(box.dir, "k1.sock")}`,
    ]);
    box.track(plain.proc);
    plain.proc.signal("SIGUSR1");
    const ctx = await DcCtx.create(plain.addr);
    assert.equal(
      await ctx.addSession("still", "here and serving", 60_000),
      true,
      "still serving",
    );
    ctx.close();
    assert.ok(await plain.proc.stop("SIGTERM"), "clean shutdown");
    const killable = await startServer([
      "-listen",
      `UNIX:${path.join(box.dir, "k2.sock")}`,
      "-killable",
    ]);
    box.track(killable.proc);
    if ("Deno" in globalThis) {
      // Under Deno SIGUSR1 is ignored outright (it would open Deno's
      // inspector), so -killable there stops on SIGUSR2 only.
      killable.proc.signal("SIGUSR1");
      const c = await DcCtx.create(killable.addr);
      assert.equal(await c.addSession("usr1", "ignored", 60_000), true);
      c.close();
      assert.ok(await killable.proc.stop("SIGUSR2"), "clean shutdown");
    } else {
      assert.ok(await killable.proc.stop("SIGUSR1"), "clean shutdown");
    }
    assert.equal(fs.existsSync(path.join(box.dir, "k2.sock")), false);
  });

  const BAD: [string[], RegExp][] = [
    [["server", "-nosuchflag"], /-nosuchflag/],
    [["server", "-sessions", "10"], /-sessions/],
    [["server", "-listen", "TCP:1.2.3.4:5"], /TCP:1\.2\.3\.4:5/],
    [["server", "-sockperms", "999"], /-sockperms/],
    [
      ["server", "-user", "no-such-user"],
      /^distcache server: flag -user: unknown user "no-such-user"$/,
    ],
    [["client", "-listen", "UNIX:/tmp/x"], /-server/],
    [["client", "-server", "IP:127.0.0.1:1", "-retry", "soon"], /-retry/],
    [["snoop", "-server", "IP:127.0.0.1:1"], /-listen/],
    [["test", "-ops", "many", "-connect", "IP:127.0.0.1:1"], /-ops/],
    [["test"], /-connect/],
    [["nosuchcommand"], /nosuchcommand/],
  ];
  for (const [args, names] of BAD) {
    it(`"${args.join(" ")}" exits 1 with one line naming the problem`, async () => {
      const res = await runCli(args);
      assert.equal(res.code, 1);
      const lines = res.stderr.trim().split("\n");
      assert.equal(lines.length, 1, res.stderr);
      assert.match(lines[0], names);
    });
  }

  for (const command of ["server", "client", "snoop", "test"]) {
    it(`${command} --help exits 0 and lists its flags`, async () => {
      const res = await runCli([command, "--help"]);
      assert.equal(res.code, 0);
      assert.match(res.stdout, new RegExp(`usage: distcache ${command}`));
    });
  }
});
