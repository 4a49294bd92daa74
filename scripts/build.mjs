#!/usr/bin/env node
// @ts-check
// The npm build (`npm run build`): compiles every entry point of deno.json,
// and the package.json "bin" entries, to ESM JavaScript and .d.ts in dist/,
// and keeps package.json "exports" in step with deno.json.
//
//   node scripts/build.mjs          build; rewrite package.json "exports" if stale
//   node scripts/build.mjs --check  build; fail if package.json "exports" is stale

import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { builtBase, entries, packageExports } from "./_entries.mjs";
import { compile } from "./_tsc.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");

const pkgFile = path.join(ROOT, "package.json");
const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
const list = entries(ROOT);
const wanted = packageExports(list);
if (JSON.stringify(pkg.exports) !== JSON.stringify(wanted)) {
  if (check) {
    console.error(
      `package.json "exports" does not match deno.json's entry points; ` +
        `run "npm run build" and commit package.json. Expected:\n` +
        JSON.stringify(wanted, null, 2),
    );
    process.exit(1);
  }
  pkg.exports = wanted;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + "\n");
  console.log(`package.json "exports" updated from deno.json`);
}

// The bin entries are built files too: find the source of each.
const bins = Object.values(pkg.bin ?? {}).map((file) => {
  const rel = path.posix.normalize(String(file));
  const source = rel.replace(/^dist\//, "").replace(/\.js$/, ".ts");
  if (builtBase(source) + ".js" !== rel || !fs.existsSync(source)) {
    throw new Error(`package.json bin ${file}: no source ${source}`);
  }
  return source;
});

// Only what an earlier build wrote: dist/ also holds the compiled binaries
// of `deno task compile`.
const dist = path.join(ROOT, "dist");
for (const file of walk(dist)) {
  if (/\.(js|d\.ts)$/.test(file)) fs.rmSync(file);
}

compile({
  root: ROOT,
  files: [...list.map((e) => e.source), ...bins],
  outDir: dist,
  declaration: true,
  check: true,
});
for (const source of bins) {
  fs.chmodSync(path.join(ROOT, builtBase(source) + ".js"), 0o755);
}
console.log(`built ${list.length} entry points into dist/`);

/**
 * @param {string} dir
 * @returns {string[]}
 */
function walk(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath ?? d.path, d.name));
}
