// The npm package as a Node project gets it: `npm pack` of this checkout,
// installed from the tarball into a fresh project (no registry: the package
// has no runtime dependencies), then used under plain Node: every entry
// point imported, a DcCtx talking to a server started with `npx distcache
// server`, and a TypeScript consumer type-checked against the .d.ts files.
//
// It drives npm and Node processes whatever runs it, so it runs once, in
// the Node run of the suite (scripts/test_node.mjs).

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import process from "node:process";
import { CliProcess, SOURCE_ROOT } from "../_cli.ts";
import { carrySession, makeCert } from "../tls/_tls.ts";
import { makeTempDir, removeDir } from "../_servers.ts";

const NODE = !("Deno" in globalThis) && !("Bun" in globalThis);
const SKIP = NODE
  ? false
  : "the npm package is tested once, by the Node run (deno task test:node)";
const PKG = "@distcache/distcache";

// Every entry point the installed package maps, with what it exports.
const IMPORT_ALL = `
import assert from "node:assert/strict";
import * as fs from "node:fs";
const manifest = JSON.parse(
  fs.readFileSync("node_modules/${PKG}/package.json", "utf8"));
for (const sub of Object.keys(manifest.exports)) {
  const mod = await import("${PKG}" + sub.slice(1));
  assert.ok(Object.keys(mod).length > 0, sub + " exports nothing");
  console.log("imported " + sub);
}
`;

// A client of the server given as argv[2], through the package's API.
const CLIENT = `
import assert from "node:assert/strict";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "${PKG}/dc_client";
const ctx = await DcCtx.create(process.argv[2], DC_CTX_FLAG_PERSISTENT);
assert.equal(await ctx.addSession("sid:node", "session from node", 60000), true);
assert.equal(new TextDecoder().decode(await ctx.get("sid:node")), "session from node");
assert.equal(await ctx.removeSession("sid:node"), true);
assert.equal(await ctx.get("sid:node"), null);
ctx.close();
console.log("client ok");
`;

// A TypeScript consumer: every entry point's types, used with their real
// signatures (a wrong one must be an error, so the types are not 'any').
function consumerSource(subpaths: string[]): string {
  const all = subpaths.map((sub, i) =>
    `import * as entry${i} from "${PKG}${sub.slice(1)}";\n` +
    `export const names${i}: string[] = Object.keys(entry${i});\n`
  ).join("");
  return `${all}
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "${PKG}/dc_client";
import { serve, type Server } from "${PKG}/dc_server";
import { NalAddress } from "${PKG}/nal";
import { main } from "${PKG}/cli";
import session from "express-session";
import { DistcacheStore } from "${PKG}/session";

// The store is an express-session Store as its own types say.
export const middleware = session({
  store: new DistcacheStore({ target: "UNIX:/tmp/scache" }),
  secret: "s",
  resave: false,
  saveUninitialized: false,
});

export async function roundTrip(): Promise<Uint8Array | null> {
  const server: Server = await serve({ listen: "IP:127.0.0.1:0" });
  const ctx: DcCtx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
  const added: boolean = await ctx.addSession("id", "data", 60_000);
  // @ts-expect-error: the timeout is a number of milliseconds
  await ctx.addSession("id", "data", "60s");
  const data = await ctx.get("id");
  ctx.close();
  await server.close();
  return added ? data : null;
}
export const kind: string = NalAddress.parse("UNIX:/tmp/x").toString();
export const run: (argv: readonly string[]) => Promise<number> = main;
`;
}

// What the examples' project has installed besides this package.
const APP_DEPS = [
  "@types",
  "express",
  "express-session",
  "hono",
  "@hono/session",
  "@hono/node-server",
];

// The README's Node examples (examples/node/): run and type-checked here.
const EXAMPLES = () => path.join(SOURCE_ROOT, "examples", "node");

// The examples' own tsconfig.json, with the module resolution asked for and
// every declaration file checked.
function tscConfig(resolution: "node16" | "nodenext"): string {
  const base = JSON.parse(
    fs.readFileSync(path.join(EXAMPLES(), "tsconfig.json"), "utf8"),
  );
  return JSON.stringify({
    compilerOptions: {
      ...base.compilerOptions,
      module: resolution,
      moduleResolution: resolution,
      skipLibCheck: false,
    },
    files: ["consumer.ts", "app.ts"],
  });
}

describe("the npm package, installed in a Node project", { skip: SKIP }, () => {
  let tmp = "";
  let app = "";
  let packed: string[] = [];
  before(() => {
    tmp = makeTempDir("distcache-npm-");
    app = path.join(tmp, "app");
    fs.mkdirSync(app);
    const out = execFileSync(
      "npm",
      ["pack", "--json", "--pack-destination", tmp],
      { cwd: SOURCE_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    // prepack's build output comes before the JSON report.
    const report = JSON.parse(out.slice(out.indexOf("[")));
    packed = report[0].files.map((f: { path: string }) => f.path);
    fs.writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "app", private: true, type: "module" }),
    );
    for (const f of fs.readdirSync(EXAMPLES())) {
      if (/\.(mjs|ts)$/.test(f)) {
        fs.copyFileSync(path.join(EXAMPLES(), f), path.join(app, f));
      }
    }
    execFileSync("npm", [
      "install",
      "--offline",
      "--no-audit",
      "--no-fund",
      path.join(tmp, report[0].filename),
    ], { cwd: app, stdio: "pipe" });
    // A Node project's own @types and web frameworks (ours, so that no
    // registry is asked).
    fs.mkdirSync(path.join(app, "node_modules", "@hono"));
    for (const dep of APP_DEPS) {
      fs.symlinkSync(
        path.join(SOURCE_ROOT, "node_modules", dep),
        path.join(app, "node_modules", dep),
      );
    }
  });
  const procs: CliProcess[] = [];
  after(() => {
    for (const p of procs) p.signal("SIGKILL");
    removeDir(tmp);
  });

  it("packs the build, the bin and the docs, and no sources or tests", () => {
    for (const f of ["dist/cli/bin.js", "dist/mod.js", "dist/mod.d.ts"]) {
      assert.ok(packed.includes(f), `${f} packed`);
    }
    assert.ok(packed.includes("README.md") && packed.includes("LICENSE"));
    const stray = packed.filter((f) =>
      !/^dist\/.*\.(js|d\.ts)$/.test(f) &&
      !["README.md", "LICENSE", "package.json"].includes(f)
    );
    assert.deepEqual(stray, []);
  });

  it("maps every deno.json entry point to dist/ in package.json", () => {
    const manifest = JSON.parse(
      fs.readFileSync(
        path.join(app, "node_modules", ...PKG.split("/"), "package.json"),
        "utf8",
      ),
    );
    const deno = JSON.parse(
      fs.readFileSync(path.join(SOURCE_ROOT, "deno.json"), "utf8"),
    );
    for (const sub of [...Object.keys(deno.exports), "./cli"]) {
      const entry = manifest.exports[sub];
      assert.ok(entry, `package.json exports ${sub}`);
      assert.match(entry.types, /^\.\/dist\/.*\.d\.ts$/);
      assert.match(entry.default, /^\.\/dist\/.*\.js$/);
    }
    assert.equal(manifest.bin.distcache, "./dist/cli/bin.js");
    assert.equal(manifest.engines.node, ">=20");
  });

  it("shows every example of examples/node/ in the README as it is", () => {
    const readme = fs.readFileSync(path.join(SOURCE_ROOT, "README.md"), "utf8");
    for (const f of fs.readdirSync(EXAMPLES())) {
      if (!f.endsWith(".mjs")) continue;
      const example = fs.readFileSync(path.join(EXAMPLES(), f), "utf8");
      assert.ok(readme.includes("```js\n" + example + "```\n"), f);
    }
  });

  // The cache server and two instances of an example, as two hosts.
  async function twoHosts(
    example: string,
    env: Record<string, string> = {},
  ): Promise<{ a: number; b: number; stop: () => Promise<void> }> {
    const sock = path.join(tmp, `${example}.sock`);
    const cache = new CliProcess(
      ["server", "-listen", `UNIX:${sock}`],
      path.join(app, "node_modules", ".bin", "distcache"),
    );
    procs.push(cache);
    await cache.waitFor("listening on");
    const host = () => {
      const p = new CliProcess([example], process.execPath, {
        cwd: app,
        env: { ...env, DISTCACHE_ADDR: `UNIX:${sock}`, PORT: "0" },
      });
      procs.push(p);
      return p;
    };
    const hosts = [host(), host()];
    const ports = [];
    for (const h of hosts) {
      await h.waitFor(/listening on \d+/, 30_000);
      ports.push(Number(/listening on (\d+)/.exec(h.stdout)![1]));
    }
    return {
      a: ports[0],
      b: ports[1],
      stop: async () => {
        for (const h of hosts) await h.stop("SIGTERM");
        assert.ok(await cache.stop("SIGTERM"));
      },
    };
  }

  it("examples/node/tls_host.mjs: sessions and tickets from host A resume on host B", async () => {
    const cert = makeCert(tmp);
    const farm = await twoHosts("tls_host.mjs", {
      TLS_CERT: cert.certFile,
      TLS_KEY: cert.keyFile,
    });
    try {
      for (const version of ["tls1_2", "tls1_3"] as const) {
        const hs = await carrySession({
          from: farm.a,
          to: farm.b,
          file: path.join(tmp, `example-${version}.sess`),
          version,
          noTicket: version === "tls1_2",
        });
        assert.equal(hs.outcome, "Reused", version);
        assert.equal(hs.body, "hello");
      }
    } finally {
      await farm.stop();
    }
  });

  for (const example of ["express_app.mjs", "hono_app.mjs"]) {
    it(`examples/node/${example}: a session on host A goes on on host B`, async () => {
      const farm = await twoHosts(example);
      try {
        let cookie = "";
        const visit = async (port: number) => {
          const res = await fetch(`http://127.0.0.1:${port}/`, {
            headers: cookie ? { cookie } : {},
          });
          cookie = res.headers.get("set-cookie")?.split(";")[0] ?? cookie;
          return await res.text();
        };
        assert.equal(await visit(farm.a), "visit 1\n");
        assert.equal(await visit(farm.a), "visit 2\n");
        assert.equal(await visit(farm.b), "visit 3\n");
      } finally {
        await farm.stop();
      }
    });
  }

  it("imports every entry point under plain Node", () => {
    fs.writeFileSync(path.join(app, "import_all.mjs"), IMPORT_ALL);
    const out = execFileSync(process.execPath, ["import_all.mjs"], {
      cwd: app,
      encoding: "utf8",
    });
    assert.match(out, /imported \.\n/);
    assert.match(out, /imported \.\/dc_client\n/);
    assert.match(out, /imported \.\/cli\n/);
  });

  it("runs `npx distcache server`, serves a DcCtx, stops on SIGTERM", async () => {
    const sock = path.join(tmp, "npx.sock");
    // npm runs the bin through `sh -c` and passes no signal on: SIGTERM
    // goes to the process group, as from a terminal or a service manager.
    const server = new CliProcess(
      ["distcache", "server", "-listen", `UNIX:${sock}`],
      "npx",
      { cwd: app, group: true },
    );
    procs.push(server);
    try {
      await server.waitFor(`listening on UNIX:${sock}`, 30_000);
      fs.writeFileSync(path.join(app, "client.mjs"), CLIENT);
      const out = execFileSync(
        process.execPath,
        ["client.mjs", `UNIX:${sock}`],
        { cwd: app, encoding: "utf8" },
      );
      assert.match(out, /client ok/);
      const example = execFileSync(process.execPath, ["app.mjs"], {
        cwd: app,
        encoding: "utf8",
        env: { ...process.env, DISTCACHE_ADDR: `UNIX:${sock}` },
      });
      assert.equal(example, "{ user: 42 }\n");
    } finally {
      assert.ok(await server.stop("SIGTERM"), server.stdout + server.stderr);
    }
    assert.equal(fs.existsSync(sock), false, "socket file removed");
  });

  for (const resolution of ["node16", "nodenext"] as const) {
    it(`type-checks a strict TypeScript consumer and the example (${resolution})`, () => {
      const manifest = JSON.parse(
        fs.readFileSync(
          path.join(app, "node_modules", ...PKG.split("/"), "package.json"),
          "utf8",
        ),
      );
      fs.writeFileSync(
        path.join(app, "consumer.ts"),
        consumerSource(Object.keys(manifest.exports)),
      );
      fs.writeFileSync(path.join(app, "tsconfig.json"), tscConfig(resolution));
      const tsc = createRequire(path.join(SOURCE_ROOT, "package.json"))
        .resolve("typescript/bin/tsc");
      try {
        execFileSync(process.execPath, [tsc, "-p", "."], {
          cwd: app,
          encoding: "utf8",
        });
      } catch (err) {
        const e = err as { stdout?: string };
        assert.fail(`tsc found errors:\n${e.stdout}`);
      }
    });
  }
});
