/**
 * The codec rows: encode, decode and an in-memory plug round trip under
 * each runtime (`bench/codec.ts`, run in a process of its own). Not
 * interleaved: nothing here is compared across servers.
 *
 * @module
 */

import { bunPath, denoPath, runJson } from "../_procs.ts";
import { int } from "../_stats.ts";
import type { CodecResult } from "../codec.ts";
import type { BenchSection, ReportTable, SectionOutput } from "../section.ts";

/** The codec table of one runtime. */
export function codecTable(runtime: string, rows: CodecResult[]): ReportTable {
  return {
    title: `Codec under ${runtime}`,
    head: ["op", "payload", "commands/s", "frames/s", "MB/s"],
    rows: rows.map((r) => [
      r.op,
      `${r.payloadBytes} B`,
      int(r.commandsPerSec),
      int(r.framesPerSec),
      r.mbPerSec.toFixed(1),
    ]),
  };
}

function render(
  d: Record<string, CodecResult[]>,
): Omit<SectionOutput, "data"> {
  return {
    tables: Object.entries(d).map(([r, rows]) => codecTable(r, rows)),
  };
}

/** The section. */
export const codec: BenchSection = {
  name: "codec",
  summary: "encode/decode/plug round trip in memory, per runtime",
  async run(ctx): Promise<SectionOutput> {
    const ms = ctx.quick ? "100" : "300";
    ctx.log("codec");
    const data: Record<string, CodecResult[]> = {
      deno: await runJson<CodecResult[]>([
        denoPath(),
        "run",
        "-A",
        "bench/codec.ts",
        "--json",
        `--ms=${ms}`,
      ]),
      bun: await runJson<CodecResult[]>([
        bunPath(),
        "bench/codec.ts",
        "--json",
        `--ms=${ms}`,
      ]),
    };
    return { ...render(data), data };
  },
  render: (data) => render(data as Record<string, CodecResult[]>),
};
