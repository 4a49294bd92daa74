// Who may connect to a TCP listener: NalAllowList's networks (IPv4, IPv6,
// IPv4 seen through IPv6), and a listener with `allow` refusing the others
// at accept, counting and reporting them, over every adapter.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import {
  availableAdapters,
  NalAddress,
  NalAllowList,
  NalConnection,
  NalListener,
  NalOptionError,
} from "../../nal/mod.ts";
import { makeTempDir, removeDir, until } from "../_servers.ts";
import { pump } from "./_helpers.ts";

describe("NalAllowList", () => {
  it("matches IPv4 and IPv6 networks, and IPv4 peers seen through IPv6", () => {
    const allow = NalAllowList.parse(" 10.0.0.0/8, 192.168.1.7 ,2001:db8::/32");
    for (
      const yes of [
        "10.0.0.0",
        "10.255.255.255",
        "::ffff:10.1.2.3",
        "192.168.1.7",
        "2001:db8::1",
        "2001:DB8:ffff::",
      ]
    ) assert.equal(allow.allows(yes), true, yes);
    for (
      const no of [
        "11.0.0.0",
        "192.168.1.8",
        "2001:db9::1",
        "::1",
        "127.0.0.1",
        "",
        "localhost",
      ]
    ) assert.equal(allow.allows(no), false, no);
    assert.equal(String(allow), "10.0.0.0/8,192.168.1.7,2001:db8::/32");
  });

  it("host bits are ignored, /0 covers a family, ::/0 covers IPv4 too", () => {
    assert.equal(NalAllowList.parse("10.1.2.3/8").allows("10.9.9.9"), true);
    assert.equal(NalAllowList.parse("0.0.0.0/0").allows("8.8.8.8"), true);
    assert.equal(NalAllowList.parse("0.0.0.0/0").allows("::1"), false);
    assert.equal(NalAllowList.parse("::/0").allows("8.8.8.8"), true);
    assert.equal(NalAllowList.parse("::1").allows("::1"), true);
    assert.equal(NalAllowList.parse("fe80::/10").allows("fe80::1%eth0"), true);
  });

  it("a bad entry is refused, naming it and what is valid", () => {
    for (
      const [text, what] of [
        ["", /no networks/],
        ["10.0.0.0/33", /"10.0.0.0\/33".*0 to 32/],
        ["::/129", /0 to 128/],
        ["10.0.0.256", /"10.0.0.256" is not an IPv4 or IPv6 address/],
        ["10.0.0.0/8,,::1", /an empty entry/],
        ["example.com", /"example.com" is not/],
        ["1:2:3:4:5:6:7:8:9", /not an IPv4 or IPv6/],
        ["10.0.0.0/8x", /prefix length/],
      ] as const
    ) {
      assert.throws(
        () => NalAllowList.parse(text),
        (err: Error) => err instanceof NalOptionError && what.test(err.message),
        text,
      );
    }
  });
});

// Whether a plain TCP connect from the test to `port` is kept open by the
// listener (it sees an accepted client) or closed at once.
function connectAndWatch(
  port: number,
  host: string,
): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect({ host, port });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) =>
    socket.on("close", () => resolve())
  );
  return { socket, closed };
}

const ipv6 = await new Promise<boolean>((resolve) => {
  const s = net.createServer();
  s.once("error", () => resolve(false));
  s.listen(0, "::1", () => s.close(() => resolve(true)));
});

for (const adapter of availableAdapters()) {
  describe(`NalListener allow (${adapter.name})`, () => {
    let dir = "";
    before(() => dir = makeTempDir());
    after(() => removeDir(dir));

    async function check(
      listenOn: string,
      host: string,
      allow: string,
      admitted: boolean,
    ): Promise<void> {
      const reports: [number, string][] = [];
      const list = new NalListener({
        adapter,
        allow: NalAllowList.parse(allow),
        onDenied: (count, address) => reports.push([count, address]),
      });
      assert.ok(
        await list.create(NalAddress.parse(listenOn)),
        list.error?.message,
      );
      const port = Number(
        list.address().slice(list.address().lastIndexOf(":") + 1),
      );
      const peer = connectAndWatch(port, host);
      try {
        if (admitted) {
          const conn = new NalConnection({ adapter });
          assert.equal(await list.acceptBlock(conn), true);
          // The accepted connection carries bytes.
          peer.socket.write("hello");
          await pump([conn], () => conn.getRead().used() >= 5);
          conn.close();
          await peer.closed;
          assert.equal(list.denied(), 0);
          assert.deepEqual(reports, []);
        } else {
          await peer.closed;
          assert.equal(list.hasWork(), false);
          assert.equal(list.denied(), 1);
          await until(() => reports.length === 1, 5000, "the refusal report");
          assert.equal(reports[0][0], 1);
          assert.match(
            reports[0][1],
            host === "::1" ? /^::1$/ : /127\.0\.0\.1$/,
          );
        }
      } finally {
        peer.socket.destroy();
        await list.closeAndWait();
      }
    }

    it("a peer inside a network of the list is accepted", () =>
      check("IP:127.0.0.1:0", "127.0.0.1", "10.0.0.0/8,127.0.0.0/8", true));

    it("a peer outside every network is closed at accept, counted and reported", () =>
      check("IP:127.0.0.1:0", "127.0.0.1", "10.0.0.0/8,::1", false));

    it("IPv6: ::1 is accepted by ::1/128 and refused by 2001:db8::/32", {
      skip: !ipv6 && "no IPv6 loopback here",
    }, async () => {
      await check("IPv6:[::1]:0", "::1", "::1/128", true);
      await check("IPv6:[::1]:0", "::1", "2001:db8::/32,127.0.0.1", false);
    });

    it("an allow list on a UNIX address is refused", async () => {
      const list = new NalListener({
        adapter,
        allow: NalAllowList.parse("10.0.0.0/8"),
      });
      assert.equal(
        await list.create(NalAddress.parse(`UNIX:${dir}/sock`)),
        false,
      );
      assert.match(list.error!.message, /allow list is for TCP addresses/);
    });
  });
}
