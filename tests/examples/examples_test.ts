// The README's Deno and Bun examples (examples/*.ts) as a newcomer runs
// them: against a real server started the way the README starts one, and
// through the local proxy, each example file run by this runtime with the
// address passed in; and each shown in the README as it is.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { DcCtx } from "../../dc_client/mod.ts";
import { DEFAULT_SERVER_ADDRESS } from "../../dc_server/mod.ts";
import { CliProcess, CliSandbox, listenAddr, SOURCE_ROOT } from "../_cli.ts";

const EXAMPLES = path.join(SOURCE_ROOT, "examples");
const RUNTIME = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : null;

// Runs examples/<file> under this runtime, with `env` added.
function example(file: string, env: Record<string, string>): CliProcess {
  const script = path.join(EXAMPLES, file);
  return new CliProcess(
    RUNTIME === "deno" ? ["run", "-A", script] : [script],
    process.execPath,
    { cwd: SOURCE_ROOT, env },
  );
}

describe("the README's examples", {
  skip: RUNTIME === null
    ? "TypeScript examples for Deno and Bun (Node's are examples/node/)"
    : false,
}, () => {
  const box = new CliSandbox("distcache-examples-");

  it("each is shown in the README as it is", () => {
    const readme = fs.readFileSync(path.join(SOURCE_ROOT, "README.md"), "utf8");
    for (const f of fs.readdirSync(EXAMPLES)) {
      if (!f.endsWith(".ts")) continue;
      const text = fs.readFileSync(path.join(EXAMPLES, f), "utf8");
      assert.ok(readme.includes("```ts\n" + text + "```\n"), f);
    }
  });

  it("a client example's default address is where npm start listens", () => {
    for (const f of ["app.ts", "web_deno.ts", "web_bun.ts"]) {
      const text = fs.readFileSync(path.join(EXAMPLES, f), "utf8");
      const fallback = /DISTCACHE_ADDR"?\)? \?\? "([^"]+)"/.exec(text);
      assert.equal(fallback?.[1], DEFAULT_SERVER_ADDRESS, f);
    }
  });

  it("app.ts against the server npm start runs, and through the proxy", async () => {
    const server = await box.start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "server.sock")}`,
    ]);
    const proxy = await box.start([
      "client",
      "-listen",
      `UNIX:${path.join(box.dir, "proxy.sock")}`,
      "-server",
      listenAddr(server),
    ]);
    for (const addr of [listenAddr(server), listenAddr(proxy)]) {
      const app = box.track(example("app.ts", { DISTCACHE_ADDR: addr }));
      assert.equal(await app.exited, 0, app.stderr);
      assert.match(app.stdout, /^\{\s*user: 42,?\s*\}\n$/, app.stdout);
    }
    assert.ok(await proxy.stop(), "clean shutdown");
    assert.ok(await server.stop(), "clean shutdown");
  });

  it(`web_${RUNTIME}.ts counts visits of a session: visit 1, 2, 3`, async () => {
    const server = await box.start([
      "server",
      "-listen",
      `UNIX:${path.join(box.dir, "web.sock")}`,
    ]);
    const web = box.track(example(`web_${RUNTIME}.ts`, {
      DISTCACHE_ADDR: listenAddr(server),
      PORT: "0",
    }));
    try {
      await web.waitFor(/listening on \d+/, 30_000);
      const url = `http://127.0.0.1:${
        /listening on (\d+)/.exec(web.stdout)![1]
      }/`;
      const first = await fetch(url);
      assert.equal(await first.text(), "visit 1\n");
      const sid = first.headers.get("x-session")!;
      assert.ok(sid, "a session id comes back");
      for (const n of [2, 3]) {
        const again = await fetch(url, { headers: { "x-session": sid } });
        assert.equal(await again.text(), `visit ${n}\n`);
      }
      const other = await fetch(url);
      assert.equal(await other.text(), "visit 1\n", "another session");
    } finally {
      web.signal("SIGTERM");
      await web.exited;
    }
    assert.ok(await server.stop(), "clean shutdown");
  });

  it("server.ts serves until SIGTERM", async () => {
    const sock = path.join(box.dir, "embedded.sock");
    const embedded = box.track(
      example("server.ts", { DISTCACHE_LISTEN: `UNIX:${sock}` }),
    );
    await embedded.waitFor(/listening on \S+/, 30_000);
    assert.match(embedded.stdout, /items: 0/);
    const ctx = await DcCtx.create(`UNIX:${sock}`);
    assert.equal(await ctx.addSession("embedded", "in an app", 60_000), true);
    assert.equal(await ctx.hasSession("embedded"), true);
    ctx.close();
    embedded.signal("SIGTERM");
    assert.equal(await embedded.exited, 0);
    assert.equal(fs.existsSync(sock), false, "socket file removed");
  });
});
