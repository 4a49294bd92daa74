// Snapshots in process: the file format reads back what was written and
// refuses every altered, cut or foreign file with a code that says why;
// key files; serve({ snapshot }) restoring sessions with their lifetimes
// shortened by the time passed (an injected clock makes that exact).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import * as fs from "node:fs";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import {
  type DcCache,
  DcOptionError,
  DcServer,
  DcSnapshotError,
  loadSnapshot,
  openSnapshot,
  readSnapshotKey,
  sealSnapshot,
  serve,
  type SnapshotEvent,
  SnapshotPacker,
  writeSnapshot,
} from "../../dc_server/mod.ts";
import {
  NalFileError,
  removeStaleTemps,
  writeFileAtomic,
} from "../../nal/mod.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";

const enc = new TextEncoder();
const key = () => crypto.getRandomValues(new Uint8Array(32));

async function sealed(
  k: Uint8Array,
  sessions: { id: Uint8Array; data: Uint8Array; remainingMs: number }[],
  writtenAt = 1_000_000,
): Promise<Uint8Array> {
  const packer = new SnapshotPacker();
  for (const s of sessions) packer.add(s.id, s.data, s.remainingMs);
  const parts: Uint8Array[] = [];
  for await (const p of sealSnapshot(k, writtenAt, packer)) parts.push(p);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// Sessions of every size the protocol allows, enough for several chunks.
function manySessions(): {
  id: Uint8Array;
  data: Uint8Array;
  remainingMs: number;
}[] {
  const out = [];
  for (let i = 0; i < 240; i++) {
    const id = enc.encode(`id-${i}-`.padEnd(1 + (i % 64), "x")).subarray(
      0,
      1 + (i % 64),
    );
    const data = new Uint8Array(i % 3 === 0 ? 32768 : (i * 97) % 2000);
    for (let j = 0; j < data.length; j++) data[j] = (i + j) & 0xff;
    out.push({ id, data, remainingMs: 1 + i * 1000 });
  }
  return out;
}

async function refusal(
  k: Uint8Array,
  file: Uint8Array,
): Promise<string> {
  try {
    await openSnapshot(k, file);
  } catch (err) {
    assert.ok(err instanceof DcSnapshotError, String(err));
    return err.code;
  }
  throw new Error("the file was accepted");
}

describe("snapshot format", () => {
  it("reads back every session, in order, across several chunks", async () => {
    const k = key();
    const sessions = manySessions();
    const file = await sealed(k, sessions, 1_234_567);
    assert.ok(file.length > 2 * (1 << 20), "several 1 MiB chunks");
    const opened = await openSnapshot(k, file);
    assert.equal(opened.writtenAt, 1_234_567);
    assert.equal(opened.sessions.length, sessions.length);
    opened.sessions.forEach((s, i) => {
      assert.deepEqual(s.id, sessions[i].id);
      assert.deepEqual(s.data, sessions[i].data);
      assert.equal(s.remainingMs, sessions[i].remainingMs);
    });
    const empty = await openSnapshot(k, await sealed(k, []));
    assert.equal(empty.sessions.length, 0);
  });

  it("reads a file given as a view at any offset (a Node Buffer from its pool)", async () => {
    const k = key();
    const file = await sealed(k, manySessions().slice(0, 4), 42);
    const backing = new Uint8Array(file.length + 7);
    backing.set(file, 7);
    // Buffer's slice() is a view, not a copy: the header must still be
    // read where it is.
    const opened = await openSnapshot(
      k,
      Buffer.from(backing.buffer, 7, file.length),
    );
    assert.equal(opened.writtenAt, 42);
    assert.equal(opened.sessions.length, 4);
  });

  it("refuses another key, and says so", async () => {
    const file = await sealed(key(), manySessions().slice(0, 3));
    await assert.rejects(
      openSnapshot(key(), file, "snapshot /x"),
      (err) =>
        err instanceof DcSnapshotError && err.code === "ERR_SNAPSHOT_KEY" &&
        /snapshot \/x: written with another key/.test(err.message),
    );
  });

  it("refuses a file that is not a snapshot, or of another version", async () => {
    const k = key();
    const file = await sealed(k, manySessions().slice(0, 2));
    assert.equal(
      await refusal(k, enc.encode("hello world, not a snapshot at all, no")),
      "ERR_SNAPSHOT_FORMAT",
    );
    const v2 = file.slice();
    v2[9] = 2;
    await assert.rejects(
      openSnapshot(k, v2),
      /format version 2: this distcache reads version 1/,
    );
  });

  it("refuses every header field altered", async () => {
    const k = key();
    const file = await sealed(k, manySessions().slice(0, 5));
    // offset: what a change there must give
    const fields: [number, string][] = [
      [0, "ERR_SNAPSHOT_FORMAT"], // magic
      [8, "ERR_SNAPSHOT_FORMAT"], // version
      [11, "ERR_SNAPSHOT_FORMAT"], // flags
      [15, "ERR_SNAPSHOT_TAMPERED"], // session count (authenticated)
      [23, "ERR_SNAPSHOT_TAMPERED"], // written at (authenticated)
      [30, "ERR_SNAPSHOT_KEY"], // salt: another derived key
      [60, "ERR_SNAPSHOT_KEY"], // key check
    ];
    for (const [at, code] of fields) {
      const bad = file.slice();
      bad[at] ^= 0x01;
      assert.equal(await refusal(k, bad), code, `byte ${at}`);
    }
  });

  it("refuses any byte flipped anywhere, any cut, anything appended, chunks swapped", async () => {
    const k = key();
    const file = await sealed(k, manySessions());
    for (let n = 0; n < 200; n++) {
      const at = Math.floor(Math.random() * file.length);
      const bad = file.slice();
      bad[at] ^= 1 + Math.floor(Math.random() * 255);
      await refusal(k, bad);
    }
    const firstChunk = 72 + 4 + new DataView(file.buffer).getUint32(72);
    const cuts = [
      0,
      7,
      8,
      71,
      72,
      74,
      76,
      500,
      firstChunk,
      firstChunk + 4,
      file.length - 1,
    ];
    for (const cut of cuts) await refusal(k, file.subarray(0, cut));
    const longer = new Uint8Array(file.length + 1);
    longer.set(file);
    assert.equal(await refusal(k, longer), "ERR_SNAPSHOT_TAMPERED");
    // The first two chunks swapped: each is authentic, but out of place.
    const second = firstChunk + 4 +
      new DataView(file.buffer).getUint32(firstChunk);
    const swapped = new Uint8Array(file.length);
    swapped.set(file.subarray(0, 72));
    swapped.set(file.subarray(firstChunk, second), 72);
    swapped.set(file.subarray(72, firstChunk), 72 + second - firstChunk);
    swapped.set(file.subarray(second), second);
    assert.equal(await refusal(k, swapped), "ERR_SNAPSHOT_TAMPERED");
  });
});

describe("snapshot files", () => {
  let tmp = "";
  before(() => {
    tmp = makeTempDir("distcache-snap-");
  });
  after(() => removeDir(tmp));

  it("readSnapshotKey: 32 raw bytes or 64 hex digits, private, never a link", async () => {
    const raw = path.join(tmp, "raw.key");
    const bytes = key();
    fs.writeFileSync(raw, bytes, { mode: 0o600 });
    assert.deepEqual(await readSnapshotKey(raw), bytes);
    const hex = path.join(tmp, "hex.key");
    fs.writeFileSync(hex, Buffer.from(bytes).toString("hex") + "\n", {
      mode: 0o400,
    });
    assert.deepEqual(await readSnapshotKey(hex), bytes);
    const short = path.join(tmp, "short.key");
    fs.writeFileSync(short, "abc\n", { mode: 0o600 });
    await assert.rejects(
      readSnapshotKey(short),
      /must hold 32 bytes, or 64 hex digits .*it holds 4 bytes/,
    );
    const open = path.join(tmp, "open.key");
    fs.writeFileSync(open, bytes, { mode: 0o600 });
    fs.chmodSync(open, 0o640);
    await assert.rejects(
      readSnapshotKey(open),
      (err) =>
        err instanceof DcSnapshotError &&
        err.code === "ERR_SNAPSHOT_KEY_FILE" &&
        /mode 0640 lets group or others at the key: chmod 600/.test(
          err.message,
        ),
    );
    const link = path.join(tmp, "link.key");
    fs.symlinkSync(raw, link);
    await assert.rejects(readSnapshotKey(link), /symbolic link/);
    await assert.rejects(
      readSnapshotKey(path.join(tmp, "none.key")),
      /no such file/,
    );
  });

  it("writeFileAtomic replaces a link at the path, never its target, with mode 0600", async () => {
    const target = path.join(tmp, "target");
    fs.writeFileSync(target, "keep");
    const file = path.join(tmp, "via-link");
    fs.symlinkSync(target, file);
    await writeFileAtomic(file, [enc.encode("new")]);
    assert.equal(fs.readFileSync(target, "utf8"), "keep");
    assert.ok(fs.lstatSync(file).isFile());
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(file, "utf8"), "new");
    const stale = path.join(tmp, ".via-link.0123456789abcdef.tmp");
    fs.writeFileSync(stale, "left by a crash");
    fs.writeFileSync(path.join(tmp, ".via-link.other"), "not ours");
    assert.equal(await removeStaleTemps(file), 1);
    assert.equal(fs.existsSync(stale), false);
    assert.ok(fs.existsSync(path.join(tmp, ".via-link.other")));
    // A failing source leaves the old file as it was, and no temp.
    await assert.rejects(
      writeFileAtomic(
        file,
        (async function* () {
          yield enc.encode("half");
          throw new NalFileError("ERR_FILE_IO", "source failed");
        })(),
      ),
      /source failed/,
    );
    assert.equal(fs.readFileSync(file, "utf8"), "new");
    assert.equal(await removeStaleTemps(file), 0);
  });

  it("writeSnapshot/loadSnapshot: only live sessions, lifetimes less the time passed", async () => {
    const file = path.join(tmp, "direct.snap");
    const k = key();
    const a = new DcServer(512);
    a.importSession(10_000, enc.encode("short"), enc.encode("12345"), 0);
    a.importSession(60_000, enc.encode("long"), enc.encode("67890"), 0);
    a.importSession(500, enc.encode("gone"), enc.encode("00000"), 0);
    assert.deepEqual(await writeSnapshot(a, file, k, 1000), {
      sessions: 2,
      bytes: fs.statSync(file).size,
    });
    const b = new DcServer(512);
    assert.deepEqual(await loadSnapshot(b, file, k, 21_000), {
      sessions: 1,
      expired: 1,
      writtenAt: 1000,
    });
    // "long" had 59 s left at 1000; 20 s later it has 39 s.
    const left: [string, number][] = [];
    b.exportSessions(
      (id, _d, ms) => left.push([new TextDecoder().decode(id), ms]),
      21_000,
    );
    assert.deepEqual(left, [["long", 39_000]]);
    a.close();
    b.close();
  });
});

describe("serve({ snapshot })", () => {
  let tmp = "";
  before(() => {
    tmp = makeTempDir("distcache-snapserve-");
  });
  after(() => removeDir(tmp));

  it("sessions survive a restart, with lifetimes shortened by the downtime", async () => {
    const file = path.join(tmp, "restart.snap");
    const k = key();
    const events: SnapshotEvent[] = [];
    let now = 5_000_000;
    const options = () => ({
      listen: `UNIX:${path.join(tmp, "r.sock")}`,
      clock: () => now,
      snapshot: {
        path: file,
        key: k,
        onEvent: (e: SnapshotEvent) => events.push(e),
      },
    });
    const first = await serve(options());
    assert.equal(events.shift()?.kind, "absent");
    const ctx = await DcCtx.create(first.addr, DC_CTX_FLAG_PERSISTENT);
    assert.ok(await ctx.addSession("a", "session a", 60_000));
    assert.ok(await ctx.addSession("b", "session b!", 5_000));
    ctx.close();
    const before = first.stats();
    await first.close();
    const written = events.shift();
    assert.equal(written?.kind, "written");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);

    now += 10_000; // ten seconds down: "b" (5 s) is gone, "a" has 50 s left
    const second = await serve(options());
    const loaded = events.shift();
    assert.deepEqual(
      { ...loaded, path: undefined },
      {
        kind: "loaded",
        path: undefined,
        sessions: 1,
        expired: 1,
        writtenAt: 5_000_000,
      },
    );
    assert.equal(second.stats().items, before.items - 1);
    assert.equal(
      second.stats().bytes,
      before.bytes - "b".length - "session b!".length,
    );
    const again = await DcCtx.create(second.addr, DC_CTX_FLAG_PERSISTENT);
    assert.equal(
      new TextDecoder().decode((await again.get("a"))!),
      "session a",
    );
    assert.equal(await again.get("b"), null);
    now += 49_999;
    assert.ok(await again.hasSession("a"), "still there 1 ms before its end");
    now += 1;
    assert.equal(await again.hasSession("a"), false, "gone at its end");
    again.close();
    await second.close();
  });

  it("a refused file is moved aside and the server starts empty; bad options are refused", async () => {
    const file = path.join(tmp, "bad.snap");
    fs.writeFileSync(file, "not a snapshot, whatever it is");
    const events: SnapshotEvent[] = [];
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      snapshot: { path: file, key: key(), onEvent: (e) => events.push(e) },
    });
    const refused = events[0];
    assert.equal(refused.kind, "refused");
    if (refused.kind === "refused") {
      assert.equal(refused.error.code, "ERR_SNAPSHOT_FORMAT");
      assert.equal(refused.movedTo, `${file}.refused`);
    }
    assert.equal(server.stats().items, 0);
    assert.equal(
      fs.readFileSync(`${file}.refused`, "utf8"),
      "not a snapshot, whatever it is",
    );
    await server.close();

    await assert.rejects(
      serve({
        listen: "IP:127.0.0.1:0",
        snapshot: { path: file, key: new Uint8Array(16) },
      }),
      (err) =>
        err instanceof DcOptionError && /must be 32 bytes/.test(err.message),
    );
    const noSnapshots = (): DcCache => ({
      add: () => true,
      get: () => null,
      remove: () => false,
      have: () => false,
      numItems: () => 0,
    });
    await assert.rejects(
      serve({
        listen: "IP:127.0.0.1:0",
        cache: noSnapshots,
        snapshot: { path: file, key: key() },
      }),
      (err) =>
        err instanceof DcOptionError &&
        /keeps no sessions to snapshot/.test(err.message),
    );
  });

  it("intervalMs writes periodically while serving", async () => {
    const file = path.join(tmp, "periodic.snap");
    const k = key();
    const written: SnapshotEvent[] = [];
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      snapshot: {
        path: file,
        key: k,
        intervalMs: 20,
        onEvent: (e) => e.kind === "written" && written.push(e),
      },
    });
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    assert.ok(await ctx.addSession("p", "periodic", 60_000));
    const count = written.length;
    await until(
      () => written.length > count + 1,
      10_000,
      "two periodic writes",
    );
    const opened = await openSnapshot(k, fs.readFileSync(file));
    assert.equal(opened.sessions.length, 1);
    ctx.close();
    await server.close();
    const last = written.at(-1);
    assert.ok(last?.kind === "written" && last.final, "the last one, at close");
  });
});
