// Observability as an operator meets it, with real processes under the
// runtime that runs this test: a server and a proxy started with -stats,
// scraped with fetch(); `distcache stats` printing the same figures; where
// the messages go (-log in -daemon mode, -syslog, -quiet).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import process from "node:process";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { DISTCACHE_VERSION } from "../../nal/mod.ts";
import { spawn } from "node:child_process";
import {
  cliCommand,
  CliProcess,
  CliSandbox,
  LISTENING,
  runCli,
} from "../_cli.ts";
import { alive } from "../_proc.ts";
import {
  expectOneOperation,
  operationSeries,
  type ParsedFamily,
  parsePrometheus,
  sampleOf,
} from "../_prometheus.ts";
import { until } from "../_servers.ts";
import { bytes, frame, OP, RawClient } from "../_wire.ts";

const STATS_AT = /stats: (\S+?)[,)]?$/m;
const RUNTIME = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

// Whether a connection to addr is closed at accept; the connect itself
// may already see the reset.
function closedAtAccept(addr: string): Promise<boolean> {
  return RawClient.connect(addr).then(
    async (peer) => {
      const closed = await peer.waitClosed();
      peer.close();
      return closed;
    },
    (err) => (err as { code?: string }).code === "ECONNRESET",
  );
}

async function start(
  box: CliSandbox,
  args: string[],
): Promise<{ proc: CliProcess; addr: string; stats: string }> {
  const proc = await box.start(args);
  const banner = proc.stdout.split("\n").find((l) => LISTENING.test(l))!;
  return {
    proc,
    addr: LISTENING.exec(banner)![1],
    stats: STATS_AT.exec(banner)?.[1] ?? "",
  };
}

function url(stats: string, p: string): string {
  return `http://${stats.replace(/^IP:/, "")}${p}`;
}

async function scrape(stats: string): Promise<Map<string, ParsedFamily>> {
  const res = await fetch(url(stats, "/metrics"));
  assert.equal(res.status, 200);
  assert.match(
    res.headers.get("content-type") ?? "",
    /^text\/plain; version=0\.0\.4/,
  );
  return parsePrometheus(await res.text());
}

describe("-stats, distcache stats, -log", () => {
  const box = new CliSandbox("distcache-stats-");

  it("server -stats: each operation moves its series by one; /stats and distcache stats show the same figures", async () => {
    const server = await start(box, [
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "s.sock")}`,
      "-sessions",
      "1000",
      "-stats",
      "IP:127.0.0.1:0",
      "-quiet",
    ]);
    assert.match(server.stats, /^IP:127\.0\.0\.1:[1-9][0-9]*$/);
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      let before = operationSeries(await scrape(server.stats));
      const step = async (
        op: () => Promise<unknown>,
        command: string,
        result: string,
      ) => {
        before = await expectOneOperation(
          () => scrape(server.stats),
          before,
          op,
          command,
          result,
        );
      };
      await step(
        () => ctx.addSession("sid:1", "session one", 60_000),
        "add",
        "ok",
      );
      await step(() => ctx.get("sid:1"), "get", "hit");
      await step(() => ctx.get("sid:none"), "get", "miss");
      await step(() => ctx.removeSession("sid:1"), "remove", "ok");
      await step(
        () => ctx.addSession("sid:2", "session two", 60_000),
        "add",
        "ok",
      );

      const families = await scrape(server.stats);
      assert.equal(sampleOf(families, "distcache_sessions"), 1);
      assert.equal(sampleOf(families, "distcache_stored_bytes"), 5 + 11);
      assert.equal(sampleOf(families, "distcache_connections"), 1);
      assert.equal(
        sampleOf(families, "distcache_build_info", {
          role: "server",
          runtime: RUNTIME,
          version: DISTCACHE_VERSION,
        }),
        1,
      );

      // /stats: the same families, the same figures (less those that
      // move by themselves between two requests).
      const res = await fetch(url(server.stats, "/stats"));
      assert.equal(res.headers.get("content-type"), "application/json");
      const doc = await res.json();
      const again = await scrape(server.stats);
      assert.deepEqual(
        Object.keys(doc.metrics).sort(),
        [...again.keys()].sort(),
      );
      for (const [name, family] of again) {
        if (name === "distcache_uptime_seconds") continue;
        if (name === "process_resident_memory_bytes") continue;
        assert.equal(doc.metrics[name].type, family.type, name);
        for (const s of doc.metrics[name].samples) {
          assert.equal(sampleOf(again, name, s.labels), s.value, name);
        }
      }

      const table = await runCli(["stats", server.stats]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(
        table.stdout,
        new RegExp(
          `^distcache server ${DISTCACHE_VERSION} \\(${RUNTIME}\\) at ${server.stats}, up \\d+s$`,
          "m",
        ),
      );
      assert.match(table.stdout, /^sessions +1$/m);
      assert.match(table.stdout, /^stored bytes +16$/m);
      assert.match(table.stdout, /^ {2}add ok +2$/m);
      assert.match(table.stdout, /^ {2}get miss +1$/m);
      assert.match(table.stdout, /^ {2}remove ok +1$/m);
      const json = await runCli(["stats", "--json", server.stats]);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.metrics.distcache_sessions.samples[0].value, 1);
    } finally {
      ctx.close();
    }
    assert.ok(await server.proc.stop(), "clean shutdown");
    const gone = await runCli(["stats", server.stats]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot GET \/stats from/);
  });

  it("connections refused over -maxconns and clients dropped by -idle-timeout are counted", async () => {
    const server = await start(box, [
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "limits.sock")}`,
      "-maxconns",
      "1",
      "-idle-timeout",
      "2000",
      "-stats",
      "IP:127.0.0.1:0",
      "-quiet",
    ]);
    const first = await RawClient.connect(server.addr);
    await until(
      async () =>
        sampleOf(await scrape(server.stats), "distcache_connections") === 1,
      10_000,
      "the first client",
    );
    const refused = await closedAtAccept(server.addr);
    assert.ok(refused, "the second is refused");
    let families = await scrape(server.stats);
    assert.equal(
      sampleOf(families, "distcache_connections_refused_total", {
        reason: "maxconns",
      }),
      1,
    );
    assert.equal(sampleOf(families, "distcache_idle_closed_total"), 0);
    // The first sends nothing: the idle timeout drops it.
    assert.ok(await first.waitClosed(10_000), "the idle client is dropped");
    families = await scrape(server.stats);
    assert.equal(sampleOf(families, "distcache_idle_closed_total"), 1);
    assert.equal(sampleOf(families, "distcache_connections"), 0);
    assert.ok(await server.proc.stop(), "clean shutdown");
  });

  it("-stats on a UNIX address; distcache stats reads it there; the file is removed at exit", async () => {
    const statsSock = path.join(box.dir, "stats.sock");
    const server = await start(box, [
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      "-stats",
      `UNIX:${statsSock}`,
    ]);
    assert.equal(server.stats, `UNIX:${statsSock}`);
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    assert.ok(await ctx.addSession("u", "over a unix stats socket", 60_000));
    ctx.close();
    const res = await runCli(["stats", `UNIX:${statsSock}`]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^sessions +1$/m);
    assert.ok(await server.proc.stop(), "clean shutdown");
    assert.equal(fs.existsSync(statsSock), false);
  });

  it("client -stats: the proxy reports its server link up, then down", async () => {
    const serverSock = `UNIX:${path.join(box.dir, "up.sock")}`;
    const server = await start(box, [
      "server",
      "-listen",
      serverSock,
      "-quiet",
    ]);
    const proxy = await start(box, [
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "proxy.sock")}`,
      "-server",
      serverSock,
      "-retry",
      "60000",
      "-stats",
      "IP:127.0.0.1:0",
    ]);
    const up = async () =>
      sampleOf(await scrape(proxy.stats), "distcache_server_up");
    await until(async () => await up() === 1, 10_000, "the link to come up");
    const families = await scrape(proxy.stats);
    assert.equal(
      sampleOf(families, "distcache_build_info", {
        role: "proxy",
        runtime: RUNTIME,
        version: DISTCACHE_VERSION,
      }),
      1,
    );
    assert.ok(await server.proc.stop(), "server stopped");
    await until(async () => await up() === 0, 10_000, "the link to go down");
    const table = await runCli(["stats", proxy.stats]);
    assert.match(table.stdout, /^distcache proxy /m);
    assert.match(table.stdout, /^server up +0$/m);
    assert.ok(await proxy.proc.stop(), "clean shutdown");
  });

  it("client -stats: link state, requests answered 2, reconnects and the queue move as the server goes and comes back", async () => {
    const serverSock = `UNIX:${path.join(box.dir, "back.sock")}`;
    const proxySock = `UNIX:${path.join(box.dir, "back-proxy.sock")}`;
    let server = await start(box, ["server", "-listen", serverSock, "-quiet"]);
    const proxy = await start(box, [
      "client",
      "-listen",
      proxySock,
      "-server",
      serverSock,
      "-retry",
      "200",
      "-stats",
      "IP:127.0.0.1:0",
    ]);
    const read = async () => {
      const f = await scrape(proxy.stats);
      return {
        up: sampleOf(f, "distcache_server_up"),
        reconnects: sampleOf(f, "distcache_proxy_reconnects_total"),
        forwarded: sampleOf(f, "distcache_proxy_requests_total", {
          result: "forwarded",
        }),
        answered2: sampleOf(f, "distcache_proxy_requests_total", {
          result: "disconnected",
        }),
        queue: sampleOf(f, "distcache_proxy_queue_depth"),
        inFlight: sampleOf(f, "distcache_proxy_in_flight"),
      };
    };
    await until(async () => (await read()).up === 1, 10_000, "the link up");
    const raw = await RawClient.connect(proxySock);
    try {
      raw.send(frame({ uid: 1, op: OP.HAVE, data: bytes("x") }));
      assert.deepEqual((await raw.answer()).payload, Uint8Array.of(1)); // no
      const first = await read();
      assert.deepEqual(first, {
        up: 1,
        reconnects: 0,
        forwarded: 1,
        answered2: 0,
        queue: 0,
        inFlight: 0,
      });

      // The server goes: the link is down, and every request is answered 2.
      assert.ok(await server.proc.stop(), "server stopped");
      await until(async () => (await read()).up === 0, 10_000, "link down");
      for (let uid = 2; uid <= 4; uid++) {
        raw.send(frame({ uid, op: OP.HAVE, data: bytes("x") }));
        assert.deepEqual((await raw.answer()).payload, Uint8Array.of(2));
      }
      const down = await read();
      assert.equal(down.up, 0);
      assert.equal(down.answered2, 3);
      assert.equal(down.forwarded, 1);
      assert.equal(down.reconnects, 0);

      // It comes back: the proxy reconnects, counts it, and forwards again.
      server = await start(box, ["server", "-listen", serverSock, "-quiet"]);
      await until(async () => (await read()).up === 1, 10_000, "link back");
      raw.send(frame({ uid: 5, op: OP.HAVE, data: bytes("x") }));
      assert.deepEqual((await raw.answer()).payload, Uint8Array.of(1)); // no
      const back = await read();
      assert.equal(back.reconnects, 1);
      assert.equal(back.forwarded, 2);
      assert.equal(back.answered2, 3);
      const families = await scrape(proxy.stats);
      assert.equal(sampleOf(families, "distcache_connections"), 1);
      assert.equal(sampleOf(families, "distcache_connections_total"), 1);
      assert.equal(
        sampleOf(families, "distcache_proxy_link_lost_total", {
          cause: "closed",
        }),
        1,
      );
    } finally {
      raw.close();
    }
    const table = await runCli(["stats", proxy.stats]);
    assert.match(table.stdout, /^proxy reconnects total +1$/m);
    assert.match(table.stdout, /^ {2}disconnected +3$/m);
    assert.ok(await proxy.proc.stop(), "clean shutdown");
    assert.ok(await server.proc.stop(), "clean shutdown");
  });

  it("client -stats: a server that stops answering shows as requests in flight and a queue, answered 2 when the link breaks", async () => {
    // A "server" that accepts and never answers.
    const sockPath = path.join(box.dir, "mute.sock");
    const peers: net.Socket[] = [];
    const mute = net.createServer((s) => peers.push(s));
    await new Promise<void>((resolve) => mute.listen(sockPath, resolve));
    const proxySock = `UNIX:${path.join(box.dir, "mute-proxy.sock")}`;
    const proxy = await start(box, [
      "client",
      "-listen",
      proxySock,
      "-server",
      `UNIX:${sockPath}`,
      "-pipeline",
      "1",
      "-timeout",
      "60000",
      "-retry",
      "60000",
      "-stats",
      "IP:127.0.0.1:0",
    ]);
    const read = async () => {
      const f = await scrape(proxy.stats);
      return {
        inFlight: sampleOf(f, "distcache_proxy_in_flight"),
        queue: sampleOf(f, "distcache_proxy_queue_depth"),
        answered2: sampleOf(f, "distcache_proxy_requests_total", {
          result: "disconnected",
        }),
      };
    };
    const a = await RawClient.connect(proxySock);
    const b = await RawClient.connect(proxySock);
    try {
      await until(() => peers.length === 1, 10_000, "the link");
      a.send(frame({ uid: 1, op: OP.HAVE, data: bytes("a") }));
      await until(
        async () => (await read()).inFlight === 1,
        10_000,
        "a's request in flight",
      );
      b.send(frame({ uid: 2, op: OP.HAVE, data: bytes("b") }));
      await until(
        async () => (await read()).queue === 1,
        10_000,
        "b waiting for room",
      );
      assert.deepEqual(await read(), { inFlight: 1, queue: 1, answered2: 0 });
      // The link breaks: both are answered 2, nothing is left waiting.
      for (const p of peers) p.destroy();
      assert.deepEqual((await a.answer()).payload, Uint8Array.of(2));
      assert.deepEqual((await b.answer()).payload, Uint8Array.of(2));
      assert.deepEqual(await read(), { inFlight: 0, queue: 0, answered2: 2 });
    } finally {
      a.close();
      b.close();
      await new Promise((resolve) => mute.close(resolve));
    }
    assert.ok(await proxy.proc.stop(), "clean shutdown");
  });

  it("client -stats: local connections over -maxconns are counted as refused", async () => {
    const serverSock = `UNIX:${path.join(box.dir, "pmax.sock")}`;
    const server = await start(box, [
      "server",
      "-listen",
      serverSock,
      "-quiet",
    ]);
    const proxySock = `UNIX:${path.join(box.dir, "pmax-proxy.sock")}`;
    const proxy = await start(box, [
      "client",
      "-listen",
      proxySock,
      "-server",
      serverSock,
      "-maxconns",
      "1",
      "-stats",
      "IP:127.0.0.1:0",
    ]);
    const refusedNow = async () =>
      sampleOf(
        await scrape(proxy.stats),
        "distcache_connections_refused_total",
        {
          reason: "maxconns",
        },
      );
    assert.equal(await refusedNow(), 0);
    const first = await RawClient.connect(proxySock);
    try {
      await until(
        async () =>
          sampleOf(await scrape(proxy.stats), "distcache_connections") === 1,
        10_000,
        "the first client",
      );
      const refused = await closedAtAccept(proxySock);
      assert.ok(refused, "the second is refused");
      assert.equal(await refusedNow(), 1);
    } finally {
      first.close();
    }
    assert.ok(await proxy.proc.stop(), "clean shutdown");
    assert.ok(await server.proc.stop(), "clean shutdown");
  });

  it("server and client -stats: peers outside -allow are counted as refused for allow", async () => {
    const server = await start(box, [
      "server",
      "-listen",
      "IP:127.0.0.1:0",
      "-allow",
      "10.0.0.0/8",
      "-stats",
      "IP:127.0.0.1:0",
      "-quiet",
    ]);
    const proxy = await start(box, [
      "client",
      "-listen",
      "IP:127.0.0.1:0",
      "-allow",
      "10.0.0.0/8",
      "-server",
      `UNIX:${path.join(box.dir, "allow-none.sock")}`,
      "-stats",
      "IP:127.0.0.1:0",
    ]);
    for (const target of [server, proxy]) {
      const denied = async () => {
        const families = await scrape(target.stats);
        return {
          allow: sampleOf(families, "distcache_connections_refused_total", {
            reason: "allow",
          }),
          maxconns: sampleOf(
            families,
            "distcache_connections_refused_total",
            { reason: "maxconns" },
          ),
        };
      };
      assert.deepEqual(await denied(), { allow: 0, maxconns: 0 });
      for (let i = 0; i < 2; i++) {
        const closed = await closedAtAccept(target.addr);
        assert.ok(closed, "a loopback peer outside 10.0.0.0/8 is closed");
      }
      await until(
        async () => (await denied()).allow === 2,
        10_000,
        "two peers counted as refused for allow",
      );
      assert.equal((await denied()).maxconns, 0);
    }
    assert.ok(await proxy.proc.stop(), "clean shutdown");
    assert.ok(await server.proc.stop(), "clean shutdown");
  });

  it("-daemon -log FILE: the daemon's banner, dropped clients, stats lines and stop reach the file", async () => {
    const sock = path.join(box.dir, "daemon.sock");
    const pidfile = path.join(box.dir, "daemon.pid");
    const logFile = path.join(box.dir, "daemon.log");
    const pid = await box.startDaemon("server", pidfile, [
      "-listen",
      `UNIX:${sock}`,
      "-log",
      logFile,
    ]);
    const log = () => fs.readFileSync(logFile, "utf8");
    assert.equal(fs.statSync(logFile).mode & 0o777, 0o640);
    assert.match(
      log(),
      new RegExp(
        `^\\S+Z \\[${pid}\\] info: distcache server listening on UNIX:`,
        "m",
      ),
    );

    // A client that breaks the protocol is dropped, and that is logged.
    const raw = await RawClient.connect(`UNIX:${sock}`);
    raw.send(
      frame({ uid: 1, op: OP.GET, data: bytes("x"), protoLevel: 0x00990000 }),
    );
    assert.ok(await raw.waitClosed(), "dropped");
    await until(
      () => / warn: dropped a client of UNIX:\S+: /.test(log()),
      5000,
      "the drop in the log",
    );

    const ctx = await DcCtx.create(`UNIX:${sock}`, DC_CTX_FLAG_PERSISTENT);
    assert.ok(await ctx.addSession("d", "daemon data", 60_000));
    ctx.close();
    await until(
      () =>
        /info: Info, total operations = +1 +\(\+ +1\), total sessions = +1/
          .test(log()),
      10_000,
      "a stats line in the log",
    );
    process.kill(pid, "SIGTERM");
    await until(() => !alive(pid), 10_000, "the daemon to exit");
    assert.match(log(), /info: distcache server stopped\n$/);
  });

  it("-daemon -syslog: the background copy keeps writing to the stderr it was started with", async () => {
    const sock = path.join(box.dir, "syslog-daemon.sock");
    const pidfile = path.join(box.dir, "syslog-daemon.pid");
    const errFile = path.join(box.dir, "syslog-daemon.err");
    // A file, as a supervisor's log would be: a pipe would stay open as
    // long as the daemon lives.
    const fd = fs.openSync(errFile, "w");
    const cmd = cliCommand([
      "server",
      "-daemon",
      "-pidfile",
      pidfile,
      "-listen",
      `UNIX:${sock}`,
      "-syslog",
    ]);
    const parent = spawn(cmd.command, cmd.args, {
      stdio: ["ignore", "ignore", fd],
    });
    const code = await new Promise((r) => parent.on("exit", r));
    fs.closeSync(fd);
    assert.equal(code, 0, fs.readFileSync(errFile, "utf8"));
    const pid = Number(fs.readFileSync(pidfile, "utf8").trim());
    const err = () => fs.readFileSync(errFile, "utf8");
    try {
      assert.match(err(), /^<6>distcache server listening on UNIX:/m);
      process.kill(pid, "SIGTERM");
      await until(() => !alive(pid), 10_000, "the daemon to exit");
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    assert.match(err(), /^<6>distcache server stopped$/m);
  });

  it("-log refuses a symbolic link, and a file of another user", async () => {
    const target = path.join(box.dir, "victim");
    fs.writeFileSync(target, "untouched\n");
    const link = path.join(box.dir, "link.log");
    fs.symlinkSync(target, link);
    const res = await runCli([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "never.sock")}`,
      "-log",
      link,
    ]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /-log .*link\.log: is a symbolic link/);
    assert.equal(fs.readFileSync(target, "utf8"), "untouched\n");
    if (process.getuid?.() === 0) {
      const theirs = path.join(box.dir, "theirs.log");
      fs.writeFileSync(theirs, "");
      fs.chownSync(theirs, 65534, 65534);
      const other = await runCli([
        "server",
        "-listen",
        `UNIX:${path.join(box.dir, "never.sock")}`,
        "-log",
        theirs,
      ]);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /is owned by uid 65534, not by this user/);
    }
  });

  it("-syslog: stderr lines carry syslog priorities; -quiet prints no stats line", async () => {
    const loud = await start(box, [
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "loud.sock")}`,
      "-stats-interval",
      "1",
    ]);
    const syslog = box.track(
      new CliProcess([
        "server",
        "-listen",
        `UNIX:${path.join(box.dir, "quiet.sock")}`,
        "-syslog",
        "-quiet",
      ]),
    );
    await syslog.waitFor(/^<6>distcache server listening on UNIX:/m);
    const raw = await RawClient.connect(
      `UNIX:${path.join(box.dir, "quiet.sock")}`,
    );
    raw.send(
      frame({ uid: 1, op: OP.GET, data: bytes("x"), protoLevel: 0x00990000 }),
    );
    await syslog.waitFor(/^<4>dropped a client of UNIX:\S+: /m);
    // The same work on both, twice; once the loud one printed a line for
    // each, a tick has passed on the quiet one too.
    for (const round of [1, 2]) {
      for (const sock of ["loud.sock", "quiet.sock"]) {
        const ctx = await DcCtx.create(`UNIX:${path.join(box.dir, sock)}`);
        assert.ok(await ctx.addSession(`r${round}`, "some data", 60_000));
        ctx.close();
      }
      await loud.proc.waitFor(
        new RegExp(`total operations = +${round} `),
        10_000,
      );
    }
    assert.ok(await loud.proc.stop(), "clean shutdown");
    syslog.signal("SIGTERM");
    await syslog.exited;
    assert.match(syslog.stderr, /^<6>distcache server stopped$/m);
    assert.doesNotMatch(syslog.stdout + syslog.stderr, /total operations/);
    const bad = await runCli(["server", "-stats-interval", "0"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /-stats-interval: 0 is below the minimum 1/);
  });
});
