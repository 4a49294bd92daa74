// Prints the path of the Deno binary that `npm ci` installed, putting it in
// place first: npm's deno package copies it there only when its Node
// wrapper (node_modules/.bin/deno) first runs. Prints "deno" when npm
// installed no Deno. `npm start` and the tools' tasks run this binary
// directly, because the wrapper starts Deno with spawnSync and passes no
// signal on: a SIGTERM from a supervisor would stop the wrapper and leave
// the server running.
"use strict";
let bin = "deno";
try {
  bin = require("deno/install_api.cjs").runInstall();
} catch {
  // No npm-installed Deno: the one on PATH.
}
process.stdout.write(bin);
