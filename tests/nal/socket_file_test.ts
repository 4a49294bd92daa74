// A UNIX listener's socket file, over every adapter: the mode asked is the
// mode it has from the moment it is reachable (no private directory left
// behind), and so are the owner and group asked; modes beyond rwx and ids
// that are not ids are refused before anything is made, and the
// lock file beside it is held while listening, refused to a second
// listener, taken over from a dead holder, and removed on close.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { NalAddress, NalListener, NalOptionError } from "../../nal/mod.ts";
import { availableAdapters } from "../../nal/mod.ts";
import { makeTempDir, removeDir, staleSocket } from "../_servers.ts";

// A pid no process has: one that just ended.
function deadPid(): number {
  const child = spawnSync(process.execPath, ["--version"]);
  return child.pid!;
}

describe("socket mode option", () => {
  for (const mode of [0o7777, 0o1000, -1, 1.5, NaN]) {
    it(`mode ${String(mode)} is refused with NalOptionError`, () => {
      assert.throws(
        () => new NalListener({ mode }),
        (err: unknown) =>
          err instanceof NalOptionError && err.code === "ERR_OPTION" &&
          /only permission bits/.test(err.message),
      );
    });
  }
});

describe("socket owner option", () => {
  for (const owner of [{ uid: -1 }, { gid: 1.5 }, { uid: NaN }]) {
    it(`owner ${JSON.stringify(owner)} is refused with NalOptionError`, () => {
      assert.throws(
        () => new NalListener({ owner }),
        (err: unknown) =>
          err instanceof NalOptionError &&
          /a non-negative integer/.test(err.message),
      );
    });
  }
});

for (const adapter of availableAdapters()) {
  describe(`UNIX socket file (${adapter.name})`, () => {
    let dir = "";
    before(() => {
      dir = makeTempDir("nal-sockfile-");
      // Others could enter: only the socket's own mode keeps them out.
      fs.chmodSync(dir, 0o777);
    });
    after(() => removeDir(dir));

    it("owner and group asked are the socket's once it listens", {
      skip: process.getuid?.() === 0 ? false : "needs root (to chown)",
    }, async () => {
      const sock = path.join(dir, "owned");
      const list = new NalListener({
        adapter,
        owner: { uid: 65534, gid: 65534 },
      });
      try {
        assert.ok(await list.create(NalAddress.parse(`UNIX:${sock}`)));
        const st = fs.lstatSync(sock);
        assert.deepEqual([st.isSocket(), st.uid, st.gid], [true, 65534, 65534]);
        assert.deepEqual(
          fs.readdirSync(dir).filter((f) => f.startsWith(".dc-")),
          [],
        );
      } finally {
        await list.closeAndWait();
      }
    });

    for (const mode of [0o600, 0o660, 0o666]) {
      it(`mode 0o${mode.toString(8)} is the socket's mode once it listens, whatever the umask`, async () => {
        const sock = path.join(dir, `m${mode.toString(8)}`);
        const old = process.umask(0);
        const list = new NalListener({ adapter, mode });
        try {
          assert.ok(await list.create(NalAddress.parse(`UNIX:${sock}`)));
          const st = fs.lstatSync(sock);
          assert.ok(st.isSocket());
          assert.equal(st.mode & 0o777, mode);
          // The private directory it was made in is gone.
          assert.deepEqual(
            fs.readdirSync(dir).filter((f) => f.startsWith(".dc-")),
            [],
          );
        } finally {
          process.umask(old);
          await list.closeAndWait();
        }
        assert.equal(fs.existsSync(sock), false, "removed on close");
      });
    }

    it("holds a lock file while listening, refuses a second listener, removes it on close", async () => {
      const sock = path.join(dir, "locked");
      const first = new NalListener({ adapter });
      const second = new NalListener({ adapter });
      try {
        assert.ok(await first.create(NalAddress.parse(`UNIX:${sock}`)));
        assert.equal(
          fs.readFileSync(`${sock}.lock`, "utf8").split(" ")[0],
          String(process.pid),
        );
        assert.equal(
          await second.create(NalAddress.parse(`UNIX:${sock}`)),
          false,
        );
        assert.equal(second.error?.code, "ERR_ADDRESS_IN_USE");
        assert.match(
          second.error!.message,
          /live server holds it \(process \d+/,
        );
      } finally {
        await second.closeAndWait();
        await first.closeAndWait();
      }
      assert.equal(fs.existsSync(`${sock}.lock`), false);
      assert.equal(fs.existsSync(sock), false);
    });

    it("takes over a lock file and a socket file left by a dead server", async () => {
      const sock = path.join(dir, "stale");
      staleSocket(sock);
      fs.writeFileSync(`${sock}.lock`, `${deadPid()} gone\n`);
      const list = new NalListener({ adapter });
      try {
        assert.ok(
          await list.create(NalAddress.parse(`UNIX:${sock}`)),
          list.error?.message,
        );
        assert.match(
          fs.readFileSync(`${sock}.lock`, "utf8"),
          new RegExp(`^${process.pid} `),
        );
      } finally {
        await list.closeAndWait();
      }
      assert.equal(fs.existsSync(`${sock}.lock`), false);
    });
  });
}
