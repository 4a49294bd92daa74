// The original C distcache tools, for interoperability tests: found in the
// directory $DISTCACHE_C_BIN, else /opt/cdc/bin. Tests that need them skip,
// saying so, when they are not there.

import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";

/** Where the C tools are looked for. */
export const C_BIN_DIR: string = process.env.DISTCACHE_C_BIN ?? "/opt/cdc/bin";

/** The path of a C tool (`dc_server`, `dc_client`...), or null when absent. */
export function cTool(name: string): string | null {
  const file = path.join(C_BIN_DIR, name);
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return file;
  } catch {
    return null;
  }
}

/** Why a test that needs `name` is skipped. */
export function cToolMissing(name: string): string {
  return `C ${name} not found in ${C_BIN_DIR}: build the C distcache 1.5 ` +
    `tools (its build.sh PREFIX) and set DISTCACHE_C_BIN=PREFIX/bin`;
}
