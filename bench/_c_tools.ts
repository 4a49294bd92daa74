/**
 * The original C tools (`dc_server`, `dc_client`, `dc_test`), measured
 * beside ours: found where CI or an operator put them, or built from the
 * source archive with its `build.sh` into a cache keyed by the archive's
 * hash (the same place `.ci/run` builds them). They are a yardstick only:
 * nothing of them is shipped.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { dcAddress, ROOT, type ServerKind } from "./_procs.ts";

/** Where the C tools are. */
export interface CTools {
  /** Their bin directory. */
  bin: string;
  /** `dc_server`. */
  server: string;
  /** `dc_client` (the proxy). */
  client: string;
  /** `dc_test`. */
  test: string;
}

/** The C server's largest `-sessions` (its store is one sorted array). */
export const C_MAX_SESSIONS = 60_000;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The tools in `bin`, or null when one is missing. */
export function cToolsIn(bin: string): CTools | null {
  const t = {
    bin,
    server: join(bin, "dc_server"),
    client: join(bin, "dc_client"),
    test: join(bin, "dc_test"),
  };
  return executable(t.server) && executable(t.client) && executable(t.test)
    ? t
    : null;
}

// The main checkout of a git worktree: the C source sits beside it when the
// bench runs from a worktree.
function mainCheckout(): string | null {
  const r = spawnSync("git", ["rev-parse", "--git-common-dir"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) return null;
  return dirname(resolve(ROOT, r.stdout.trim()));
}

/**
 * The directory holding the C source archive and `build.sh`: beside the
 * repository (also beside a worktree's main checkout), else
 * `$DISTCACHE_C_SRC`; null when none has `build.sh`.
 */
export function cSourceDir(): string | null {
  const rel = "../shared/reference/c-distcache";
  const main = mainCheckout();
  const candidates = [
    join(ROOT, rel),
    ...(main && main !== ROOT ? [join(main, rel)] : []),
    ...(process.env.DISTCACHE_C_SRC ? [process.env.DISTCACHE_C_SRC] : []),
  ];
  return candidates.find((d) =>
    existsSync(join(d, "build.sh")) &&
    existsSync(join(d, "distcache-src.tar.gz"))
  ) ?? null;
}

/** The build prefix for a source dir: `~/.cache/distcache-c/<archive hash>`. */
export function cBuildPrefix(src: string): string {
  const hash = createHash("sha256")
    .update(readFileSync(join(src, "distcache-src.tar.gz")))
    .digest("hex")
    .slice(0, 16);
  return join(os.homedir(), ".cache", "distcache-c", hash);
}

/**
 * The C tools: `$DISTCACHE_C_BIN`, then `/opt/cdc/bin`, then a cached
 * build; failing those, builds them with `build.sh` (about a minute).
 * Returns the tools, or why there are none.
 */
export function ensureCTools(
  log: (line: string) => void,
): { tools: CTools } | { tools: null; why: string } {
  const env = process.env.DISTCACHE_C_BIN;
  for (const bin of [...(env ? [env] : []), "/opt/cdc/bin"]) {
    const t = cToolsIn(bin);
    if (t) return { tools: t };
  }
  const src = cSourceDir();
  if (src === null) {
    return {
      tools: null,
      why:
        "the C tools are not in $DISTCACHE_C_BIN or /opt/cdc/bin, and their source archive (beside the repository, or in $DISTCACHE_C_SRC) was not found",
    };
  }
  const prefix = cBuildPrefix(src);
  const cached = cToolsIn(join(prefix, "bin"));
  if (cached) return { tools: cached };
  log(`building the C tools: ${src}/build.sh ${prefix}`);
  const r = spawnSync("bash", [join(src, "build.sh"), prefix], {
    stdio: ["ignore", "inherit", "pipe"],
    encoding: "utf8",
  });
  const built = cToolsIn(join(prefix, "bin"));
  if (built) return { tools: built };
  return {
    tools: null,
    why: `${src}/build.sh ${prefix} failed (exit ${r.status}): ${
      (r.stderr ?? "").trim().split("\n").slice(-3).join(" ")
    }`,
  };
}

/** The C `dc_server` as a server of the comparison rows. */
export function cServerKind(tools: CTools): ServerKind {
  return {
    name: "c-dc_server",
    proto: "dc",
    argv: (at, sessions) => [
      tools.server,
      "-listen",
      dcAddress(at),
      "-sessions",
      String(Math.min(sessions, C_MAX_SESSIONS)),
    ],
  };
}
