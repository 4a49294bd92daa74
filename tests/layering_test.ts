// The adapter boundary and the layers, checked on the source: nothing above
// nal/runtime/ imports a runtime module, loading nal's entry point does not
// load any runtime's adapter (each is imported on first use), and no module
// outside nal/ uses a name nal's entry point does not export.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { SOURCE_ROOT as ROOT } from "./_cli.ts";

const LIBRARY = ["nal", "dc_enc", "dc_client", "dc_server"];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (
    const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })
  ) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(rel));
    else if (entry.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

interface Import {
  names: string[];
  from: string;
  dynamic: boolean;
}

// Static `import ... from "x"`, `export ... from "x"`, and `import("x")`.
function importsOf(file: string): Import[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8")
    // Examples in JSDoc are not imports of the module.
    .replace(/\/\*\*[\s\S]*?\*\//g, "");
  const out: Import[] = [];
  const stat =
    /^(?:import|export)\s+(?:type\s+)?(?:\{([^}]*)\}|[\w*\s,]+)?\s*(?:from\s+)?"([^"]+)";/gm;
  for (const m of text.matchAll(stat)) {
    const names = (m[1] ?? "").split(",").map((n) =>
      n.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]
    ).filter((n) => n.length > 0);
    out.push({ names, from: m[2], dynamic: false });
  }
  for (const m of text.matchAll(/import\(\s*"([^"]+)"\s*\)/g)) {
    out.push({ names: [], from: m[1], dynamic: true });
  }
  return out;
}

function resolve(file: string, spec: string): string {
  return path.normalize(path.join(path.dirname(file), spec));
}

// Files reached from `entry` through static imports only.
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imp of importsOf(file)) {
      if (imp.dynamic) continue;
      if (imp.from.startsWith(".")) walk(resolve(file, imp.from));
      else seen.add(imp.from);
    }
  };
  walk(entry);
  return seen;
}

describe("layers", () => {
  it("nothing above nal/runtime/ imports a runtime module", () => {
    const bad: string[] = [];
    for (const dir of LIBRARY) {
      for (const file of sources(dir)) {
        if (file.startsWith(path.join("nal", "runtime"))) continue;
        for (const imp of importsOf(file)) {
          if (imp.from.startsWith("node:") || imp.from.startsWith("bun:")) {
            bad.push(`${file} imports ${imp.from}`);
          }
        }
      }
    }
    assert.deepEqual(bad, []);
  });

  it("loading nal/mod.ts loads no runtime's adapter (each comes on first use)", () => {
    const graph = staticGraph(path.join("nal", "mod.ts"));
    for (const adapter of ["deno.ts", "bun.ts", "node.ts"]) {
      const file = path.join("nal", "runtime", adapter);
      assert.ok(!graph.has(file), `${file} is imported statically`);
    }
    assert.ok(!graph.has("node:net"), "node:net is imported statically");
    const lazy = importsOf(path.join("nal", "runtime", "mod.ts"))
      .filter((i) => i.dynamic).map((i) => i.from).sort();
    assert.deepEqual(lazy, ["./bun.ts", "./deno.ts", "./node.ts"]);
  });

  it("no module outside nal/ uses a name nal's entry point does not export", () => {
    const exported = new Set(
      importsOf(path.join("nal", "mod.ts")).flatMap((i) => i.names),
    );
    assert.ok(exported.has("NalLoop") && exported.has("NalConnection"));
    const bad: string[] = [];
    for (const dir of LIBRARY.filter((d) => d !== "nal")) {
      for (const file of sources(dir)) {
        for (const imp of importsOf(file)) {
          const target = resolve(file, imp.from);
          if (!imp.from.startsWith(".") || !target.startsWith("nal")) continue;
          // The byte helpers every layer shares on purpose (no entry point).
          if (target === path.join("nal", "_util.ts")) continue;
          for (const name of imp.names) {
            if (!exported.has(name)) bad.push(`${file}: ${name}`);
          }
        }
      }
    }
    assert.deepEqual(bad, []);
  });

  it("dc_server reaches nal through its entry point only", () => {
    const bad: string[] = [];
    for (const file of sources("dc_server")) {
      for (const imp of importsOf(file)) {
        const target = resolve(file, imp.from);
        if (
          imp.from.startsWith(".") && target.startsWith("nal") &&
          target !== path.join("nal", "mod.ts")
        ) bad.push(`${file} imports ${imp.from}`);
      }
    }
    assert.deepEqual(bad, []);
  });
});
