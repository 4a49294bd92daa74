#!/usr/bin/env node
/**
 * The `distcache` command of the npm package: runs the CLI on runtimes
 * without `import.meta.main` (Node 20), where `cli/main.ts` cannot tell it
 * is the program.
 *
 * ```sh
 * npx distcache server -listen UNIX:/tmp/dcserver
 * ```
 *
 * @module
 */

import process from "node:process";
import { main } from "./main.ts";

process.exit(await main(process.argv.slice(2)));
