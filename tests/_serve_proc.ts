// A server process for tests that need serve() in a process of its own with
// a given adapter: `_serve_proc.ts <adapter name> <listen address>
// [<max connections>]`. Prints
// "listening on <addr>", reports accept failures on stderr, and stops on
// SIGTERM (saying "stopped").

import process from "node:process";
import { serve } from "../dc_server/mod.ts";
import { availableAdapters } from "../nal/mod.ts";

const [name, listen, max] = process.argv.slice(2);
const adapter = availableAdapters().find((a) => a.name === name);
if (adapter === undefined) throw new Error(`no adapter "${name}" here`);
// Signal handling is set up before anything else: Deno sets it up lazily
// and panics if that first happens out of file descriptors.
let stop = () => {};
process.on("SIGTERM", () => stop());
const server = await serve({
  listen,
  adapter,
  maxConnections: max === undefined ? undefined : Number(max),
  onAcceptError: (err) => console.error(err.message),
});
stop = () => {
  void server.close().then(() => {
    console.log("stopped");
    process.exit(0);
  });
};
console.log(`listening on ${server.addr}`);
