// The metrics registry and the server's metrics: the Prometheus text they
// render parses strictly, every operation moves exactly its own series,
// and /stats carries the same figures as /metrics.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../../dc_client/mod.ts";
import {
  DcMetricError,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
  registerServerMetrics,
  registerServiceMetrics,
  serve,
  statsReply,
} from "../../dc_server/mod.ts";
import { DISTCACHE_VERSION } from "../../nal/mod.ts";
import {
  expectOneOperation,
  operationSeries,
  parsePrometheus,
  sampleOf,
} from "../_prometheus.ts";

describe("the strict Prometheus reader (its own checks)", () => {
  const ok = "# HELP a A.\n# TYPE a counter\na 1\n";
  it("accepts a well-formed family", () => {
    assert.equal(sampleOf(parsePrometheus(ok), "a"), 1);
  });
  const bad: [string, string][] = [
    ["a sample before its # TYPE", "# HELP a A.\na 1\n# TYPE a counter\n"],
    ["a sample without # HELP", "# TYPE a counter\na 1\n"],
    [
      "a duplicate series",
      '# HELP a A.\n# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n',
    ],
    ["a bad escape", '# HELP a A.\n# TYPE a gauge\na{x="\\t"} 1\n'],
    ["a bad label name", '# HELP a A.\n# TYPE a gauge\na{1x="1"} 1\n'],
    ["a bad value", "# HELP a A.\n# TYPE a gauge\na one\n"],
    ["no final newline", "# HELP a A.\n# TYPE a gauge\na 1"],
    [
      "interleaved families",
      '# HELP a A.\n# TYPE a gauge\n# HELP b B.\n# TYPE b gauge\na 1\nb 1\na{x="y"} 1\n',
    ],
    ["a negative counter", "# HELP a A.\n# TYPE a counter\na -1\n"],
  ];
  for (const [what, text] of bad) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parsePrometheus(text));
    });
  }
});

describe("MetricsRegistry", () => {
  it("renders # HELP and # TYPE before each family's samples, in registration order", () => {
    const registry = new MetricsRegistry();
    registry.gauge("b_items", "Items.", () => 2);
    registry.counter("a_ops_total", "Ops.", () => [
      { labels: { kind: "x" }, value: 1 },
      { labels: { kind: "y" }, value: 0 },
    ]);
    assert.equal(
      registry.renderPrometheus(),
      "# HELP b_items Items.\n# TYPE b_items gauge\nb_items 2\n" +
        "# HELP a_ops_total Ops.\n# TYPE a_ops_total counter\n" +
        'a_ops_total{kind="x"} 1\na_ops_total{kind="y"} 0\n',
    );
  });

  it("escapes label values and help text so that they read back as given", () => {
    const registry = new MetricsRegistry();
    const nasty = 'a "quoted" back\\slash\nnew line';
    registry.gauge("x", "Help with \\ and\nnewline.", () => [
      { labels: { v: nasty }, value: 1 },
    ]);
    const parsed = parsePrometheus(registry.renderPrometheus());
    assert.equal(sampleOf(parsed, "x", { v: nasty }), 1);
    assert.equal(parsed.get("x")!.help, "Help with \\\\ and\\nnewline.");
  });

  it("renders special values as Prometheus spells them", () => {
    const registry = new MetricsRegistry();
    registry.gauge("g", "G.", () => [
      { labels: { k: "nan" }, value: NaN },
      { labels: { k: "inf" }, value: Infinity },
      { labels: { k: "neg" }, value: -Infinity },
    ]);
    const text = registry.renderPrometheus();
    assert.match(text, /^g\{k="nan"\} NaN$/m);
    assert.match(text, /^g\{k="inf"\} \+Inf$/m);
    assert.match(text, /^g\{k="neg"\} -Inf$/m);
    parsePrometheus(text);
  });

  it("refuses bad names, a name twice, bad labels and a series twice", () => {
    const registry = new MetricsRegistry();
    assert.throws(() => registry.gauge("a-b", "x", () => 1), DcMetricError);
    assert.throws(() => registry.gauge("9a", "x", () => 1), DcMetricError);
    registry.gauge("a", "x", () => 1);
    assert.throws(
      () => registry.counter("a", "again", () => 1),
      (err) =>
        err instanceof DcMetricError && /already registered/.test(err.message),
    );
    const labels = new MetricsRegistry();
    labels.gauge("l", "x", () => [{ labels: { "bad-label": "1" }, value: 1 }]);
    assert.throws(
      () => labels.renderPrometheus(),
      /invalid label name "bad-label"/,
    );
    const reserved = new MetricsRegistry();
    reserved.gauge("r", "x", () => [{ labels: { __name__: "1" }, value: 1 }]);
    assert.throws(() => reserved.collect(), DcMetricError);
    const twice = new MetricsRegistry();
    twice.gauge("t", "x", () => [
      { labels: { a: "1", b: "2" }, value: 1 },
      { labels: { b: "2", a: "1" }, value: 2 },
    ]);
    assert.throws(() => twice.renderPrometheus(), /two series/);
  });

  it("reads its owner's snapshot once per reading, before any metric", () => {
    const registry = new MetricsRegistry();
    let reads = 0;
    let snapshot = 0;
    registry.beforeCollect(() => snapshot = ++reads);
    registry.gauge("a", "A.", () => snapshot);
    registry.gauge("b", "B.", () => snapshot);
    assert.match(registry.renderPrometheus(), /^a 1\n[^]*^b 1$/m);
    assert.match(registry.renderPrometheus(), /^a 2\n[^]*^b 2$/m);
  });
});

describe("statsReply", () => {
  const registry = new MetricsRegistry();
  registry.gauge("items", "Items.", () => 5);
  it("serves /metrics as Prometheus text and /stats as JSON of the same figures", () => {
    const metrics = statsReply(registry, { method: "GET", path: "/metrics" });
    assert.equal(metrics.status, 200);
    assert.equal(metrics.contentType, PROMETHEUS_CONTENT_TYPE);
    assert.equal(sampleOf(parsePrometheus(metrics.body), "items"), 5);
    const stats = statsReply(registry, { method: "GET", path: "/stats" });
    assert.equal(stats.contentType, "application/json");
    assert.deepEqual(JSON.parse(stats.body), {
      metrics: {
        items: {
          type: "gauge",
          help: "Items.",
          samples: [{ labels: {}, value: 5 }],
        },
      },
    });
  });
  it("answers 404 for other paths and 405 for other methods", () => {
    assert.equal(
      statsReply(registry, { method: "GET", path: "/x" }).status,
      404,
    );
    const post = statsReply(registry, { method: "POST", path: "/metrics" });
    assert.equal(post.status, 405);
    assert.equal(post.headers?.allow, "GET, HEAD");
  });
});

describe("server metrics", () => {
  it("an ADD, a GET hit, a GET miss, a REMOVE, a refused ADD each move their own series by exactly one", async () => {
    const server = await serve({ listen: "IP:127.0.0.1:0", sessions: 1000 });
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      const registry = new MetricsRegistry();
      registerServiceMetrics(registry, { role: "server" });
      registerServerMetrics(registry, server, {
        sessions: 1000,
        maxBytes: 1 << 20,
      });
      const scrape = () =>
        Promise.resolve(parsePrometheus(registry.renderPrometheus()));
      let before = operationSeries(await scrape());
      const step = async (
        op: () => Promise<unknown>,
        command: string,
        result: string,
      ) => {
        before = await expectOneOperation(scrape, before, op, command, result);
      };
      await step(
        () => ctx.addSession("s1", "hello world", 60_000),
        "add",
        "ok",
      );
      await step(() => ctx.get("s1"), "get", "hit");
      await step(() => ctx.get("nope"), "get", "miss");
      await step(() => ctx.removeSession("s1"), "remove", "ok");
      await step(() => ctx.removeSession("s1"), "remove", "not_found");
      await step(
        () => ctx.addSession("s2", "hello world", 60_000),
        "add",
        "ok",
      );
      await step(
        () => ctx.addSession("s2", "hello again", 60_000),
        "add",
        "matching_session",
      );
      await step(() => ctx.hasSession("s2"), "have", "hit");
      await step(() => ctx.hasSession("s1"), "have", "miss");

      const families = await scrape();
      assert.equal(sampleOf(families, "distcache_sessions"), 1);
      assert.equal(sampleOf(families, "distcache_stored_bytes"), 2 + 11);
      assert.equal(sampleOf(families, "distcache_sessions_limit"), 1000);
      assert.equal(sampleOf(families, "distcache_stored_bytes_limit"), 1 << 20);
      assert.equal(sampleOf(families, "distcache_connections"), 1);
      assert.equal(sampleOf(families, "distcache_connections_total"), 1);
      assert.equal(sampleOf(families, "distcache_protocol_errors_total"), 0);
      assert.equal(
        sampleOf(families, "distcache_build_info", {
          role: "server",
          runtime: "Deno" in globalThis
            ? "deno"
            : "Bun" in globalThis
            ? "bun"
            : "node",
          version: DISTCACHE_VERSION,
        }),
        1,
      );
      assert.ok(sampleOf(families, "distcache_uptime_seconds") >= 0);
      assert.equal(families.get("distcache_evictions_total")!.type, "counter");
    } finally {
      ctx.close();
      await server.close();
    }
  });

  it("counts evictions and expirations as the store makes them", async () => {
    let now = 1_000_000;
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      sessions: 64,
      clock: () => now,
    });
    const ctx = await DcCtx.create(server.addr, DC_CTX_FLAG_PERSISTENT);
    try {
      const registry = new MetricsRegistry();
      registerServerMetrics(registry, server);
      for (let i = 0; i < 64; i++) {
        assert.ok(await ctx.addSession(`e${i}`, "some data", 60_000 + i));
      }
      // Full: the next ADD evicts max(1, 64 / 30) = 2, the soonest to expire.
      assert.ok(await ctx.addSession("one-more", "some data", 120_000));
      let families = parsePrometheus(registry.renderPrometheus());
      assert.equal(sampleOf(families, "distcache_evictions_total"), 2);
      assert.equal(sampleOf(families, "distcache_sessions"), 63);
      now += 100_000;
      families = parsePrometheus(registry.renderPrometheus());
      assert.equal(sampleOf(families, "distcache_expirations_total"), 62);
      assert.equal(sampleOf(families, "distcache_sessions"), 1);
    } finally {
      ctx.close();
      await server.close();
    }
  });
});
