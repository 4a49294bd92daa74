// Test helpers that run the README's sh blocks as an operator would, in a
// test's temporary directory: `distcache` is this runtime's CLI, the
// example hosts and ports are mapped onto loopback and ports free now
// (see `README_HOSTS`), tools the block leaves running in the foreground
// are started in the background and, like its daemons, stopped after.

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { cliCommand, SOURCE_ROOT } from "./_cli.ts";
import { freePort } from "./_redis.ts";
import { until } from "./_servers.ts";

/** The README's text under `## <title>`, up to the next `## ` heading. */
export function readmeSection(title: string): string {
  const text = fs.readFileSync(path.join(SOURCE_ROOT, "README.md"), "utf8");
  const start = text.indexOf(`\n## ${title}\n`);
  if (start < 0) throw new Error(`no README section "${title}"`);
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The ```sh blocks of a piece of Markdown, in order. */
export function shBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```\n/g)].map((m) => m[1]);
}

function quote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * What the README's hosts, networks, ports and system paths become in a
 * test: the cache host 10.0.0.5 is loopback, the web hosts' network
 * 10.0.0.0/24 is 127.0.0.0/8, ports 9001 and 9002 are free ports, /run/
 * and /tmp/scache are in the test's directory.
 */
export async function readmeHosts(dir: string): Promise<[RegExp, string][]> {
  const [p1, p2] = [await freePort(), await freePort()];
  return [
    [/IP:9001\b/g, `IP:127.0.0.1:${p1}`],
    [/IP:9002\b/g, `IP:127.0.0.1:${p2}`],
    [/:9001\b/g, `:${p1}`],
    [/10\.0\.0\.5\b/g, "127.0.0.1"],
    [/10\.0\.0\.0\/24/g, "127.0.0.0/8"],
    [/\/run\//g, `${dir}/`],
    [/\/tmp\/scache\b/g, path.join(dir, "scache")],
  ];
}

/** What running a block left behind, to check and to stop. */
export interface BlockRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Output files of the tools started in the background, by tool. */
  background: Map<string, string>;
}

/**
 * Runs one sh block in `dir` with `sh -e`: `distcache` runs this runtime's
 * CLI; a `distcache server|client|snoop` line without `-daemon` is started
 * in the background (its output in `<tool>.out`, its pid in
 * `<tool>.bgpid`), since it would run until stopped.
 */
export function runBlock(
  block: string,
  dir: string,
  hosts: [RegExp, string][],
): Promise<BlockRun> {
  const cli = cliCommand([]);
  const runtime = [cli.command, ...cli.args].map(quote).join(" ");
  let text = block;
  for (const [from, to] of hosts) text = text.replace(from, to);
  const background = new Map<string, string>();
  const lines = text.replace(/\\\n/g, " ").split("\n").map((line) => {
    const m = /^distcache (server|client|snoop)\b(.*)$/.exec(line);
    if (m === null || /\s-daemon\b/.test(m[2])) return line;
    const out = path.join(dir, `${m[1]}.out`);
    background.set(m[1], out);
    return `${runtime} ${m[1]}${m[2]} > ${quote(out)} 2>&1 & echo $! > ${
      quote(path.join(dir, `${m[1]}.bgpid`))
    }`;
  });
  const script = `distcache() { ${runtime} "$@"; }\n${lines.join("\n")}\n`;
  return new Promise((resolve) => {
    const child = spawn("sh", ["-ec", script], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on(
      "data",
      (d: Uint8Array) => stdout += new TextDecoder().decode(d),
    );
    child.stderr.on(
      "data",
      (d: Uint8Array) => stderr += new TextDecoder().decode(d),
    );
    child.on(
      "close",
      (code) => resolve({ code: code ?? 1, stdout, stderr, background }),
    );
  });
}

/** Waits until a background tool's output has its "listening on" line. */
export function waitListening(file: string): Promise<void> {
  return until(
    () =>
      fs.existsSync(file) &&
      /listening on /.test(fs.readFileSync(file, "utf8")),
    15_000,
    `the listening line in ${file}`,
  );
}

/**
 * Stops (SIGTERM, then SIGKILL) every process whose pid is in a pidfile
 * or `.bgpid` file of `dir`.
 */
export async function stopAll(dir: string): Promise<void> {
  const pids: number[] = [];
  for (const f of fs.readdirSync(dir)) {
    if (!/\.(pid|bgpid)$/.test(f)) continue;
    const pid = Number(fs.readFileSync(path.join(dir, f), "utf8").trim());
    if (pid > 0) pids.push(pid);
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGTERM");
  try {
    await until(
      () => !pids.some(alive),
      10_000,
      "the README's processes to stop",
    );
  } finally {
    for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  }
}
