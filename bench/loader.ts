/**
 * The benchmark's load generator: one process, `node:net` sockets, driving a
 * distcache, memcached (text protocol) or Redis (RESP) server with the same
 * operation mix, so that every server of a row is measured by the same
 * client. The harness (`bench/main.ts`) runs it under Bun and reads one JSON
 * line from its stdout.
 *
 * ```sh
 * bun bench/loader.ts '{"action":"run","proto":"dc","path":"/tmp/dcserver","conns":8}'
 * ```
 *
 * Requests are built by hand rather than through the client library: the
 * loader must cost the same whatever server it drives, and as little as
 * possible, since it shares the machine's two cores with the server.
 *
 * @module
 */

import fs from "node:fs";
import net from "node:net";
import process from "node:process";
import tls from "node:tls";
import { Buffer } from "node:buffer";

/** What one loader invocation does. */
export interface LoaderJob {
  /** `fill` stores ids 0..ids-1; `run` times the operation mix. */
  action: "fill" | "run";
  /** The server's protocol. */
  proto: "dc" | "mc" | "redis";
  /** UNIX socket path (or use host and port). */
  path?: string;
  /** TCP host. @default {"127.0.0.1"} */
  host?: string;
  /** TCP port. */
  port?: number;
  /** Concurrent connections (workers, for `perop`). @default {8} */
  conns?: number;
  /** `persistent` connections, or a new connection per operation. @default {"persistent"} */
  mode?: "persistent" | "perop";
  /** Ids a GET picks from (uniformly); `fill` stores exactly these. @default {10000} */
  ids?: number;
  /** Bytes of session data. @default {512} */
  valueBytes?: number;
  /** Share of GETs; the rest are ADDs of new ids. @default {0.9} */
  getRatio?: number;
  /** Lifetime of the sessions a `run` adds, milliseconds. @default {1000} */
  addTtlMs?: number;
  /** Timed milliseconds. @default {3000} */
  durationMs?: number;
  /** Untimed milliseconds before. @default {500} */
  warmupMs?: number;
  /** Requests in flight per connection while filling. @default {64} */
  window?: number;
  /**
   * Prepended to every id: Redis driven directly with the keys our Redis
   * store makes (`dc:` + id). @default {""}
   */
  keyPrefix?: string;
  /**
   * A Redis Cluster driven directly (proto `redis`): the port of each
   * master and the slot ranges it serves; every connection then holds one
   * socket per master and sends each key to the master of its slot, as a
   * Cluster client does.
   */
  cluster?: { port: number; slots: [number, number][] }[];
  /**
   * TCP over TLS: the PEM file of the CA the server's certificate must
   * chain to (verified, with its name checked against `host`).
   */
  tlsCa?: string;
}

/** What the loader prints (one JSON line). */
export interface LoaderResult {
  /** Operations completed in the timed window. */
  ops: number;
  /** Seconds of the timed window. */
  seconds: number;
  /** ops / seconds. */
  opsPerSec: number;
  /** GETs answered with the session's data. */
  hits: number;
  /** GETs answered "no such session". */
  misses: number;
  /** ADDs stored. */
  added: number;
  /** ADDs refused (or wrong answers, errors, dropped connections). */
  failed: number;
  /** Socket errors. */
  errors: number;
  /** Latency percentiles in microseconds. */
  p50us: number;
  /** 99th percentile. */
  p99us: number;
  /** 99.9th percentile. */
  p999us: number;
  /**
   * Answers received in the whole run, the untimed warm-up and the last
   * answers after the window included (what the server did while it ran).
   */
  answered: number;
  /**
   * Server CPU time per answer in microseconds, every thread, when the
   * harness measured the server around the run (`bench/_interleave.ts`).
   */
  serverUsPerOp?: number;
  /**
   * CPU time per answer of the store behind the server (Redis), when the
   * harness measured it around the run too.
   */
  storeUsPerOp?: number;
}

const FILL_TTL_MS = 3_600_000;

// Outcome of one parsed answer.
const HIT = 0;
const MISS = 1;
const STORED = 2;
const REFUSED = 3;
const BAD = 4;

interface Proto {
  get(id: string): Buffer;
  add(id: string, ttlMs: number, value: Buffer): Buffer;
  /** Bytes of the whole answer at buf[off..], or -1 while incomplete; the outcome goes to `outcome.kind`. */
  parse(buf: Buffer, off: number, isGet: boolean, valueBytes: number): number;
}

const outcome = { kind: HIT };

// --- distcache: 14-byte frame headers, big-endian; one frame per request here.

const DC_LEVEL = 0x00110000;

function dcFrame(op: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(14 + payload.length);
  out.writeUInt32BE(DC_LEVEL, 0);
  out[4] = 0;
  out.writeUInt32BE(0, 5);
  out[9] = 0;
  out[10] = op;
  out[11] = 1;
  out.writeUInt16BE(payload.length, 12);
  payload.copy(out, 14);
  return out;
}

const dc: Proto = {
  get: (id) => dcFrame(1, Buffer.from(id, "latin1")),
  add(id, ttlMs, value) {
    const idb = Buffer.from(id, "latin1");
    const p = Buffer.allocUnsafe(8 + idb.length + value.length);
    p.writeUInt32BE(ttlMs, 0);
    p.writeUInt32BE(idb.length, 4);
    idb.copy(p, 8);
    value.copy(p, 8 + idb.length);
    return dcFrame(0, p);
  },
  parse(buf, off, isGet, valueBytes) {
    let at = off;
    let payload = 0;
    let first = -1;
    for (;;) {
      if (buf.length - at < 14) return -1;
      const len = buf.readUInt16BE(at + 12);
      if (buf.length - at < 14 + len) return -1;
      if (first < 0 && len > 0) first = buf[at + 14];
      payload += len;
      const complete = buf[at + 11] === 1;
      at += 14 + len;
      if (complete) break;
    }
    if (isGet) {
      outcome.kind = payload === valueBytes
        ? HIT
        : payload === 1 && first === 1
        ? MISS
        : BAD;
    } else {
      outcome.kind = payload === 1 && first === 0 ? STORED : REFUSED;
    }
    return at - off;
  },
};

// --- memcached text protocol.

const CRLF = Buffer.from("\r\n");

const mc: Proto = {
  get: (id) => Buffer.from(`get ${id}\r\n`, "latin1"),
  add(id, ttlMs, value) {
    const head = Buffer.from(
      `add ${id} 0 ${
        Math.max(1, Math.round(ttlMs / 1000))
      } ${value.length}\r\n`,
      "latin1",
    );
    return Buffer.concat([head, value, CRLF]);
  },
  parse(buf, off, isGet, valueBytes) {
    const eol = buf.indexOf(CRLF, off);
    if (eol < 0) return -1;
    if (buf[off] === 0x56 /* V: VALUE <key> <flags> <bytes> */) {
      const line = buf.toString("latin1", off, eol);
      const n = Number(line.slice(line.lastIndexOf(" ") + 1));
      const total = eol + 2 + n + 2 + 5 - off; // data, CRLF, "END\r\n"
      if (buf.length - off < total) return -1;
      outcome.kind = n === valueBytes ? HIT : BAD;
      return total;
    }
    const c = buf[off];
    if (isGet) outcome.kind = c === 0x45 /* END */ ? MISS : BAD;
    else outcome.kind = c === 0x53 /* STORED */ ? STORED : REFUSED;
    return eol + 2 - off;
  },
};

// --- Redis RESP: GET, and SET NX PX as the ADD.

function resp(parts: (string | Buffer)[]): Buffer {
  const chunks: Buffer[] = [Buffer.from(`*${parts.length}\r\n`)];
  for (const p of parts) {
    const b = typeof p === "string" ? Buffer.from(p, "latin1") : p;
    chunks.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(chunks);
}

const redis: Proto = {
  get: (id) => resp(["GET", id]),
  add: (id, ttlMs, value) => resp(["SET", id, value, "NX", "PX", `${ttlMs}`]),
  parse(buf, off, isGet, valueBytes) {
    const eol = buf.indexOf(CRLF, off);
    if (eol < 0) return -1;
    const c = buf[off];
    if (c === 0x24 /* $ */) {
      const n = Number(buf.toString("latin1", off + 1, eol));
      if (n < 0) {
        outcome.kind = isGet ? MISS : REFUSED;
        return eol + 2 - off;
      }
      const total = eol + 2 + n + 2 - off;
      if (buf.length - off < total) return -1;
      outcome.kind = isGet && n === valueBytes ? HIT : BAD;
      return total;
    }
    outcome.kind = !isGet && c === 0x2b /* +OK */ ? STORED : BAD;
    return eol + 2 - off;
  },
};

const PROTOS: Record<LoaderJob["proto"], Proto> = { dc, mc, redis };

// xorshift32: cheap and good enough to pick ids.
let seed = (process.pid * 2654435761) >>> 0 || 1;
function random(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

/** The id of stored session `k`: 16 bytes, the same in every protocol. */
export function sessionId(k: number): string {
  return "session-" + k.toString(16).padStart(8, "0");
}

// CRC16 (XMODEM) of the key, modulo 16384: a Cluster's slot (the bench's
// keys have no hash tag).
const CRC16 = new Uint16Array(256).map((_, i) => {
  let c = i << 8;
  for (let k = 0; k < 8; k++) c = c & 0x8000 ? (c << 1) ^ 0x1021 : c << 1;
  return c & 0xffff;
});
function slotOf(key: string): number {
  let crc = 0;
  for (let i = 0; i < key.length; i++) {
    crc = ((crc << 8) ^ CRC16[((crc >> 8) ^ key.charCodeAt(i)) & 0xff]) &
      0xffff;
  }
  return crc & 16383;
}

// Each slot's master: its index in `job.cluster` (all 0 without one).
function slotTable(job: LoaderJob): Uint8Array {
  const table = new Uint8Array(16384);
  job.cluster?.forEach((node, i) => {
    for (const [from, to] of node.slots) table.fill(i, from, to + 1);
  });
  return table;
}

let tlsCa: string | undefined;

// Calls `fn` once `sock` may carry requests: connected, and for TLS the
// handshake done.
function onOpen(sock: net.Socket, fn: () => void): void {
  sock.once(sock instanceof tls.TLSSocket ? "secureConnect" : "connect", fn);
}

function connect(job: LoaderJob): net.Socket {
  if (job.tlsCa !== undefined && job.path === undefined) {
    tlsCa ??= fs.readFileSync(job.tlsCa, "utf8");
    const sock = tls.connect({
      host: job.host ?? "127.0.0.1",
      port: job.port!,
      ca: tlsCa,
    });
    sock.setNoDelay(true);
    return sock;
  }
  const sock = job.path
    ? net.createConnection({ path: job.path })
    : net.createConnection({ host: job.host ?? "127.0.0.1", port: job.port! });
  sock.setNoDelay(true);
  return sock;
}

/**
 * A latency histogram in microsecond buckets up to one second (the rest
 * clamps to the last bucket).
 */
class Histogram {
  readonly counts = new Uint32Array(1_000_001);
  total = 0;
  add(us: number): void {
    this.counts[us < 1_000_000 ? Math.round(us) : 1_000_000]++;
    this.total++;
  }
  percentile(p: number): number {
    const want = Math.ceil(this.total * p);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= want && seen > 0) return i;
    }
    return 0;
  }
}

interface Tally {
  ops: number;
  answered: number;
  hits: number;
  misses: number;
  added: number;
  failed: number;
  errors: number;
}

function newTally(): Tally {
  return {
    ops: 0,
    answered: 0,
    hits: 0,
    misses: 0,
    added: 0,
    failed: 0,
    errors: 0,
  };
}

function count(t: Tally, kind: number): void {
  if (kind === HIT) t.hits++;
  else if (kind === MISS) t.misses++;
  else if (kind === STORED) t.added++;
  else t.failed++;
}

// Stores ids 0..ids-1, `window` requests in flight per connection.
async function fill(job: LoaderJob, proto: Proto): Promise<LoaderResult> {
  const ids = job.ids ?? 10_000;
  const conns = job.conns ?? 8;
  const window = job.window ?? 64;
  const pfx = job.keyPrefix ?? "";
  const value = Buffer.alloc(job.valueBytes ?? 512, 0x78);
  const tally = newTally();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: conns }, () =>
      new Promise<void>((resolve, reject) => {
        const sock = connect(job);
        let pending: Buffer | null = null;
        let inflight = 0;
        const send = (max: number) => {
          const batch: Buffer[] = [];
          while (batch.length < max && next < ids) {
            batch.push(
              proto.add(pfx + sessionId(next++), FILL_TTL_MS, value),
            );
          }
          inflight += batch.length;
          if (batch.length > 0) sock.write(Buffer.concat(batch));
          if (inflight === 0) {
            sock.end();
            resolve();
          }
        };
        onOpen(sock, () => send(window));
        sock.on("error", reject);
        sock.on("data", (chunk: Buffer) => {
          const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
          let off = 0;
          let done = 0;
          for (;;) {
            const n = proto.parse(buf, off, false, 0);
            if (n < 0) break;
            off += n;
            done++;
            count(tally, outcome.kind);
          }
          pending = off < buf.length ? buf.subarray(off) : null;
          inflight -= done;
          tally.ops += done;
          tally.answered += done;
          if (done > 0) send(done);
        });
      })),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    ...tally,
    seconds,
    opsPerSec: tally.ops / seconds,
    p50us: 0,
    p99us: 0,
    p999us: 0,
  };
}

// Times the operation mix: each connection (or worker) has one request in
// flight and sends the next when the answer is whole.
async function run(job: LoaderJob, proto: Proto): Promise<LoaderResult> {
  const ids = job.ids ?? 10_000;
  const conns = job.conns ?? 8;
  const valueBytes = job.valueBytes ?? 512;
  const getRatio = job.getRatio ?? 0.9;
  const ttl = job.addTtlMs ?? 1000;
  const value = Buffer.alloc(valueBytes, 0x78);
  const warmup = job.warmupMs ?? 500;
  const duration = job.durationMs ?? 3000;
  const perOp = job.mode === "perop";
  const pfx = job.keyPrefix ?? "";
  // New ids never collide with another run's against the same server.
  const tag = `${process.pid.toString(36)}${Date.now().toString(36)}`;
  let added = 0;
  const hist = new Histogram();
  const tally = newTally();
  const start = performance.now();
  const timedFrom = start + warmup;
  const timedTo = timedFrom + duration;

  const slots = slotTable(job);
  // The request, whether it is a GET, and the master it goes to.
  const request = (): [Buffer, boolean, number] => {
    if (random() < getRatio) {
      const key = pfx + sessionId(Math.floor(random() * ids));
      return [proto.get(key), true, job.cluster ? slots[slotOf(key)] : 0];
    }
    const key = `${pfx}${tag}-${(added++).toString(36)}`;
    return [
      proto.add(key, ttl, value),
      false,
      job.cluster ? slots[slotOf(key)] : 0,
    ];
  };
  const record = (t0: number, kind: number): boolean => {
    const t1 = performance.now();
    tally.answered++;
    if (t0 >= timedFrom && t1 <= timedTo) {
      tally.ops++;
      count(tally, kind);
      hist.add((t1 - t0) * 1000);
    }
    return t1 < timedTo;
  };

  const persistent = () =>
    new Promise<void>((resolve) => {
      // One socket, or one per master of a Cluster; one request in flight.
      const socks = job.cluster
        ? job.cluster.map((n) => connect({ ...job, port: n.port }))
        : [connect(job)];
      let pending: Buffer | null = null;
      let isGet = true;
      let t0 = 0;
      let connected = 0;
      const next = () => {
        const [req, get, node] = request();
        isGet = get;
        t0 = performance.now();
        socks[node].write(req);
      };
      const end = () => {
        for (const s of socks) s.end();
      };
      for (const sock of socks) {
        onOpen(sock, () => {
          if (++connected === socks.length) next();
        });
        sock.on("error", () => {
          tally.errors++;
          end();
          resolve();
        });
        sock.on("close", () => resolve());
        sock.on("data", (chunk: Buffer) => {
          const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
          const n = proto.parse(buf, 0, isGet, valueBytes);
          if (n < 0) {
            pending = buf;
            return;
          }
          pending = null;
          if (n !== buf.length) tally.errors++; // one request, one answer
          if (record(t0, outcome.kind)) next();
          else end();
        });
      }
    });

  const perOperation = () =>
    new Promise<void>((resolve) => {
      const once = () => {
        const [req, isGet] = request();
        const t0 = performance.now();
        const sock = connect(job);
        let pending: Buffer | null = null;
        let settled = false;
        const finish = (ok: boolean, kind: number) => {
          if (settled) return;
          settled = true;
          sock.destroy();
          if (!ok) tally.errors++;
          if (record(t0, ok ? kind : BAD)) once();
          else resolve();
        };
        onOpen(sock, () => sock.write(req));
        sock.on("error", () => finish(false, BAD));
        sock.on("close", () => finish(false, BAD));
        sock.on("data", (chunk: Buffer) => {
          const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
          const n = proto.parse(buf, 0, isGet, valueBytes);
          if (n < 0) pending = buf;
          else finish(true, outcome.kind);
        });
      };
      once();
    });

  await Promise.all(
    Array.from({ length: conns }, perOp ? perOperation : persistent),
  );
  const seconds = Math.min(performance.now(), timedTo) - timedFrom;
  return {
    ...tally,
    seconds: seconds / 1000,
    opsPerSec: tally.ops / (seconds / 1000),
    p50us: hist.percentile(0.5),
    p99us: hist.percentile(0.99),
    p999us: hist.percentile(0.999),
  };
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? "{}") as LoaderJob;
  const proto = PROTOS[job.proto];
  if (!proto) {
    console.error(`loader: unknown proto ${JSON.stringify(job.proto)}`);
    process.exit(1);
  }
  const result = job.action === "fill"
    ? await fill(job, proto)
    : await run(job, proto);
  console.log(JSON.stringify(result));
  process.exit(0);
}
