/**
 * Codec benchmark: frames/s and MB/s (of payload) for encoding and decoding
 * commands of 100 B, 2 KB and 32 KB, and for a plug-to-plug round trip in
 * memory (commit into a send buffer, read in place, consume). It prints
 * figures; it asserts nothing.
 *
 * Run: `deno run -A bench/codec.ts` or `bun bench/codec.ts`.
 *
 * @module
 */

import {
  commandSize,
  DC_PLUG_FLAG_NOFREE_CONN,
  DC_PLUG_FLAG_TO_SERVER,
  DcCmd,
  type DcMsg,
  DcPlug,
  decodeMsg,
  encodeCommandInto,
} from "../dc_enc/mod.ts";
import { NalConnection } from "../nal/mod.ts";
import process from "node:process";

/** One measurement. */
export interface CodecResult {
  /** `encode` (encodeCommandInto), `decode` (decodeMsg in place) or `plug` (commit, read, consume). */
  op: "encode" | "decode" | "plug";
  /** Payload bytes per command. */
  payloadBytes: number;
  /** Commands per second. */
  commandsPerSec: number;
  /** Frames per second. */
  framesPerSec: number;
  /** Payload megabytes (10^6 bytes) per second. */
  mbPerSec: number;
}

/** Options for {@linkcode runCodecBench}. */
export interface CodecBenchOptions {
  /** Milliseconds spent on each measurement. @default {300} */
  durationMs?: number;
  /** Payload sizes to measure. @default {[100, 2048, 32768]} */
  sizes?: number[];
}

const FRAME_DATA = 2048;

// Commands per batch: enough that timing overhead vanishes, a few MB each.
function batchOf(size: number): number {
  return Math.max(16, Math.floor(4_000_000 / commandSize(size)));
}

function framesOf(size: number): number {
  return size === 0 ? 1 : Math.ceil(size / FRAME_DATA);
}

// Runs `batch` (which handles `perBatch` commands) until `ms` have passed.
async function measure(
  ms: number,
  perBatch: number,
  batch: () => void,
): Promise<number> {
  batch(); // warm up
  await Promise.resolve();
  let commands = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    batch();
    commands += perBatch;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return commands / (elapsed / 1000);
}

function result(
  op: CodecResult["op"],
  size: number,
  commandsPerSec: number,
): CodecResult {
  return {
    op,
    payloadBytes: size,
    commandsPerSec,
    framesPerSec: commandsPerSec * framesOf(size),
    mbPerSec: (commandsPerSec * size) / 1e6,
  };
}

async function benchEncode(size: number, ms: number): Promise<CodecResult> {
  const payload = new Uint8Array(size).fill(0x5a);
  const n = batchOf(size);
  const out = new Uint8Array(n * commandSize(size));
  const rate = await measure(ms, n, () => {
    let at = 0;
    for (let i = 0; i < n; i++) {
      at += encodeCommandInto(out, at, true, i, DcCmd.GET, payload);
    }
  });
  return result("encode", size, rate);
}

async function benchDecode(size: number, ms: number): Promise<CodecResult> {
  const n = batchOf(size);
  const wire = new Uint8Array(n * commandSize(size));
  const payload = new Uint8Array(size).fill(0xa5);
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += encodeCommandInto(wire, at, false, i, DcCmd.GET, payload);
  }
  const msg = {} as DcMsg;
  let sink = 0;
  const rate = await measure(ms, n, () => {
    for (let off = 0; off < wire.length;) {
      decodeMsg(wire, off, wire.length - off, "request", msg);
      sink += msg.requestUid;
      off += 14 + msg.data.length;
    }
  });
  if (sink < 0) {
    throw new Error("unreachable: keeps the decode from being optimised away");
  }
  return result("decode", size, rate);
}

// A server plug commits answers into an echo connection's buffer, which a
// client plug over the same connection reads back: the encode and decode
// of a server's hot path, without sockets.
async function benchPlug(size: number, ms: number): Promise<CodecResult> {
  const conn = new NalConnection();
  conn.createDummy(Math.max(65536, 2 * commandSize(size)));
  const server = new DcPlug(conn, DC_PLUG_FLAG_NOFREE_CONN);
  const client = new DcPlug(
    conn,
    DC_PLUG_FLAG_TO_SERVER | DC_PLUG_FLAG_NOFREE_CONN,
  );
  const payload = new Uint8Array(size).fill(1);
  const n = Math.min(batchOf(size), 1000);
  const rate = await measure(ms, n, () => {
    for (let i = 0; i < n; i++) {
      server.write(false, i, DcCmd.GET, payload);
      server.commit();
      client.io();
      if (client.read(false)?.requestUid !== i) {
        throw new Error("plug lost a command");
      }
      client.consume();
    }
  });
  server.close();
  client.close();
  conn.close();
  return result("plug", size, rate);
}

/**
 * Measures the codec and returns the figures.
 *
 * @example
 * ```ts
 * import { runCodecBench } from "./codec.ts";
 *
 * const results = await runCodecBench({ durationMs: 50, sizes: [100] });
 * console.log(results.length); // 3: encode, decode, plug
 * ```
 *
 * @param options How long to measure, and which payload sizes.
 */
export async function runCodecBench(
  options: CodecBenchOptions = {},
): Promise<CodecResult[]> {
  const ms = options.durationMs ?? 300;
  const out: CodecResult[] = [];
  for (const size of options.sizes ?? [100, 2048, 32768]) {
    out.push(await benchEncode(size, ms));
    out.push(await benchDecode(size, ms));
    out.push(await benchPlug(size, ms));
  }
  return out;
}

/**
 * Formats results as a table.
 *
 * @example
 * ```ts
 * import { formatCodecResults, runCodecBench } from "./codec.ts";
 *
 * console.log(formatCodecResults(await runCodecBench({ durationMs: 50 })));
 * ```
 *
 * @param results What {@linkcode runCodecBench} returned.
 */
export function formatCodecResults(results: CodecResult[]): string {
  const rows = [["op", "payload", "commands/s", "frames/s", "MB/s"]];
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  for (const r of results) {
    rows.push([
      r.op,
      `${r.payloadBytes} B`,
      fmt(r.commandsPerSec),
      fmt(r.framesPerSec),
      r.mbPerSec.toFixed(1),
    ]);
  }
  const widths = rows[0].map((_, c) =>
    Math.max(...rows.map((r) => r[c].length))
  );
  return rows
    .map((r) =>
      r.map((cell, c) =>
        c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])
      ).join("  ")
    )
    .join("\n");
}

if (import.meta.main) {
  // `--json` prints one JSON line for bench/main.ts; `--ms=N` per measurement.
  const args = process.argv.slice(2);
  const ms = Number(args.find((a) => a.startsWith("--ms="))?.slice(5) ?? 300);
  const results = await runCodecBench({ durationMs: ms });
  if (args.includes("--json")) console.log(JSON.stringify(results));
  else {
    console.log(`dc_enc codec bench (${navigator.userAgent})`);
    console.log(formatCodecResults(results));
  }
}
