// -snapshot with real server processes under the runtime that runs this
// test: sessions survive a SIGTERM restart with their lifetimes shortened
// by the downtime; cut, altered and foreign snapshots are refused and the
// server starts empty; a server SIGKILLed in the middle of a periodic
// write always leaves a snapshot that loads.

import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { DcServer, openSnapshot, writeSnapshot } from "../../dc_server/mod.ts";
import { CliProcess, CliSandbox, runCli } from "../_cli.ts";
import { parsePrometheus, sampleOf } from "../_prometheus.ts";
import { until } from "../_servers.ts";

const LISTENING = /listening on (\S+) .*stats: (\S+?)\)$/m;

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function figures(
  stats: string,
): Promise<{ sessions: number; bytes: number }> {
  const res = await fetch(`http://${stats.slice(3)}/metrics`);
  const families = parsePrometheus(await res.text());
  return {
    sessions: sampleOf(families, "distcache_sessions"),
    bytes: sampleOf(families, "distcache_stored_bytes"),
  };
}

describe("-snapshot", () => {
  const box = new CliSandbox("distcache-snapcli-");
  let tmp = "";
  let keyFile = "";
  let key = new Uint8Array(32);
  before(() => {
    tmp = box.dir;
    key = crypto.getRandomValues(new Uint8Array(32));
    keyFile = path.join(tmp, "snapshot.key");
    fs.writeFileSync(keyFile, hex(key) + "\n", { mode: 0o600 });
  });

  async function start(
    snap: string,
    extra: string[] = [],
  ): Promise<{ proc: CliProcess; addr: string; stats: string }> {
    const proc = box.track(
      new CliProcess([
        "server",
        "-listen",
        `UNIX:${path.join(tmp, `${path.basename(snap)}.sock`)}`,
        "-sessions",
        "10000",
        "-snapshot",
        snap,
        "-snapshot-key",
        keyFile,
        "-stats",
        "IP:127.0.0.1:0",
        "-quiet",
        ...extra,
      ]),
    );
    await proc.waitFor(LISTENING, 30_000);
    const m = LISTENING.exec(proc.stdout)!;
    return { proc, addr: m[1], stats: m[2] };
  }

  it("sessions survive a SIGTERM restart: same count and bytes, lifetimes less the downtime, expired ones dropped", async () => {
    const snap = path.join(tmp, "restart.snap");
    const a = await start(snap);
    assert.match(
      a.proc.stdout,
      /snapshot .*restart\.snap: none yet, starting empty/,
    );
    const ctx = await DcCtx.create(a.addr, DC_CTX_FLAG_PERSISTENT);
    const long = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const data = `session ${i} `.repeat(1 + i * 7);
      long.set(`long:${i}`, data);
      assert.ok(await ctx.addSession(`long:${i}`, data, 600_000));
    }
    const shortAdded = Date.now();
    for (let i = 0; i < 5; i++) {
      assert.ok(await ctx.addSession(`short:${i}`, "short-lived", 1500));
    }
    ctx.close();
    const shortBytes = 5 * ("short:0".length + "short-lived".length);
    const before = await figures(a.stats);
    assert.equal(before.sessions, 45);
    assert.ok(await a.proc.stop("SIGTERM"), "clean stop");
    const stopped = Date.now();
    assert.match(a.proc.stdout, /restart\.snap: wrote 45 sessions/);
    assert.equal(fs.statSync(snap).mode & 0o777, 0o600);
    const first = await openSnapshot(key, fs.readFileSync(snap));

    // Down until the short sessions' time is up.
    await until(() => Date.now() > shortAdded + 1600, 10_000, "1.6 s to pass");
    const b = await start(snap);
    const restarted = Date.now();
    assert.match(
      b.proc.stdout,
      /restart\.snap: restored 40 sessions \(5 expired since it was written\)/,
    );
    const after = await figures(b.stats);
    assert.deepEqual(after, {
      sessions: before.sessions - 5,
      bytes: before.bytes - shortBytes,
    });
    const check = await DcCtx.create(b.addr, DC_CTX_FLAG_PERSISTENT);
    for (const [id, data] of long) {
      const got = await check.get(id);
      assert.equal(got && new TextDecoder().decode(got), data, id);
    }
    assert.equal(await check.get("short:0"), null);
    check.close();
    assert.ok(await b.proc.stop("SIGTERM"), "clean stop");
    const second = await openSnapshot(key, fs.readFileSync(snap));

    // Each session lost exactly the time between the two snapshots (which
    // spans the downtime): its lifetime ran on while the server was down.
    assert.ok(second.writtenAt - first.writtenAt >= restarted - stopped);
    const left = new Map(
      second.sessions.map((
        s,
      ) => [new TextDecoder().decode(s.id), s.remainingMs]),
    );
    assert.equal(left.size, 40);
    for (const s of first.sessions) {
      const id = new TextDecoder().decode(s.id);
      if (id.startsWith("short:")) continue;
      const lost = s.remainingMs - left.get(id)!;
      assert.ok(
        Math.abs(lost - (second.writtenAt - first.writtenAt)) <= 2,
        `${id} lost ${lost} ms over ${second.writtenAt - first.writtenAt} ms`,
      );
    }
  });

  it("a cut, altered or foreign snapshot is refused with a clear message; the server starts empty and serves", async () => {
    const good = path.join(tmp, "good.snap");
    const source = new DcServer(512);
    for (let i = 0; i < 20; i++) {
      source.importSession(
        600_000,
        new TextEncoder().encode(`s${i}`),
        new Uint8Array(3000).fill(i),
      );
    }
    await writeSnapshot(source, good, key);
    source.close();
    const bytes = fs.readFileSync(good);
    const altered = bytes.slice();
    altered[bytes.length - 100] ^= 0x40;
    const foreign = path.join(tmp, "foreign.snap");
    const other = new DcServer(512);
    other.importSession(
      600_000,
      new TextEncoder().encode("x"),
      new Uint8Array(10),
    );
    await writeSnapshot(
      other,
      foreign,
      crypto.getRandomValues(new Uint8Array(32)),
    );
    other.close();
    const cases: [string, Uint8Array, RegExp][] = [
      [
        "cut",
        bytes.subarray(0, bytes.length - 1000),
        /cut short|fails authentication/,
      ],
      ["altered", altered, /chunk 0 fails authentication/],
      ["foreign", fs.readFileSync(foreign), /written with another key/],
      [
        "garbage",
        new TextEncoder().encode("garbage ".repeat(40)),
        /not a distcache snapshot/,
      ],
    ];
    for (const [name, content, why] of cases) {
      const snap = path.join(tmp, `${name}.snap`);
      fs.writeFileSync(snap, content, { mode: 0o600 });
      const s = await start(snap);
      const line = s.proc.stderr.split("\n").find((l) =>
        l.includes("snapshot refused")
      );
      assert.ok(line, `${name}: refused (${s.proc.stdout} ${s.proc.stderr})`);
      assert.match(line, why, name);
      assert.match(
        line,
        new RegExp(
          `starting empty: snapshot ${snap}: .*\\(moved to ${snap}\\.refused\\)`,
        ),
      );
      assert.deepEqual(await figures(s.stats), { sessions: 0, bytes: 0 }, name);
      assert.deepEqual(
        fs.readFileSync(`${snap}.refused`),
        Buffer.from(content),
      );
      const ctx = await DcCtx.create(s.addr, DC_CTX_FLAG_PERSISTENT);
      assert.ok(await ctx.addSession("fresh", "after a refusal", 600_000));
      ctx.close();
      assert.ok(await s.proc.stop("SIGTERM"), `${name}: clean stop`);
      // What it wrote at the stop is a good snapshot again.
      const fresh = await openSnapshot(key, fs.readFileSync(snap));
      assert.equal(fresh.sessions.length, 1);
    }
  });

  it("SIGKILLed in the middle of periodic writes, it always leaves a snapshot that loads", async () => {
    const snap = path.join(tmp, "killed.snap");
    let s = await start(snap, ["-snapshot-interval", "1"]);
    const ctx = await DcCtx.create(s.addr, DC_CTX_FLAG_PERSISTENT);
    const data = new Uint8Array(16_000).fill(7);
    const adds = [];
    for (let i = 0; i < 600; i++) {
      adds.push(ctx.addSession(`k${i}`, data, 600_000));
    }
    assert.ok((await Promise.all(adds)).every((x) => x));
    ctx.close();
    const temps = () =>
      fs.readdirSync(tmp).filter((n) =>
        n.startsWith(".killed.snap.") && n.endsWith(".tmp")
      );
    // A first whole snapshot of them all.
    await until(
      async () => {
        if (!fs.existsSync(snap)) return false;
        const first = await openSnapshot(key, fs.readFileSync(snap));
        return first.sessions.length === 600;
      },
      20_000,
      "a first snapshot of the 600 sessions",
    );
    let midWrite = 0;
    for (let round = 0; round < 4; round++) {
      // Wait for a write to be under way (its temporary file exists), then
      // kill the server at once or a little later.
      await until(() => temps().length > 0, 20_000, "a periodic write");
      if (round % 2 === 1) {
        const t = Date.now() + Math.random() * 20;
        await until(() => Date.now() >= t, 1000, "a moment");
      }
      s.proc.signal("SIGKILL");
      await s.proc.exited;
      const left = temps();
      if (left.length > 0) midWrite++;
      const opened = await openSnapshot(key, fs.readFileSync(snap));
      assert.equal(opened.sessions.length, 600, `round ${round}`);
      s = await start(snap, ["-snapshot-interval", "1"]);
      assert.match(s.proc.stdout, /killed\.snap: restored 600 sessions/);
      // What the killed write left behind is cleaned up at start.
      const now = temps();
      assert.deepEqual(left.filter((n) => now.includes(n)), []);
    }
    assert.ok(
      midWrite > 0,
      "at least one kill landed in the middle of a write",
    );
    assert.equal((await figures(s.stats)).sessions, 600);
    assert.ok(await s.proc.stop("SIGTERM"), "clean stop");
  });
  it("never reads or writes a snapshot through a symbolic link, and refuses a linked key file", async () => {
    // A link planted at the snapshot's path, to a good snapshot elsewhere.
    const elsewhere = path.join(tmp, "elsewhere.snap");
    const source = new DcServer(512);
    source.importSession(
      600_000,
      new TextEncoder().encode("planted"),
      new Uint8Array(100),
    );
    await writeSnapshot(source, elsewhere, key);
    source.close();
    const planted = fs.readFileSync(elsewhere);
    const snap = path.join(tmp, "linked.snap");
    fs.symlinkSync(elsewhere, snap);
    const s = await start(snap);
    assert.match(
      s.proc.stderr,
      /snapshot refused, starting empty: .*linked\.snap: is a symbolic link/,
    );
    assert.deepEqual(await figures(s.stats), { sessions: 0, bytes: 0 });
    const ctx = await DcCtx.create(s.addr, DC_CTX_FLAG_PERSISTENT);
    assert.ok(await ctx.addSession("mine", "written at the stop", 600_000));
    ctx.close();
    assert.ok(await s.proc.stop("SIGTERM"), "clean stop");
    // The stop wrote a file of its own, private, and left the target alone.
    const st = fs.lstatSync(snap);
    assert.ok(st.isFile(), "a regular file, not the link");
    assert.equal(st.mode & 0o777, 0o600);
    assert.deepEqual(fs.readFileSync(elsewhere), planted);
    assert.equal(
      (await openSnapshot(key, fs.readFileSync(snap))).sessions.length,
      1,
    );

    const linkedKey = path.join(tmp, "linked.key");
    fs.symlinkSync(keyFile, linkedKey);
    const res = await runCli([
      "server",
      "-listen",
      `UNIX:${path.join(tmp, "linked-key.sock")}`,
      "-snapshot",
      path.join(tmp, "y.snap"),
      "-snapshot-key",
      linkedKey,
    ]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /snapshot key .*linked\.key: is a symbolic link/);
    assert.equal(fs.existsSync(path.join(tmp, "y.snap")), false);
  });

  it("-snapshot needs a key, and a key only its owner can read", async () => {
    const noKey = await runCli([
      "server",
      "-snapshot",
      path.join(tmp, "x.snap"),
    ]);
    assert.equal(noKey.code, 1);
    assert.match(
      noKey.stderr,
      /-snapshot needs -snapshot-key <file>: sessions are secrets/,
    );
    const loose = path.join(tmp, "loose.key");
    fs.writeFileSync(loose, hex(key), { mode: 0o600 });
    fs.chmodSync(loose, 0o644);
    const res = await runCli([
      "server",
      "-listen",
      `UNIX:${path.join(tmp, "loose.sock")}`,
      "-snapshot",
      path.join(tmp, "x.snap"),
      "-snapshot-key",
      loose,
    ]);
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      /mode 0644 lets group or others at the key: chmod 600/,
    );
    const orphan = await runCli(["server", "-snapshot-interval", "5"]);
    assert.match(orphan.stderr, /-snapshot-interval needs -snapshot <file>/);
  });
});
