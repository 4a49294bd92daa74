// The single binary, as CI ships it: `bun build --compile` of the CLI, then
// its server and test commands talking to each other.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CliProcess, runCli, SOURCE_ROOT } from "../_cli.ts";
import { HAVE_PROC } from "../_proc.ts";
import { makeTempDir, removeDir } from "../_servers.ts";
import { checkNoInspector } from "../_usr1.ts";

const ROOT = SOURCE_ROOT;

// bun from the project's devDependencies (npm ci), else from PATH.
function bunBinary(): string {
  const local = path.join(ROOT, "node_modules", ".bin", "bun");
  return fs.existsSync(local) ? local : "bun";
}

describe("single binary (bun build --compile)", () => {
  let tmp = "";
  let binary = "";
  before(() => {
    tmp = makeTempDir("distcache-bin-");
    binary = path.join(tmp, "distcache");
    execFileSync(bunBinary(), [
      "build",
      "--compile",
      path.join(ROOT, "cli", "main.ts"),
      "--outfile",
      binary,
    ], {
      cwd: ROOT,
      stdio: "pipe",
    });
  });
  after(() => removeDir(tmp));

  it("runs server and test; SIGUSR1 opens no inspector", async () => {
    assert.ok(fs.statSync(binary).mode & 0o100, "built and executable");
    const sock = `UNIX:${path.join(tmp, "bin.sock")}`;
    const server = new CliProcess([
      "server",
      "-listen",
      sock,
      "-sessions",
      "1000",
    ], binary);
    try {
      await server.waitFor("listening on");
      const res = await runCli([
        "test",
        "-connect",
        sock,
        "-ops",
        "5000",
        "-persistent",
      ], binary);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /5000 operations/);
      if (HAVE_PROC) await checkNoInspector(server, sock);
    } finally {
      assert.ok(await server.stop(), "clean shutdown");
    }
    assert.equal(fs.existsSync(path.join(tmp, "bin.sock")), false);
  });

  it("prints one-line usage errors", async () => {
    const res = await runCli(["server", "-sessions", "1"], binary);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /-sessions/);
  });
});
