// What the tools say when something is wrong, as a user sees it: one line
// on stderr, exit status 1, naming the flag or the address and the
// problem once; and what --version prints.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { VERSION } from "../../cli/version.ts";
import { CliSandbox, listenAddr, runCli, SOURCE_ROOT } from "../_cli.ts";

// Runs the tool and returns its one line of stderr (failing otherwise).
async function oneLine(args: string[]): Promise<string> {
  const res = await runCli(args);
  assert.equal(res.code, 1, `exit status of ${args.join(" ")}: ${res.stdout}`);
  const lines = res.stderr.trim().split("\n");
  assert.equal(lines.length, 1, res.stderr);
  return lines[0];
}

describe("the tools' messages", () => {
  const box = new CliSandbox("distcache-msg-");

  const FLAGS: [string[], string][] = [
    [
      ["server", "-sessions", "-1"],
      "distcache server: flag -sessions: -1 is below the minimum 64",
    ],
    [
      ["client", "-server", "UNIX:/nonexistent/s", "-idle", "-5"],
      "distcache client: flag -idle: -5 is below the minimum 0",
    ],
    [
      ["server", "-listen", "-daemon"],
      "distcache server: flag -listen needs a value",
    ],
    [
      ["server", "-user", "no-such-user"],
      'distcache server: flag -user: unknown user "no-such-user"',
    ],
    [
      ["test", "-connect", "UNIX:/nonexistent/s", "-datamax", "32698"],
      "distcache test: flag -datamax: 32698 is above the maximum 32697",
    ],
  ];
  for (const [args, line] of FLAGS) {
    it(`${args.join(" ")}`, async () => {
      assert.equal(await oneLine(args), line);
    });
  }

  for (const persistent of [true, false]) {
    const how = persistent ? "-persistent" : "one connection per operation";
    it(`test, ${how}: an unresolvable host is said once, as "cannot connect"`, async () => {
      const line = await oneLine([
        "test",
        "-connect",
        "IP:nosuchhost.invalid:9001",
        ...(persistent ? ["-persistent"] : []),
      ]);
      assert.match(
        line,
        /^distcache test: cannot connect to "IP:nosuchhost\.invalid:9001": /,
      );
      assert.equal(line.split("cannot connect").length, 2, line);
    });

    it(`test, ${how}: nothing listening is "cannot connect", not a wrong outcome`, async () => {
      const sock = path.join(box.dir, "nobody-here.sock");
      const line = await oneLine([
        "test",
        "-connect",
        `UNIX:${sock}`,
        ...(persistent ? ["-persistent"] : []),
      ]);
      assert.match(
        line,
        new RegExp(`^distcache test: cannot connect to "UNIX:${sock}": `),
      );
    });
  }

  it("a port in use is said the same on every runtime", async () => {
    const first = await box.start(["server", "-listen", "IP:127.0.0.1:0"]);
    const addr = listenAddr(first);
    assert.equal(
      await oneLine(["server", "-listen", addr]),
      `distcache server: cannot listen on "${addr}": address in use`,
    );
    assert.ok(await first.stop(), "clean shutdown");
  });

  it("test -datamin/-datamax at the largest data that fits an ADD runs", async () => {
    const server = await box.start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "big.sock")}`,
    ]);
    const res = await runCli([
      "test",
      "-connect",
      listenAddr(server),
      "-datamin",
      "32697",
      "-datamax",
      "32697",
      "-ops",
      "200",
      "-persistent",
    ]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^200 operations/m);
    assert.ok(await server.stop(), "clean shutdown");
  });

  it("--version: one version, in deno.json, cli/deno.json and package.json", async () => {
    for (const manifest of ["deno.json", "cli/deno.json", "package.json"]) {
      const json = JSON.parse(
        fs.readFileSync(path.join(SOURCE_ROOT, manifest), "utf8"),
      );
      assert.equal(json.version, VERSION, manifest);
    }
    for (const args of [["--version"], ["-version"]]) {
      const res = await runCli(args);
      assert.equal(res.code, 0);
      assert.equal(res.stdout, `distcache ${VERSION}\n`);
    }
    for (const tool of ["server", "client", "snoop", "test"]) {
      const res = await runCli([tool, "--version"]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout, `distcache ${tool} ${VERSION}\n`);
      const help = await runCli([tool, "-h"]);
      assert.match(help.stdout, /--version/);
    }
  });
});
