/**
 * Renders a run's results: text tables for the terminal, the Markdown page
 * and SVG chart of `bench/results/`, and the performance block of the
 * repository's README. Everything here reads the saved results only, so
 * `--render` redraws the same pages from `latest.json`.
 *
 * @module
 */

import type { BenchResults } from "./_results.ts";
import { fmtStats, int, median, ratioStats } from "./_stats.ts";
import type { ReportTable, TargetRow } from "./section.ts";
import {
  MODE_LABEL,
  MODES,
  OURS,
  PEERS,
  type ThroughputData,
  type ThroughputPoint,
} from "./sections/throughput.ts";

/** The machine's description on one line. */
export function machineLine(r: BenchResults): string {
  return Object.entries(r.machine).map(([k, v]) => `${k}: ${v}`).join("; ");
}

/** Every section's targets, in section order. */
export function allTargets(r: BenchResults): TargetRow[] {
  return r.settings.sections.flatMap((s) => r.sections[s]?.targets ?? []);
}

function targetsTable(r: BenchResults): ReportTable | null {
  const t = allTargets(r);
  if (t.length === 0) return null;
  const met = t.filter((x) => x.status === "met").length;
  const unsettled = t.filter((x) => x.status === "unsettled").length;
  return {
    title: "Targets",
    head: ["target", "measured", "verdict"],
    rows: t.map((x) => [x.target, x.measured, x.verdict]),
    note: `${met} of ${t.length} met, ${
      t.length - met - unsettled
    } missed, ${unsettled} unsettled; judged on the per-round ratios.`,
  };
}

// Background load, sampled while the bench ran nothing.
const UNDER_LOAD = 0.15;

/** The settings and the machine's other load, in a sentence or two. */
export function runLine(r: BenchResults): string {
  const s = r.settings;
  const parts = [
    `${s.rounds} interleaved round(s) of ${s.seconds} s per point${
      s.quick ? " (--quick)" : ""
    }; ${
      s.pin
        ? `servers pinned to CPU ${s.pin.server} and the loader to CPU ${s.pin.loader} (taskset) for the rows that say so`
        : "nothing pinned"
    }.`,
  ];
  const busy = r.background.samples.map((x) => x.busy);
  if (busy.length) {
    const lo = Math.min(...busy);
    const hi = Math.max(...busy);
    const la = r.background.samples.map((x) => x.loadavg);
    parts.push(
      `Other work on the machine, sampled for 1 s before the run and after each section (the bench idle): ${
        (lo * 100).toFixed(0)
      }-${(hi * 100).toFixed(0)}% of the CPUs busy, load average ${
        Math.min(...la).toFixed(1)
      }-${Math.max(...la).toFixed(1)}.`,
    );
    if (hi > UNDER_LOAD) {
      parts.push(
        "This run was taken under load: the interleaving spreads that load over every server of a round alike, so the ratios hold better than the absolute figures, which a quiet machine would give higher; and on a contended CPU a multi-threaded server (memcached runs 4 worker threads) gets a larger share of it than a single-threaded one, which favours memcached.",
      );
    }
  }
  if (r.background.note) parts.push(r.background.note);
  return parts.join(" ");
}

function tablesOf(r: BenchResults): ReportTable[] {
  const out = r.settings.sections.flatMap((s) => r.sections[s]?.tables ?? []);
  const t = targetsTable(r);
  return t ? [...out, t] : out;
}

/** A table as aligned text. */
export function textTable(t: ReportTable): string {
  const all = [t.head, ...t.rows];
  const w = t.head.map((_, c) =>
    Math.max(...all.map((row) => (row[c] ?? "").length))
  );
  return all.map((row) =>
    row.map((cell, c) =>
      c === 0 ? (cell ?? "").padEnd(w[c]) : (cell ?? "").padStart(w[c])
    ).join("  ")
  ).join("\n");
}

/** A table in Markdown. */
export function mdTable(t: ReportTable): string {
  const line = (row: string[]) =>
    `| ${row.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [
    line(t.head),
    line(t.head.map((_, c) => c === 0 ? "---" : "---:")),
    ...t.rows.map(line),
  ].join("\n");
}

/** The results as text tables for the terminal. */
export function textReport(r: BenchResults): string {
  const parts = [`machine: ${machineLine(r)}`, runLine(r)];
  for (const t of tablesOf(r)) {
    parts.push(
      `${t.title}\n${textTable(t)}${t.note ? `\n(${t.note})` : ""}`,
    );
  }
  for (const s of r.skipped) parts.push(`skipped: ${s}`);
  return parts.join("\n\n");
}

/** The results as the Markdown page `bench/results/README.md`. */
export function markdownReport(r: BenchResults): string {
  const parts = [
    "# Benchmark results",
    `Written by \`deno task bench\` on ${r.date}. The raw figures are in [latest.json](latest.json).`,
    `Machine: ${machineLine(r)}.`,
    runLine(r),
  ];
  if (r.sections.throughput) parts.push("![throughput chart](latest.svg)");
  parts.push(
    "How it is measured: the servers run side by side, each idle while another is measured; the load comes from one separate process (`bench/loader.ts` under Bun, `node:net` sockets), the same for every server. For each point the servers run in turn, one loader run each, and that round is repeated; a ratio is taken within a round, and the tables give the median over the rounds with its range. GETs pick uniformly among 10,000 stored 16-byte ids holding 512 bytes each (stored before the runs); ADDs store new ids with 512 bytes and a 1 s lifetime. Each connection has one request in flight.",
  );
  for (const t of tablesOf(r)) {
    parts.push(
      `## ${t.title}\n\n${mdTable(t)}${t.note ? `\n\n${t.note}` : ""}`,
    );
  }
  if (r.skipped.length) {
    parts.push(`## Skipped\n\n${r.skipped.map((s) => `- ${s}`).join("\n")}`);
  }
  return parts.join("\n\n") + "\n";
}

function points(r: BenchResults): ThroughputPoint[] {
  return (r.sections.throughput?.data as ThroughputData | undefined)?.points ??
    [];
}

function medianOps(p: ThroughputPoint | undefined, s: string): number | null {
  const x = p?.series[s];
  return x ? median(x.opsPerSec) : null;
}

const NAMES: Record<string, string> = {
  "ours-bun": "ours (Bun)",
  "ours-deno": "ours (Deno)",
  memcached: "memcached",
  redis: "Redis",
  "c-dc_server": "C dc_server",
};

/**
 * The README's performance block: date and machine, the headline table per
 * transport (interleaved medians, ours/memcached per round), the C tools'
 * own load, and every target missed or unsettled, said plainly.
 */
export function readmeBlock(r: BenchResults): string {
  const pts = points(r);
  const parts = [
    `The latest full run (${r.date.slice(0, 10)}; ${machineLine(r)}): ${
      runLine(r)
    }`,
    "![throughput: ours under Bun and Deno, memcached, Redis, the C server](bench/results/latest.svg)",
  ];
  for (const transport of ["unix", "tcp"]) {
    const tp = pts.filter((p) => p.transport === transport);
    if (!tp.length) continue;
    const names = [...OURS, ...PEERS].filter((s) =>
      tp.some((p) => p.series[s])
    );
    const ours = OURS.filter((o) => names.includes(o));
    const table: ReportTable = {
      title: "",
      head: [
        `${transport.toUpperCase()}, ops/s`,
        ...names.map((s) => NAMES[s]),
        ...(names.includes("memcached")
          ? ours.map((o) => `${NAMES[o]} / memcached`)
          : []),
      ],
      rows: MODES.map((m) => tp.find((p) => p.mode === m)).filter((p) => p)
        .map((p) => [
          MODE_LABEL[p!.mode],
          ...names.map((s) => {
            const v = medianOps(p, s);
            return v === null ? "-" : int(v);
          }),
          ...(names.includes("memcached")
            ? ours.map((o) =>
              fmtStats(
                ratioStats(
                  p!.series[o]?.opsPerSec ?? [],
                  p!.series.memcached.opsPerSec,
                ),
              )
            )
            : []),
        ]),
    };
    parts.push(mdTable(table));
  }
  const dc = r.sections.dctest?.tables[0];
  if (dc) parts.push(`${dc.title}:\n\n${mdTable(dc)}`);
  const t = allTargets(r);
  if (t.length) {
    const met = t.filter((x) => x.status === "met");
    const behind = t.filter((x) =>
      x.status === "missed" || x.everyRound === "missed"
    );
    const unclear = t.filter((x) =>
      x.status === "unsettled" && x.everyRound !== "missed"
    );
    const list = (xs: TargetRow[]) =>
      xs.map((x) => `- ${x.target}: ${x.measured}`).join("\n");
    // An unsettled row says why when it is not the spread (the loader's limit).
    const listWhy = (xs: TargetRow[]) =>
      xs.map((x) =>
        `- ${x.target}: ${x.measured}${
          x.verdict.startsWith("not judged") ? `; ${x.verdict}` : ""
        }`
      ).join("\n");
    parts.push(
      `Targets (ratios per round: median, and range over the rounds): ${met.length} of ${t.length} met.`,
    );
    if (behind.length) {
      parts.push(
        `Where we are behind: missed, or missed in every round even where the rounds spread too wide to judge (${behind.length}):\n\n${
          list(behind)
        }`,
      );
    }
    if (unclear.length) {
      parts.push(
        `Not judged: the rounds spread over ±10%, or every server gave the same rate (${unclear.length}; those marked "every round meets it" on the results page met the target in each round):\n\n${
          listWhy(unclear)
        }`,
      );
    }
  }
  parts.push(
    "Every table of the run (latency, scale, memory, the proxy, the codec) is in [bench/results/](bench/results/README.md).",
  );
  return parts.join("\n\n");
}

/** The README's performance block is kept between these lines. */
export const README_BEGIN =
  "<!-- bench:begin: written by `deno task bench` from bench/results/latest.json -->";
/** The end of the block. */
export const README_END = "<!-- bench:end -->";

/**
 * `readme` with its performance block replaced by `block`; null when the
 * markers are missing.
 */
export function spliceReadme(readme: string, block: string): string | null {
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) return null;
  return readme.slice(0, a + README_BEGIN.length) + "\n\n" + block + "\n\n" +
    readme.slice(b);
}

const COLORS: Record<string, string> = {
  "ours-deno": "#2a7ae2",
  "ours-bun": "#f08c00",
  memcached: "#6c757d",
  redis: "#c92a2a",
  "c-dc_server": "#2b8a3e",
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

/** A grouped bar chart of the throughput medians, as SVG. */
export function svgChart(r: BenchResults): string {
  const pts = points(r);
  const servers = [...OURS, ...PEERS].filter((s) =>
    pts.some((p) => p.series[s])
  );
  const panels = ["unix", "tcp"].filter((t) =>
    pts.some((x) => x.transport === t)
  );
  const all = pts.flatMap((p) => servers.map((s) => medianOps(p, s) ?? 0));
  const max = niceTop(Math.max(1, ...all));
  const panelW = 480;
  const h = 300;
  const top = 50;
  const bottom = 40;
  const width = panelW * Math.max(1, panels.length) + 20;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${
      h + top + bottom + 30
    }" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15">distcache throughput, ops/s (90% GET / 10% ADD, 512 B), median of ${r.settings.rounds} interleaved rounds, ${
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
      const bw = (gw - 12) / Math.max(1, servers.length);
      const pt = pts.find((x) => x.transport === transport && x.mode === mode);
      servers.forEach((s, i) => {
        const v = medianOps(pt, s);
        if (v === null) return;
        const bh = (h * v) / max;
        out.push(
          `<rect x="${(x0 + 46 + m * gw + i * bw).toFixed(1)}" y="${
            (top + h - bh).toFixed(1)
          }" width="${(bw - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${
            COLORS[s] ?? "#999"
          }"><title>${s} ${transport} ${mode}: ${int(v)} ops/s</title></rect>`,
        );
      });
      out.push(
        `<text x="${(x0 + 40 + m * gw + gw / 2).toFixed(1)}" y="${
          top + h + 16
        }" text-anchor="middle">${esc(MODE_LABEL[mode])}</text>`,
      );
    });
  });
  servers.forEach((s, i) => {
    const x = 20 + i * 140;
    const y = top + h + bottom + 10;
    out.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${
        COLORS[s] ?? "#999"
      }"/>`,
      `<text x="${x + 18}" y="${y}">${esc(NAMES[s] ?? s)}</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
