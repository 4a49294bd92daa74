// The supervision files in deploy/: the systemd units are checked by
// systemd-analyze verify where it is installed, and always against the
// directives they may use; their command lines, and the Dockerfile's, are
// accepted by the CLI; the Dockerfile builds the Bun single binary and runs
// it as a non-root user.

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CliProcess, CliSandbox, runCli, SOURCE_ROOT } from "../_cli.ts";

const DEPLOY = path.join(SOURCE_ROOT, "deploy");
const UNITS = ["distcache-server.service", "distcache-client.service"];

/** A unit file's directives by section, line continuations joined. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  const lines = text.replace(/\\\n\s*/g, " ").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1], current);
      return;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (kv === null || current === null) {
      throw new Error(`line ${i + 1}: not a directive: ${raw}`);
    }
    const values = current.get(kv[1]) ?? [];
    values.push(kv[2]);
    current.set(kv[1], values);
  });
  return sections;
}

// The directives the units may use (systemd.unit(5), systemd.service(5),
// systemd.exec(5), systemd.kill(5), systemd.resource-control(5)).
const KNOWN: Record<string, string[]> = {
  Unit: ["Description", "Documentation", "After", "Wants", "Requires"],
  Service: [
    "Type",
    "ExecStart",
    "KillSignal",
    "TimeoutStopSec",
    "Restart",
    "RestartSec",
    "LimitNOFILE",
    "Group",
    "StateDirectory",
    "StateDirectoryMode",
    "RuntimeDirectory",
    "RuntimeDirectoryMode",
    "UMask",
    "NoNewPrivileges",
    "CapabilityBoundingSet",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "ProtectProc",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "LockPersonality",
    "SystemCallArchitectures",
  ],
  Install: ["WantedBy"],
};

function one(unit: Map<string, Map<string, string[]>>, key: string): string {
  const values = unit.get("Service")?.get(key) ?? [];
  assert.equal(values.length, 1, `one ${key}=`);
  return values[0];
}

function haveSystemdAnalyze(): boolean {
  return spawnSync("systemd-analyze", ["--version"]).status === 0;
}

describe("deploy/systemd", () => {
  const box = new CliSandbox("distcache-deploy-");

  for (const name of UNITS) {
    const text = fs.readFileSync(path.join(DEPLOY, "systemd", name), "utf8");

    it(`${name}: known directives, Type=simple, the real binary, -user, RuntimeDirectory, hardening`, () => {
      const unit = parseUnit(text);
      for (const [section, keys] of unit) {
        assert.ok(section in KNOWN, `section [${section}]`);
        for (const key of keys.keys()) {
          assert.ok(KNOWN[section].includes(key), `[${section}] ${key}=`);
        }
      }
      assert.equal(one(unit, "Type"), "simple");
      const exec = one(unit, "ExecStart").split(/\s+/);
      assert.equal(exec[0], "/usr/local/bin/distcache");
      assert.equal(exec[1], name.includes("server") ? "server" : "client");
      assert.equal(exec[exec.indexOf("-user") + 1], "distcache");
      assert.ok(exec.includes("-syslog"), "messages to the journal");
      assert.ok(!exec.includes("-daemon"), "in the foreground");
      assert.match(one(unit, "RuntimeDirectory"), /^distcache/);
      assert.equal(one(unit, "KillSignal"), "SIGTERM");
      for (
        const [key, value] of [
          ["NoNewPrivileges", "yes"],
          ["ProtectSystem", "strict"],
          ["ProtectHome", "yes"],
          ["PrivateTmp", "yes"],
          ["PrivateDevices", "yes"],
          ["RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"],
        ]
      ) assert.equal(one(unit, key), value, key);
      const caps = one(unit, "CapabilityBoundingSet").split(" ");
      assert.ok(caps.includes("CAP_SETUID") && caps.includes("CAP_SETGID"));
      assert.ok(
        !caps.includes("CAP_SYS_ADMIN") && !caps.includes("CAP_NET_ADMIN"),
      );
    });

    it(`${name}: the CLI accepts its command line`, async () => {
      const exec = one(parseUnit(text), "ExecStart").split(/\s+/);
      const res = await runCli([...exec.slice(1), "-h"]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, /^usage: distcache /);
    });

    it(`${name}: systemd-analyze verify accepts it`, {
      skip: haveSystemdAnalyze() ? false : "systemd-analyze is not installed",
    }, () => {
      // verify wants the binary to exist: point it at a stand-in.
      const bin = path.join(box.dir, "distcache");
      fs.writeFileSync(bin, "#!/bin/sh\n", { mode: 0o755 });
      const copy = path.join(box.dir, name);
      fs.writeFileSync(copy, text.replaceAll("/usr/local/bin/distcache", bin));
      const res = spawnSync("systemd-analyze", ["verify", copy], {
        encoding: "utf8",
      });
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stderr.trim(), "", "no warnings");
    });
  }
});

describe("deploy/docker/Dockerfile", () => {
  const box = new CliSandbox("distcache-docker-");
  const text = fs.readFileSync(
    path.join(DEPLOY, "docker", "Dockerfile"),
    "utf8",
  );
  const steps = text.replace(/\\\n\s*/g, " ").split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.trim().split(" ");
      return { op, arg: rest.join(" ") };
    });
  const json = (op: string): string[] =>
    JSON.parse([...steps].reverse().find((s) => s.op === op)!.arg);

  it("builds the Bun single binary in a builder stage and runs it alone, as a non-root user", () => {
    const froms = steps.filter((s) => s.op === "FROM").map((s) => s.arg);
    assert.equal(froms.length, 2, "a builder stage and the image");
    for (const from of froms) {
      assert.match(from, /^\S+:\S+/, `${from}: a pinned tag`);
      assert.doesNotMatch(from, /:latest\b/);
    }
    assert.match(froms[0], / AS build$/);
    const build = steps.find((s) =>
      s.op === "RUN" && s.arg.includes("build --compile")
    );
    assert.match(
      build!.arg,
      /bun build --compile cli\/main\.ts --outfile \/out\/distcache/,
    );
    const final = steps.slice(steps.map((s) => s.op).lastIndexOf("FROM"));
    assert.ok(
      final.some((s) =>
        s.op === "COPY" &&
        s.arg === "--from=build /out/distcache /usr/local/bin/distcache"
      ),
    );
    assert.ok(!final.some((s) => s.op === "RUN"), "nothing run in the image");
    const user = final.find((s) => s.op === "USER")!.arg;
    assert.notEqual(user.split(":")[0], "0");
    assert.notEqual(user.split(":")[0], "root");
    assert.equal(final.find((s) => s.op === "STOPSIGNAL")?.arg, "SIGTERM");
    assert.deepEqual(json("ENTRYPOINT"), [
      "/usr/local/bin/distcache",
      "server",
    ]);
    const ignore = fs.readFileSync(
      path.join(DEPLOY, "docker", "Dockerfile.dockerignore"),
      "utf8",
    );
    assert.match(
      ignore,
      /^node_modules$/m,
      "no local node_modules in the context",
    );
  });

  it("its default command serves, with the ports it exposes", async () => {
    const cmd = json("CMD");
    const exposed = steps.find((s) => s.op === "EXPOSE")!.arg.split(" ");
    assert.deepEqual(
      [cmd[cmd.indexOf("-listen") + 1], cmd[cmd.indexOf("-stats") + 1]],
      exposed.map((p) => `IP:${p}`),
    );
    const res = await runCli(["server", ...cmd, "-h"]);
    assert.equal(res.code, 0, res.stderr);
    // And it runs: the same flags on free ports, stopped as docker stop does.
    const args = cmd.map((a) => a.startsWith("IP:") ? "IP:127.0.0.1:0" : a);
    const proc = box.track(new CliProcess(["server", ...args]));
    try {
      await proc.waitFor(
        /^<6>distcache server listening on IP:127\.0\.0\.1:\d+ .*stats: IP:127\.0\.0\.1:\d+/m,
      );
    } finally {
      proc.signal("SIGTERM");
      await proc.exited;
    }
    assert.match(proc.stderr, /^<6>distcache server stopped$/m);
  });
});
