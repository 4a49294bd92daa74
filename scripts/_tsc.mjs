// @ts-check
// Runs the pinned TypeScript compiler over the sources with the options the
// npm build and the Node test run share: ESM for Node 20, relative ".ts"
// imports rewritten to ".js", the package's own name mapped to the sources
// (tsconfig.json's paths) while the emitted code keeps it, for Node to
// resolve through package.json "exports".

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";

const require = createRequire(import.meta.url);

/**
 * Compiles `files` (paths relative to `root`, with what they import) into
 * `outDir`, mirroring the source tree. Throws when tsc reports an error.
 *
 * @param {object} opts
 * @param {string} opts.root The repository root.
 * @param {string[]} opts.files Root modules to compile.
 * @param {string} opts.outDir Where the JavaScript goes.
 * @param {boolean} opts.declaration Emit .d.ts files too.
 * @param {boolean} opts.check Type-check (false: emit only, for code that
 *   `deno task check` already checks).
 */
export function compile({ root, files, outDir, declaration, check }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "distcache-tsc-"));
  const config = path.join(tmp, "tsconfig.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(root, "tsconfig.json"),
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2022"],
        types: ["node"],
        typeRoots: [path.join(root, "node_modules", "@types")],
        rewriteRelativeImportExtensions: true,
        rootDir: root,
        baseUrl: root,
        outDir,
        declaration,
        noCheck: !check,
        skipLibCheck: true,
        newLine: "lf",
      },
      files: files.map((f) => path.join(root, f)),
    }),
  );
  try {
    const res = spawnSync(
      process.execPath,
      [require.resolve("typescript/bin/tsc"), "-p", config],
      { cwd: root, stdio: "inherit" },
    );
    if (res.status !== 0) {
      throw new Error(`tsc failed (status ${res.status ?? res.signal})`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
