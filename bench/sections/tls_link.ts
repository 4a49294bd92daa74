/**
 * What TLS on a TCP link costs (`deno task bench --only=tls-link`): ops/s
 * of the 90/10 mix at 8 persistent connections against our server over
 * plain TCP and over TLS (`-tls-cert`/`-tls-key`, a P-256 certificate made
 * by openssl for the run; the loader verifies it), per runtime, every
 * contender interleaved round by round; and the ratio TLS / plain per
 * round. No goal: the figures say what encryption costs here.
 *
 * @module
 */

import {
  type Contender,
  interleave,
  loaderContender,
  type Series,
  seriesOf,
  showOps,
  withServers,
} from "../_interleave.ts";
import {
  bunPath,
  dcAddress,
  denoPath,
  load,
  type ServerKind,
} from "../_procs.ts";
import { fmtStats, medianInt, ratioStats } from "../_stats.ts";
import type { LoaderResult } from "../loader.ts";
import type {
  BenchContext,
  BenchSection,
  ReportTable,
  SectionOutput,
} from "../section.ts";
import { makePki } from "../../tests/_certs.ts";
import { makeTempDir, removeDir } from "../../tests/_servers.ts";

const RUNTIMES = ["bun", "deno"] as const;

/** What the section keeps: per contender (`bun plain`, `bun tls`, ...). */
export interface TlsLinkData {
  series: Record<string, Series>;
}

function kind(
  runtime: "bun" | "deno",
  tls: { cert: string; key: string } | null,
): ServerKind {
  const cli = runtime === "deno"
    ? [denoPath(), "run", "-A", "cli/main.ts"]
    : [bunPath(), "cli/main.ts"];
  return {
    name: `${runtime} ${tls === null ? "plain" : "tls"}`,
    proto: "dc",
    argv: (at, sessions) => [
      ...cli,
      "server",
      "-listen",
      dcAddress(at),
      "-sessions",
      String(sessions),
      ...(tls === null ? [] : ["-tls-cert", tls.cert, "-tls-key", tls.key]),
    ],
  };
}

/** The tables. */
export function tlsLinkTables(d: TlsLinkData): ReportTable[] {
  const rows = RUNTIMES.filter((rt) =>
    d.series[`${rt} plain`] || d.series[`${rt} tls`]
  ).map((rt) => {
    const plain = d.series[`${rt} plain`];
    const tls = d.series[`${rt} tls`];
    return [
      `ours (${rt})`,
      plain ? medianInt(plain.opsPerSec) : "-",
      tls ? medianInt(tls.opsPerSec) : "-",
      fmtStats(ratioStats(tls?.opsPerSec ?? [], plain?.opsPerSec ?? [])),
    ];
  });
  return [{
    title:
      "TLS on a TCP link: ops/s at 8 conns (90% GET / 10% ADD, 512 B), median of the rounds",
    head: [
      "server",
      "plain TCP",
      "TLS",
      "TLS / plain per round, median (min-max)",
    ],
    rows,
    note:
      "TCP loopback, persistent connections; TLS 1.3 with a P-256 certificate (the runtime's own TLS), the loader (node:tls under Bun) verifying it; server and loader pinned when the machine allows.",
  }];
}

/** The section. */
export const tlsLink: BenchSection = {
  name: "tls-link",
  summary:
    "ops/s over TLS against plain TCP at 8 conns, per runtime, interleaved",
  async run(ctx: BenchContext): Promise<SectionOutput> {
    const dir = makeTempDir("distcache-bench-tls-");
    try {
      const pki = makePki(dir);
      const tls = { cert: pki.server.certFile, key: pki.server.keyFile };
      const kinds = RUNTIMES.flatMap((rt) => [kind(rt, null), kind(rt, tls)]);
      const series: Record<string, Series> = {};
      await withServers(ctx, kinds, "tcp", 200_000, async (up) => {
        const jobOf = (name: string) =>
          name.endsWith(" tls") ? { tlsCa: pki.caFile } : {};
        for (const s of up) {
          await load(
            { action: "fill", proto: "dc", ids: 10_000, ...jobOf(s.kind.name) },
            s.at,
            ctx.pin?.loader,
          );
        }
        const contenders: Contender<LoaderResult>[] = up.map((s) =>
          loaderContender(ctx, s.kind.name, {
            action: "run",
            proto: "dc",
            conns: 8,
            ...jobOf(s.kind.name),
          }, s.at)
        );
        const rounds = await interleave(
          ctx,
          "tls-link 8 conns",
          contenders,
          showOps,
        );
        for (const [name, rs] of Object.entries(rounds)) {
          series[name] = seriesOf(rs);
        }
      });
      const data: TlsLinkData = { series };
      return { tables: tlsLinkTables(data), data };
    } finally {
      removeDir(dir);
    }
  },
  render(data: unknown) {
    return { tables: tlsLinkTables(data as TlsLinkData) };
  },
};
