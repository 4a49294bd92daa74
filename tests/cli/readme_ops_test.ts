// The README's "Metrics" and "Snapshots" commands, run as written (paths
// and ports moved into a temporary directory and onto free ports), with
// real processes under the runtime that runs this test.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import process from "node:process";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import { type CliProcess, CliSandbox, runCli, SOURCE_ROOT } from "../_cli.ts";
import { alive } from "../_proc.ts";
import { parsePrometheus, sampleOf } from "../_prometheus.ts";
import { until } from "../_servers.ts";

const README = fs.readFileSync(path.join(SOURCE_ROOT, "README.md"), "utf8");

/** The command lines of the sh blocks of a README section. */
function commands(heading: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has ${heading}`);
  const end = README.indexOf("\n## ", start + heading.length + 2);
  const section = README.slice(start, end < 0 ? undefined : end);
  const out: string[] = [];
  for (const block of section.matchAll(/```sh\n([^]*?)```/g)) {
    for (const line of block[1].replace(/\\\n\s*/g, " ").split("\n")) {
      if (line.trim() !== "" && !line.trim().startsWith("#")) out.push(line);
    }
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function words(line: string): string[] {
  return line.trim().split(/\s+/);
}

describe("README commands", () => {
  const box = new CliSandbox("distcache-readme-");

  // What the README names, moved into the sandbox.
  function localize(line: string, port: number, proxyPort = 0): string {
    return line
      .replaceAll("IP:127.0.0.1:9001", `UNIX:${box.dir}/server.sock`)
      .replaceAll("IP:9001", `UNIX:${box.dir}/server.sock`)
      .replaceAll("127.0.0.1:9101", `127.0.0.1:${port}`)
      .replaceAll("127.0.0.1:9102", `127.0.0.1:${proxyPort}`)
      .replaceAll("/etc/distcache", `${box.dir}/etc`)
      .replaceAll("/var/lib/distcache", `${box.dir}/var`)
      .replaceAll("/var/log/", `${box.dir}/`)
      .replaceAll("/run/", `${box.dir}/`);
  }

  it("## Metrics: the server and a proxy with -stats, distcache stats (table and JSON), the scrape, a -daemon -log", async () => {
    const port = await freePort();
    const proxyPort = await freePort();
    const all = commands("## Metrics").map((l) => localize(l, port, proxyPort));
    assert.deepEqual(
      all.map((l) => words(l).slice(0, 2).join(" ")),
      [
        "distcache server",
        "distcache client",
        "distcache stats",
        "distcache stats",
        "distcache stats",
        "curl -s",
        "distcache server",
      ],
    );
    const [serverLine, proxyLine, , , proxyStats] = all;
    const lines = [serverLine, all[2], all[3], all[5], all[6]];
    const server = await box.start(words(serverLine).slice(1));
    const proxy = await box.start(words(proxyLine).slice(1));
    await until(
      async () =>
        /^server up +1$/m.test(
          (await runCli(words(proxyStats).slice(1))).stdout,
        ),
      10_000,
      "the proxy's link, in its figures",
    );
    const proxied = await runCli(words(proxyStats).slice(1));
    assert.match(proxied.stdout, /^distcache proxy /m);
    assert.match(proxied.stdout, /^proxy reconnects total +0$/m);
    assert.ok(await proxy.stop(), "the proxy stops cleanly");
    const ctx = await DcCtx.create(
      `UNIX:${box.dir}/server.sock`,
      DC_CTX_FLAG_PERSISTENT,
    );
    assert.ok(await ctx.addSession("readme", "a session", 60_000));
    ctx.close();
    const table = await runCli(words(lines[1]).slice(1));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^sessions +1$/m);
    assert.match(table.stdout, /^sessions limit +100000$/m);
    const json = await runCli(words(lines[2]).slice(1));
    assert.equal(
      JSON.parse(json.stdout).metrics.distcache_sessions.samples[0].value,
      1,
    );
    const scrape = execFileSync("sh", ["-c", lines[3]], { encoding: "utf8" });
    assert.equal(sampleOf(parsePrometheus(scrape), "distcache_sessions"), 1);
    assert.ok(await server.stop(), "clean stop");

    // The -daemon line of "Messages": its messages reach the -log file.
    const daemon = await runCli(words(lines[4]).slice(1));
    assert.equal(daemon.code, 0, daemon.stderr);
    const pid = Number(fs.readFileSync(`${box.dir}/dcserver.pid`, "utf8"));
    const log = `${box.dir}/distcache-server.log`;
    assert.match(
      fs.readFileSync(log, "utf8"),
      /info: distcache server listening on UNIX:/,
    );
    process.kill(pid, "SIGTERM");
    await until(() => !alive(pid), 10_000, "the daemon to stop");
    assert.match(
      fs.readFileSync(log, "utf8"),
      /info: distcache server stopped\n$/,
    );
  });

  it("## Snapshots: the key made as written, a session kept across a SIGTERM restart", async () => {
    const lines = commands("## Snapshots").map((l) => localize(l, 0));
    assert.deepEqual(
      lines.map((l) => words(l)[0]),
      ["mkdir", "openssl", "distcache"],
    );
    execFileSync("sh", ["-c", lines[0]]);
    execFileSync("sh", ["-c", lines[1]]);
    assert.equal(
      fs.statSync(`${box.dir}/etc/snapshot.key`).mode & 0o777,
      0o600,
    );
    const args = words(lines[2]).slice(1);
    const first = await box.start(args);
    const ctx = await DcCtx.create(
      `UNIX:${box.dir}/server.sock`,
      DC_CTX_FLAG_PERSISTENT,
    );
    assert.ok(await ctx.addSession("kept", "across restarts", 600_000));
    ctx.close();
    assert.ok(await first.stop(), "clean stop");
    assert.match(first.stdout, /wrote 1 sessions/);
    const second: CliProcess = await box.start(args);
    assert.match(second.stdout, /restored 1 sessions/);
    const again = await DcCtx.create(
      `UNIX:${box.dir}/server.sock`,
      DC_CTX_FLAG_PERSISTENT,
    );
    const got = await again.get("kept");
    assert.equal(got && new TextDecoder().decode(got), "across restarts");
    again.close();
    assert.ok(await second.stop(), "clean stop");
  });
});
