// The documentation as a reader meets it: every JSDoc example runs and
// asserts what it shows (deno task test:doc runs them), except those that
// say why they cannot run and are marked `ignore`; and nothing sends the
// reader to a file that is not in the repository.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { SOURCE_ROOT } from "../_cli.ts";

// The library's and the CLI's sources: every .ts file outside these.
const SKIP_DIRS = new Set([
  "node_modules",
  "dist",
  "tests",
  "bench",
  "examples",
  "scripts",
  ".git",
  ".ci",
  "docs",
]);

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith(".")) {
        out.push(...sources(path.join(dir, entry.name)));
      }
    } else if (entry.name.endsWith(".ts")) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

// Every ```ts block of a file's comments: its attributes, its text and the
// three lines before it (where an ignored example says why).
function examples(file: string) {
  const text = fs.readFileSync(file, "utf8");
  const out = [];
  for (
    const m of text.matchAll(/\n[ \t]*\* ```ts([^\n]*)\n([\s\S]*?)\* ```/g)
  ) {
    const lines = text.slice(0, m.index).split("\n");
    out.push({
      where: `${path.relative(SOURCE_ROOT, file)}:${lines.length + 1}`,
      before: lines.slice(-3).join("\n"),
      attrs: m[1].trim(),
      body: m[2],
    });
  }
  return out;
}

const FILES = sources(SOURCE_ROOT);

describe("the documentation", () => {
  it("finds the sources", () => {
    assert.ok(FILES.some((f) => f.endsWith(path.join("dc_client", "ctx.ts"))));
  });

  it("every example asserts, or says why the doc tests do not run it", () => {
    const bad: string[] = [];
    let count = 0;
    for (const file of FILES) {
      for (const ex of examples(file)) {
        count++;
        if (ex.attrs === "ignore") {
          if (!/needs/i.test(ex.before + ex.body.split("\n")[0])) {
            bad.push(`${ex.where}: ignored without saying what it needs`);
          }
        } else if (
          !ex.body.includes('import assert from "node:assert/strict"') ||
          !/assert\.\w+\(/.test(ex.body)
        ) {
          bad.push(`${ex.where}: no assert`);
        }
      }
    }
    assert.ok(count > 100, `examples found: ${count}`);
    assert.deepEqual(bad, []);
  });

  it("sends no reader to a file outside the repository", () => {
    const outside =
      /PROTOCOL\.md|STYLE\.md|API\.md|TOOLS\.md|design card|the seed\b|seed's|(?<!fixtures\/)golden\/README|\.\.\/shared\//;
    const bad: string[] = [];
    const docs = [
      ...FILES,
      path.join(SOURCE_ROOT, "README.md"),
      path.join(SOURCE_ROOT, "docs", "protocol.md"),
      path.join(SOURCE_ROOT, "bunfig.toml"),
    ];
    for (const file of docs) {
      const lines = fs.readFileSync(file, "utf8").split("\n");
      lines.forEach((l, i) => {
        if (outside.test(l)) {
          bad.push(`${path.relative(SOURCE_ROOT, file)}:${i + 1}: ${l.trim()}`);
        }
      });
    }
    assert.deepEqual(bad, []);
  });

  it("the protocol reference is in the repository and the README links it", () => {
    const protocol = fs.readFileSync(
      path.join(SOURCE_ROOT, "docs", "protocol.md"),
      "utf8",
    );
    for (
      const heading of [
        "## Frames",
        "## Operations and payloads",
        "### How the C server checks an ADD",
        "## Cache semantics",
        "## The proxy",
        "## Address strings",
        "## Interop cautions",
      ]
    ) {
      assert.ok(protocol.includes(heading), heading);
    }
    const readme = fs.readFileSync(path.join(SOURCE_ROOT, "README.md"), "utf8");
    assert.ok(readme.includes("(docs/protocol.md)"));
  });
});
