// What an idle connection costs a real server process: 2,000 connections
// that never send anything must grow its RSS by less than 32 KiB each
// (buffers are allocated once a connection carries traffic). Over the
// runtime's own adapter (the CLI) and node:net (a small serve() process).

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { measureIdleConnections } from "../../bench/idle_conns.ts";
import { availableAdapters, defaultAdapter } from "../../nal/mod.ts";
import { cliCommand, scriptCommand } from "../_cli.ts";

const SERVE_PROC = new URL("../_serve_proc.ts", import.meta.url);
const CONNECTIONS = 2000;
const MOST_BYTES = 32 * 1024;

describe("idle connections", {
  skip: process.platform !== "linux" && "reads /proc",
}, () => {
  for (const adapter of availableAdapters()) {
    it(`${adapter.name}: ${CONNECTIONS} idle connections cost under 32 KiB each`, async () => {
      const own = adapter === defaultAdapter();
      const r = await measureIdleConnections((sock) => {
        const cmd = own
          ? cliCommand(["server", "-listen", `UNIX:${sock}`])
          : scriptCommand(SERVE_PROC, [adapter.name, `UNIX:${sock}`]);
        return [cmd.command, ...cmd.args];
      }, CONNECTIONS);
      assert.equal(r.connections, CONNECTIONS);
      assert.ok(
        r.bytesPerConnection < MOST_BYTES,
        `${Math.round(r.bytesPerConnection)} bytes per idle connection (RSS ${
          Math.round(r.rssBefore / 2 ** 20)
        } -> ${Math.round(r.rssAfter / 2 ** 20)} MiB)`,
      );
    });
  }
});
