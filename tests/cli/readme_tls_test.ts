// The README's deployment and TLS commands, run as given (hosts, ports and
// system paths mapped onto a temporary directory and loopback, see
// tests/_readme.ts): the classic deployment with -allow, the certificates
// made by openssl, the TLS deployment, and examples/tls.ts against it.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { CliProcess, SOURCE_ROOT } from "../_cli.ts";
import {
  readmeHosts,
  readmeSection,
  runBlock,
  shBlocks,
  stopAll,
  waitListening,
} from "../_readme.ts";
import { makeTempDir, removeDir } from "../_servers.ts";

const RUNTIME = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : null;

// Runs the blocks in one fresh directory, stopping what they started.
async function inSandbox(
  fn: (dir: string, hosts: [RegExp, string][]) => Promise<void>,
): Promise<void> {
  const dir = makeTempDir("distcache-readme-");
  try {
    await fn(dir, await readmeHosts(dir));
  } finally {
    await stopAll(dir);
    removeDir(dir);
  }
}

describe("the README's deployment commands", () => {
  it("the classic deployment, with -allow: server, proxy, test through the proxy, snoop", async () => {
    const blocks = shBlocks(readmeSection("The tools: the classic deployment"));
    assert.equal(blocks.length, 1);
    assert.match(blocks[0], /-allow 10\.0\.0\.0\/24/);
    await inSandbox(async (dir, hosts) => {
      const run = await runBlock(blocks[0], dir, hosts);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /2000 operations in .* ops\/s/);
      await waitListening(run.background.get("snoop")!);
      assert.ok(fs.existsSync(path.join(dir, "dcserver.pid")));
      assert.ok(fs.existsSync(path.join(dir, "dcclient.pid")));
    });
  });

  it("TLS: the certificates, the mutual-TLS deployment, both checks, and examples/tls.ts", async () => {
    const blocks = shBlocks(readmeSection("TLS"));
    assert.equal(blocks.length, 2);
    await inSandbox(async (dir, hosts) => {
      const certs = await runBlock(blocks[0], dir, hosts);
      assert.equal(certs.code, 0, certs.stderr);
      for (const key of ["ca.key", "server.key", "web1.key"]) {
        const mode = fs.statSync(path.join(dir, key)).mode & 0o777;
        assert.equal(
          mode & 0o077,
          0,
          `${key} is private (0${mode.toString(8)})`,
        );
      }
      const run = await runBlock(blocks[1], dir, hosts);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /2000 operations in .*, persistent\)\n/);
      assert.match(
        run.stdout,
        /2000 operations in .*, persistent, over TLS\)\n/,
      );
      // No key file warning: umask 077 made them private.
      assert.doesNotMatch(run.stderr, /readable by every user/);
      if (RUNTIME === null) return; // TypeScript examples: Deno and Bun
      const addr = hosts.reduce(
        (text, [from, to]) => text.replace(from, to),
        "IP:10.0.0.5:9001",
      );
      const script = path.join(SOURCE_ROOT, "examples", "tls.ts");
      const app = new CliProcess(
        RUNTIME === "deno"
          ? [
            "run",
            "-A",
            "--config",
            path.join(SOURCE_ROOT, "deno.json"),
            script,
          ]
          : [script],
        process.execPath,
        { cwd: dir, env: { DISTCACHE_ADDR: addr } },
      );
      assert.equal(await app.exited, 0, app.stderr);
      assert.equal(app.stdout, "sent over TLS\n");
    });
  });
});
