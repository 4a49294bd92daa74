#!/usr/bin/env node
// @ts-check
// The suite under Node (`deno task test:node`): compiles tests/ and the
// sources they import to JavaScript in a temporary directory (tsc, emit
// only: `deno task check` type-checks them), then runs the same test files
// with `node --test`, using the Node adapter.
//
//   node scripts/test_node.mjs [tests/x/y_test.ts ...]

import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { entries } from "./_entries.mjs";
import { compile } from "./_tsc.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

const asked = process.argv.slice(2);
// Every module of tests/: the helper scripts that tests start as processes
// are compiled too.
const modules = fs.readdirSync(path.join(ROOT, "tests"), { recursive: true })
  .map((f) => path.join("tests", String(f)))
  .filter((f) => f.endsWith(".ts") && !f.startsWith("tests/fixtures/"))
  .sort();
const tests = asked.length > 0
  ? asked.map((f) => path.relative(ROOT, path.resolve(f)))
  : modules.filter((f) => f.endsWith("_test.ts"));

const out = fs.mkdtempSync(path.join(os.tmpdir(), "distcache-node-test-"));
let code = 1;
try {
  const list = entries(ROOT);
  compile({
    root: ROOT,
    files: [...modules, ...list.map((e) => e.source), "cli/bin.ts"],
    outDir: out,
    declaration: false,
    check: false,
  });
  fs.cpSync(
    path.join(ROOT, "tests", "fixtures"),
    path.join(out, "tests", "fixtures"),
    { recursive: true },
  );
  // Packages the tests import (frameworks) come from the checkout's.
  fs.symlinkSync(
    path.join(ROOT, "node_modules"),
    path.join(out, "node_modules"),
  );
  // The compiled tree is a package of its own, so that the CLI's imports of
  // "@distcache/distcache/..." resolve to it and not to dist/.
  /** @type {Record<string, string>} */
  const exports = {};
  for (const e of list) {
    exports[e.subpath] = "./" + e.source.replace(/\.ts$/, ".js");
  }
  fs.writeFileSync(
    path.join(out, "package.json"),
    JSON.stringify({ name: "@distcache/distcache", type: "module", exports }),
  );
  code = await run(
    process.execPath,
    [
      "--test",
      "--test-reporter=spec",
      ...tests.map((t) => path.join(out, t.replace(/\.ts$/, ".js"))),
    ],
    { ...process.env, DISTCACHE_SOURCE_ROOT: ROOT },
  );
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
process.exit(code);

/**
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} env
 * @returns {Promise<number>}
 */
function run(command, args, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: "inherit", env, cwd: ROOT });
    child.on("close", (status) => resolve(status ?? 1));
  });
}
