// @ts-check
// The package's entry points, read from deno.json (the one list of them):
// its "exports", and the "exports" of each workspace member (./cli) under
// the member's directory name. The npm build compiles these and maps them
// in package.json.

import * as fs from "node:fs";
import * as path from "node:path";

/**
 * @typedef {object} Entry
 * @property {string} subpath The export's subpath ("." or "./nal").
 * @property {string} source  The TypeScript module, relative to the root ("nal/mod.ts").
 */

/**
 * @param {string} file
 * @returns {Record<string, unknown>}
 */
function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/**
 * @param {unknown} exports
 * @returns {Record<string, string>}
 */
function exportMap(exports) {
  return typeof exports === "string"
    ? { ".": exports }
    : /** @type {Record<string, string>} */ (exports ?? {});
}

/**
 * Every entry point of the package rooted at `root`.
 *
 * @param {string} root
 * @returns {Entry[]}
 */
export function entries(root) {
  const deno = readJson(path.join(root, "deno.json"));
  const out = [];
  for (const [subpath, source] of Object.entries(exportMap(deno.exports))) {
    out.push({ subpath, source: path.posix.normalize(source) });
  }
  const members = /** @type {string[]} */ (deno.workspace ?? []);
  for (const member of members) {
    const dir = path.posix.normalize(member);
    const conf = readJson(path.join(root, dir, "deno.json"));
    for (const [sub, source] of Object.entries(exportMap(conf.exports))) {
      out.push({
        subpath: "./" + path.posix.join(dir, sub),
        source: path.posix.join(dir, source),
      });
    }
  }
  return out;
}

/**
 * Where the build puts a source's JavaScript, without the extension
 * ("nal/mod.ts" -> "dist/nal/mod").
 *
 * @param {string} source
 * @returns {string}
 */
export function builtBase(source) {
  return "dist/" + source.replace(/\.ts$/, "");
}

/**
 * package.json "exports" for the entries: types and JavaScript in dist/.
 *
 * @param {Entry[]} list
 * @returns {Record<string, { types: string; default: string }>}
 */
export function packageExports(list) {
  /** @type {Record<string, { types: string; default: string }>} */
  const out = {};
  for (const { subpath, source } of list) {
    const base = builtBase(source);
    out[subpath] = { types: `./${base}.d.ts`, default: `./${base}.js` };
  }
  return out;
}
