/**
 * The distcache command-line tools: `server`, `client`, `snoop`, `test`.
 *
 * ```sh
 * deno run -A jsr:@distcache/cli server -listen IP:localhost:9001
 * ```
 *
 * @module
 */

if (import.meta.main) {
  console.log("usage: distcache <server|client|snoop|test> [flags]");
}
