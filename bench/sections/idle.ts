/**
 * Memory per idle connection: each server with 10,000 connections that send
 * nothing (2,000 with `--quick`), its RSS growth divided by them
 * (`bench/idle_conns.ts`). Memory does not move with a neighbour's CPU use,
 * so one measurement per server.
 *
 * @module
 */

import {
  type IdleConnectionsResult,
  measureIdleConnections,
} from "../idle_conns.ts";
import { int } from "../_stats.ts";
import type { BenchSection, ReportTable, SectionOutput } from "../section.ts";

/** One server's figures. */
export interface IdlePoint extends IdleConnectionsResult {
  /** Server name. */
  server: string;
}

// What a Deno server paid per idle connection before buffers were
// allocated on first use (118 KiB), and the goal for ours.
const MOST_BYTES = 32 * 1024;

function tables(points: IdlePoint[]): ReportTable[] {
  return [{
    title: "Memory: RSS per idle connection",
    head: ["server", "connections", "RSS before", "RSS after", "bytes/conn"],
    rows: points.map((p) => [
      p.server,
      int(p.connections),
      `${(p.rssBefore / 2 ** 20).toFixed(0)} MiB`,
      `${(p.rssAfter / 2 ** 20).toFixed(0)} MiB`,
      int(p.bytesPerConnection),
    ]),
    note:
      `(RSS with the connections accepted - RSS before) / connections; ours aims under ${
        int(MOST_BYTES)
      } bytes.`,
  }];
}

/** The section. */
export const idle: BenchSection = {
  name: "idle",
  summary: "RSS per idle connection, 10,000 connections that send nothing",
  peers: true,
  render: (data) => ({
    tables: tables((data as { points: IdlePoint[] }).points),
  }),
  async run(ctx): Promise<SectionOutput> {
    const connections = ctx.quick ? 2_000 : 10_000;
    const points: IdlePoint[] = [];
    for (const kind of ctx.servers) {
      try {
        const r = await measureIdleConnections(
          (path) => kind.argv({ kind: "unix", path }, 1000),
          connections,
        );
        points.push({ server: kind.name, ...r });
        ctx.log(
          `idle: ${kind.name}: ${
            int(r.bytesPerConnection)
          } bytes per idle connection`,
        );
      } catch (e) {
        ctx.skip(`idle: ${kind.name}: ${(e as Error).message}`);
      }
    }
    return { tables: tables(points), data: { points } };
  },
};
