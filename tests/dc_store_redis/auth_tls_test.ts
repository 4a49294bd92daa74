// The Redis store behind ACL authentication and TLS: the credentials of
// the URL (or of DISTCACHE_STORE_PASSWORD for the CLI), a wrong password or
// an untrusted certificate said in the status line, and a command Redis
// refuses (NOPERM) failing that one request only.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { serve } from "../../dc_server/mod.ts";
import { RedisCache, type RedisStatus } from "../../dc_store_redis/mod.ts";
import { REDIS_MISSING, StandaloneRedis } from "../_redis.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";
import { addOnceUp, startStoreServer } from "./_store_cli.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("openssl", args, { cwd }, (err, _out, stderr) => {
      if (err) {
        reject(new Error(`openssl ${args[0]}: ${stderr || err.message}`));
      } else resolve();
    })
  );
}

// A CA and a certificate for 127.0.0.1 signed by it, in `dir`.
async function makeCerts(dir: string): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  await openssl(
    [
      "req",
      "-x509",
      ...ec,
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-subj",
      "/CN=distcache test CA",
      "-days",
      "2",
    ],
    dir,
  );
  await openssl(
    [
      "req",
      ...ec,
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    ],
    dir,
  );
  fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ],
    dir,
  );
}

async function expectDown(
  cache: RedisCache,
  statuses: RedisStatus[],
  why: RegExp,
): Promise<void> {
  await until(() => statuses.length > 0, 5000, "a down status");
  assert.equal(statuses[0].state, "down");
  assert.match(statuses[0].reason, why);
  await assert.rejects(
    cache.add(Date.now(), 1000, te.encode("x"), te.encode("y")),
  );
}

describe("the Redis store with ACL users", { skip: REDIS_MISSING }, () => {
  let dir = "";
  let redis: StandaloneRedis;
  before(async () => {
    dir = makeTempDir("dc-redis-acl-");
    const acl = path.join(dir, "users.acl");
    fs.writeFileSync(
      acl,
      "user default off\nuser app on >s3cret ~dc:* &* +@all\n",
    );
    redis = await StandaloneRedis.start(["--aclfile", acl], undefined, {
      cliArgs: ["--user", "app", "--pass", "s3cret", "--no-auth-warning"],
    });
  });
  after(async () => {
    await redis?.stop();
    removeDir(dir);
  });

  it("logs in with the URL's user and password", async () => {
    const cache = new RedisCache({
      url: `redis://app:s3cret@127.0.0.1:${redis.server.port}`,
    });
    try {
      await cache.ready();
      assert.equal(
        await cache.add(Date.now(), 60_000, te.encode("acl"), te.encode("ok")),
        true,
      );
      assert.equal(await redis.server.cli("GET", "dc:acl"), "ok");
    } finally {
      cache.close();
    }
  });

  it("says a wrong password is why it cannot reach Redis, and fails requests", async () => {
    const statuses: RedisStatus[] = [];
    const cache = new RedisCache({
      url: `redis://app:wrong@127.0.0.1:${redis.server.port}`,
      onStatus: (s) => statuses.push(s),
    });
    try {
      await expectDown(cache, statuses, /WRONGPASS/);
      assert.doesNotMatch(
        statuses[0].message,
        /wrong/,
        "the password is not shown",
      );
    } finally {
      cache.close();
    }
  });

  it("fails only the request Redis refuses (a prefix outside the user's keys)", async () => {
    const server = await serve({
      listen: "IP:127.0.0.1:0",
      cache: new RedisCache({
        url: `redis://app:s3cret@127.0.0.1:${redis.server.port}`,
        prefix: "other:",
      }),
    });
    const c = await RawClient.connect(server.addr);
    try {
      c.send(command(1, OP.ADD, addPayload("x", "y", 60_000)));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(2));
      c.send(command(2, OP.HAVE, bytes("x")));
      assert.deepEqual((await c.answer()).payload, Uint8Array.of(2));
      assert.equal(c.closed, false);
      assert.equal(server.stats().storeErrors, 2);
    } finally {
      c.close();
      await server.close();
    }
  });

  it("distcache server takes the password from DISTCACHE_STORE_PASSWORD", async () => {
    const { proc, addr } = await startStoreServer(
      `redis://app@127.0.0.1:${redis.server.port}`,
      [],
      { DISTCACHE_STORE_PASSWORD: "s3cret" },
    );
    const c = await RawClient.connect(addr);
    try {
      await addOnceUp(c, "env", "pw", "a stored session");
      assert.equal(await redis.server.cli("GET", "dc:env"), "pw");
    } finally {
      c.close();
      proc.signal("SIGTERM");
      await proc.exited;
    }
  });
});

describe(
  "the Redis store over TLS (rediss://)",
  { skip: REDIS_MISSING },
  () => {
    let dir = "";
    let redis: StandaloneRedis;
    before(async () => {
      dir = makeTempDir("dc-redis-tls-");
      await makeCerts(dir);
      const f = (name: string) => path.join(dir, name);
      redis = await StandaloneRedis.start(
        [
          "--tls-cert-file",
          f("server.crt"),
          "--tls-key-file",
          f("server.key"),
          "--tls-ca-cert-file",
          f("ca.crt"),
          "--tls-auth-clients",
          "no",
        ],
        undefined,
        { tls: true, cliArgs: ["--tls", "--cacert", f("ca.crt")] },
      );
    });
    after(async () => {
      await redis?.stop();
      removeDir(dir);
    });

    it("connects with the CA it is given, and keeps the bytes", async () => {
      const cache = new RedisCache({
        url: redis.url,
        tls: { ca: fs.readFileSync(path.join(dir, "ca.crt"), "utf8") },
      });
      try {
        await cache.ready();
        assert.match(redis.url, /^rediss:/);
        const data = Uint8Array.of(0, 255, 1, 254);
        assert.equal(
          await cache.add(Date.now(), 60_000, te.encode("tls"), data),
          true,
        );
        assert.deepEqual(
          new Uint8Array((await cache.get(Date.now(), te.encode("tls")))!),
          data,
        );
      } finally {
        cache.close();
      }
    });

    it("refuses a server whose certificate it cannot verify, and says so", async () => {
      const statuses: RedisStatus[] = [];
      const cache = new RedisCache({
        url: redis.url,
        onStatus: (s) => statuses.push(s),
      });
      try {
        await expectDown(cache, statuses, /certificate/i);
      } finally {
        cache.close();
      }
    });

    it("distcache server -store rediss:// -store-ca serves", async () => {
      const { proc, addr } = await startStoreServer(redis.url, [
        "-store-ca",
        path.join(dir, "ca.crt"),
      ]);
      const c = await RawClient.connect(addr);
      try {
        await addOnceUp(c, "cli-tls", "yes", "a stored session");
        c.send(command(2, OP.GET, bytes("cli-tls")));
        assert.equal(td.decode((await c.answer()).payload), "yes");
      } finally {
        c.close();
        proc.signal("SIGTERM");
        await proc.exited;
      }
    });
  },
);
