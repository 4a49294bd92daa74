/**
 * Renders benchmark results: the targets' verdicts, text tables for the
 * terminal, a Markdown page and an SVG chart for `bench/results/`.
 *
 * @module
 */

import type { BenchResults, TargetRow, ThroughputRow } from "./_results.ts";
import { formatCodecResults } from "./codec.ts";

/** Servers in display order. */
export const SERVERS: string[] = [
  "ours-deno",
  "ours-bun",
  "memcached",
  "redis",
];
/** Modes in display order. */
export const MODES: string[] = ["c1", "c8", "c64", "perop"];

const MODE_LABEL: Record<string, string> = {
  c1: "1 conn",
  c8: "8 conns",
  c64: "64 conns",
  perop: "conn per op (8)",
};

function find(
  r: BenchResults,
  transport: string,
  server: string,
  mode: string,
): ThroughputRow | undefined {
  return r.throughput.find((t) =>
    t.transport === transport && t.server === server && t.mode === mode
  );
}

/** A whole number with thousands separators. */
export function int(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a && b ? `${(a / b).toFixed(2)}x` : "-";
}

/** Judges the issue's targets against the measured figures. */
export function evaluateTargets(r: BenchResults): TargetRow[] {
  const out: TargetRow[] = [];
  const minOps = { "ours-bun": 150_000, "ours-deno": 100_000 };
  for (const [server, want] of Object.entries(minOps)) {
    const row = find(r, "unix", server, "c8");
    if (row) {
      out.push({
        target: `${server}, 8 conns, UNIX, 90/10: >= ${int(want)} ops/s`,
        measured: `${int(row.opsPerSec)} ops/s`,
        met: row.opsPerSec >= want,
      });
    }
  }
  for (const server of ["ours-bun", "ours-deno"]) {
    const rows = r.scale.filter((s) => s.server === server);
    if (rows.length >= 2) {
      const small = rows[0];
      const big = rows[rows.length - 1];
      out.push({
        target: `${server}: ops/s at ${int(big.stored)} stored within 15% of ${
          int(small.stored)
        }`,
        measured: `${int(big.opsPerSec)} vs ${int(small.opsPerSec)} (${
          ratio(big.opsPerSec, small.opsPerSec)
        })`,
        met: big.opsPerSec >= 0.85 * small.opsPerSec,
      });
    }
    const mem = r.memory.find((m) => m.server === server);
    if (mem) {
      out.push({
        target: `${server}: RSS per stored 512-byte session <= 1024 bytes`,
        measured: `${int(mem.bytesPerSession)} bytes at ${int(mem.stored)}`,
        met: mem.bytesPerSession <= 1024,
      });
    }
    const lat = find(r, "unix", server, "c1");
    if (lat) {
      out.push({
        target: `${server}: one-at-a-time p50 over UNIX < 60 us`,
        measured: `${lat.p50us} us`,
        met: lat.p50us < 60,
      });
    }
    for (const transport of ["unix", "tcp"]) {
      for (const mode of ["c8", "c64"]) {
        const ours = find(r, transport, server, mode);
        const mc = find(r, transport, "memcached", mode);
        if (ours && mc) {
          out.push({
            target: `${server}: >= 0.7x memcached, ${transport.toUpperCase()} ${
              MODE_LABEL[mode]
            }`,
            measured: `${ratio(ours.opsPerSec, mc.opsPerSec)} (${
              int(ours.opsPerSec)
            } vs ${int(mc.opsPerSec)})`,
            met: ours.opsPerSec >= 0.7 * mc.opsPerSec,
          });
        }
      }
    }
  }
  return out;
}

interface Table {
  head: string[];
  rows: string[][];
}

function tables(r: BenchResults): [string, Table][] {
  const out: [string, Table][] = [];
  for (const transport of ["unix", "tcp"]) {
    const rows: string[][] = [];
    for (const mode of MODES) {
      const v = SERVERS.map((s) => find(r, transport, s, mode)?.opsPerSec);
      if (v.every((x) => x === undefined)) continue;
      rows.push([
        MODE_LABEL[mode],
        ...v.map((x) => x === undefined ? "-" : int(x)),
        ratio(v[1], v[2]),
        ratio(v[1], v[3]),
        ratio(v[0], v[2]),
        ratio(v[0], v[3]),
      ]);
    }
    if (rows.length) {
      out.push([
        `Throughput, ops/s, ${transport.toUpperCase()} (90% GET / 10% ADD, 512 B)`,
        {
          head: [
            "load",
            ...SERVERS,
            "bun/mc",
            "bun/redis",
            "deno/mc",
            "deno/redis",
          ],
          rows,
        },
      ]);
    }
  }
  const lat: string[][] = [];
  for (const transport of ["unix", "tcp"]) {
    for (const s of SERVERS) {
      const t = find(r, transport, s, "c1");
      if (t) {
        lat.push([
          transport.toUpperCase(),
          s,
          String(t.p50us),
          String(t.p99us),
          String(t.p999us),
        ]);
      }
    }
  }
  if (lat.length) {
    out.push([
      "Latency of one-at-a-time operations (1 connection), microseconds",
      { head: ["transport", "server", "p50", "p99", "p99.9"], rows: lat },
    ]);
  }
  const sizes = [...new Set(r.scale.map((s) => s.stored))];
  if (sizes.length) {
    const rows = SERVERS.filter((s) => r.scale.some((x) => x.server === s))
      .map((s) => {
        const v = sizes.map((n) =>
          r.scale.find((x) => x.server === s && x.stored === n)
        );
        return [
          s,
          ...v.map((x) =>
            x
              ? `${int(x.opsPerSec)} (${(x.rss / 2 ** 20).toFixed(0)} MiB)`
              : "-"
          ),
          ratio(v[v.length - 1]?.opsPerSec, v[0]?.opsPerSec),
        ];
      });
    out.push([
      "Scale: ops/s (server RSS) with sessions stored (8 conns, UNIX, GETs over all of them)",
      {
        head: ["server", ...sizes.map((n) => `${int(n)} stored`), "last/first"],
        rows,
      },
    ]);
  }
  if (r.memory.length) {
    out.push([
      "Memory: RSS per stored session (16-byte id, 512-byte data)",
      {
        head: ["server", "sessions", "RSS empty", "RSS full", "bytes/session"],
        rows: r.memory.map((m) => [
          m.server,
          int(m.stored),
          `${(m.rssEmpty / 2 ** 20).toFixed(0)} MiB`,
          `${(m.rssFull / 2 ** 20).toFixed(0)} MiB`,
          int(m.bytesPerSession),
        ]),
      },
    ]);
  }
  if (r.proxy.length) {
    out.push([
      "Proxy (client) against direct, UNIX, ops/s",
      {
        head: ["runtime", "load", "direct", "via proxy", "proxy/direct"],
        rows: r.proxy.map((p) => [
          p.runtime,
          MODE_LABEL[p.mode],
          int(p.direct),
          int(p.proxied),
          ratio(p.proxied, p.direct),
        ]),
      },
    ]);
  }
  if (r.targets.length) {
    out.push([
      "Targets",
      {
        head: ["target", "measured", "met"],
        rows: r.targets.map((
          t,
        ) => [t.target, t.measured, t.met ? "yes" : "NO"]),
      },
    ]);
  }
  return out;
}

function textTable(t: Table): string {
  const all = [t.head, ...t.rows];
  const w = t.head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) =>
    r.map((cell, c) => c === 0 ? cell.padEnd(w[c]) : cell.padStart(w[c]))
      .join("  ")
  ).join("\n");
}

function mdTable(t: Table): string {
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [
    line(t.head),
    line(t.head.map((_, c) => c === 0 ? "---" : "---:")),
    ...t.rows.map(line),
  ].join("\n");
}

/** The machine's description on one line. */
export function machineLine(r: BenchResults): string {
  return Object.entries(r.machine).map(([k, v]) => `${k}: ${v}`).join("; ");
}

/** The results as text tables for the terminal. */
export function textReport(r: BenchResults): string {
  const parts = [`machine: ${machineLine(r)}`];
  for (const [title, t] of tables(r)) parts.push(`${title}\n${textTable(t)}`);
  for (const [runtime, rows] of Object.entries(r.codec)) {
    parts.push(`Codec under ${runtime}\n${formatCodecResults(rows)}`);
  }
  for (const s of r.skipped) parts.push(`skipped: ${s}`);
  return parts.join("\n\n");
}

/** The results as the Markdown page `bench/results/README.md`. */
export function markdownReport(r: BenchResults): string {
  const parts = [
    "# Benchmark results",
    `Written by \`deno task bench\` on ${r.date}. Median of ${r.settings.reps} runs of ${r.settings.seconds} s per point${
      r.settings.quick ? " (--quick)" : ""
    }. The raw figures are in [latest.json](latest.json).`,
    `Machine: ${machineLine(r)}.`,
    "![throughput chart](latest.svg)",
    "How it is measured: each server runs alone on this machine; the load comes from one separate process (`bench/loader.ts` under Bun, `node:net` sockets), the same for every server. GETs pick uniformly among 10,000 stored 16-byte ids holding 512 bytes each (stored before the runs); ADDs store new ids with 512 bytes and a 1 s lifetime, so the store keeps turning over. Each connection has one request in flight.",
  ];
  for (const [title, t] of tables(r)) {
    parts.push(`## ${title}\n\n${mdTable(t)}`);
  }
  for (const [runtime, rows] of Object.entries(r.codec)) {
    parts.push(
      `## Codec under ${runtime}\n\n\`\`\`\n${
        formatCodecResults(rows)
      }\n\`\`\``,
    );
  }
  if (r.skipped.length) {
    parts.push(`## Skipped\n\n${r.skipped.map((s) => `- ${s}`).join("\n")}`);
  }
  return parts.join("\n\n") + "\n";
}

const COLORS: Record<string, string> = {
  "ours-deno": "#2a7ae2",
  "ours-bun": "#f08c00",
  memcached: "#6c757d",
  redis: "#c92a2a",
};

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

// The smallest round value (4 steps of 1, 2, 2.5 or 5 times a power of ten)
// at or above `x`, so that the axis reads in round numbers.
function niceTop(x: number): number {
  const raw = x / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return step * 4;
}

/** A grouped bar chart of the throughput rows, as SVG. */
export function svgChart(r: BenchResults): string {
  const panels = ["unix", "tcp"].filter((t) =>
    r.throughput.some((x) => x.transport === t)
  );
  const max = niceTop(Math.max(1, ...r.throughput.map((t) => t.opsPerSec)));
  const panelW = 460;
  const h = 300;
  const top = 50;
  const bottom = 40;
  const width = panelW * Math.max(1, panels.length) + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${
      h + top + bottom + 30
    }" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15">distcache throughput, ops/s (90% GET / 10% ADD, 512 B), ${
      esc(r.date.slice(0, 10))
    }</text>`,
  ];
  panels.forEach((transport, p) => {
    const x0 = 20 + p * panelW;
    const inner = panelW - 60;
    out.push(
      `<text x="${x0 + 40}" y="${
        top - 8
      }" font-weight="bold">${transport.toUpperCase()}</text>`,
      `<line x1="${x0 + 40}" y1="${top + h}" x2="${x0 + 40 + inner}" y2="${
        top + h
      }" stroke="black"/>`,
    );
    for (let g = 0; g <= 4; g++) {
      const v = (max * g) / 4;
      const y = top + h - (h * g) / 4;
      out.push(
        `<text x="${x0 + 36}" y="${y + 4}" text-anchor="end" font-size="10">${
          Math.round(v / 1000)
        }k</text>`,
        `<line x1="${x0 + 40}" y1="${y}" x2="${
          x0 + 40 + inner
        }" y2="${y}" stroke="#ddd"/>`,
      );
    }
    const gw = inner / MODES.length;
    MODES.forEach((mode, m) => {
      const bw = (gw - 12) / SERVERS.length;
      SERVERS.forEach((s, i) => {
        const row = find(r, transport, s, mode);
        if (!row) return;
        const bh = (h * row.opsPerSec) / max;
        out.push(
          `<rect x="${(x0 + 46 + m * gw + i * bw).toFixed(1)}" y="${
            (top + h - bh).toFixed(1)
          }" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${
            COLORS[s]
          }"><title>${s} ${transport} ${mode}: ${
            int(row.opsPerSec)
          } ops/s</title></rect>`,
        );
      });
      out.push(
        `<text x="${(x0 + 40 + m * gw + gw / 2).toFixed(1)}" y="${
          top + h + 16
        }" text-anchor="middle">${esc(MODE_LABEL[mode])}</text>`,
      );
    });
  });
  SERVERS.forEach((s, i) => {
    const x = 20 + i * 140;
    const y = top + h + bottom + 10;
    out.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${
        COLORS[s]
      }"/>`,
      `<text x="${x + 18}" y="${y}">${s}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
