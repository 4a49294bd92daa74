#!/usr/bin/env node
// @ts-check
// `deno doc --lint` over the entry points of each package of the
// workspace (the library, and ./cli), all of a package's entry points in
// one run: a type that one entry point's API uses and another exports (a
// dc_server signature naming nal's NalConnection) is public to the
// package's readers, while a type no entry point exports is reported.
// The entry points come from deno.json (scripts/_entries.mjs).

import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { entries } from "./_entries.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const deno = execFileSync(
  process.execPath,
  [path.join(ROOT, "scripts", "deno_path.cjs")],
  { encoding: "utf8" },
);
const members = /** @type {string[]} */ (
  JSON.parse(fs.readFileSync(path.join(ROOT, "deno.json"), "utf8"))
    .workspace ?? []
).map((m) => path.posix.normalize(m) + "/");

/** @type {Map<string, string[]>} */
const packages = new Map();
for (const { source } of entries(ROOT)) {
  const member = members.find((m) => source.startsWith(m)) ?? ".";
  packages.set(member, [...(packages.get(member) ?? []), source]);
}
let failed = false;
for (const [member, sources] of packages) {
  console.log(`deno doc --lint (${member}): ${sources.join(" ")}`);
  const res = spawnSync(deno, ["doc", "--lint", ...sources], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (res.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
