// NalAddress: the one string namespace for UNIX, IPv4 and IPv6 addresses,
// what each form can do, the errors for bad strings, and the buffer size an
// address hands to the connections made from it.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import {
  DistcacheError,
  NAL_DEFAULT_BUFFER_SIZE,
  NAL_MAX_BUFFER_SIZE,
  NalAddress,
  NalAddressError,
  NalConnection,
  NalListener,
  type SocketTarget,
} from "../../nal/mod.ts";
import { makeTempDir, removeDir } from "../_servers.ts";
import { pump } from "./_helpers.ts";

describe("NalAddress capabilities", () => {
  // [string, canConnect, canListen]: an address with a host can both
  // connect and listen (docs/protocol.md, "Address strings").
  const table: [string, boolean, boolean][] = [
    ["IP:9001", false, true],
    ["IPv4:192.168.0.1:80", true, true],
    ["IPv4:127.0.0.1:9001", true, true],
    ["IPv4:9001", false, true],
    ["IP::9001", false, true],
    ["IPv4::9001", false, true],
    ["IP:localhost:9001", true, true],
    ["UNIX:/tmp/scache", true, true],
    ["UNIX:relative/sock", true, true],
    ["IPv6:[::1]:9001", true, true],
    ["IPv6:[fe80::1%eth0]:9001", true, true],
    ["IPv6:9001", false, true],
    // Port 0 asks the system for a port: fine to listen on, nowhere to go.
    ["IP:127.0.0.1:0", false, true],
    ["IPv6:[::1]:0", false, true],
  ];
  for (const [str, connect, listen] of table) {
    it(`"${str}": canConnect ${connect}, canListen ${listen}`, () => {
      const addr = new NalAddress();
      assert.equal(addr.create(str), true, addr.error?.message);
      assert.equal(addr.error, null);
      assert.equal(addr.canConnect(), connect);
      assert.equal(addr.canListen(), listen);
      assert.equal(String(addr), str);
    });
  }

  it("an address never created can neither connect nor listen", () => {
    const addr = new NalAddress();
    assert.equal(addr.canConnect(), false);
    assert.equal(addr.canListen(), false);
    assert.throws(() => addr.target(), NalAddressError);
  });

  it("IP: and IPv4: are the same transport", () => {
    assert.deepEqual(
      NalAddress.parse("IP:10.0.0.1:80").target(),
      NalAddress.parse("IPv4:10.0.0.1:80").target(),
    );
  });

  // Where each form connects or listens: "IP:<port>" on every interface,
  // "IP:localhost:<port>" on loopback only; IPv6 literals lose their
  // brackets; a UNIX path is kept verbatim, colons included.
  const tcp = (host: string, port: number, family: 4 | 6): SocketTarget => ({
    kind: "tcp",
    host,
    port,
    family,
  });
  const targets: [string, SocketTarget][] = [
    ["IP:9001", tcp("0.0.0.0", 9001, 4)],
    ["IP::9001", tcp("0.0.0.0", 9001, 4)],
    ["IP:localhost:9001", tcp("127.0.0.1", 9001, 4)],
    ["IPv4:LocalHost:9001", tcp("127.0.0.1", 9001, 4)],
    ["IPv6:[::1]:80", tcp("::1", 80, 6)],
    ["IPv6:80", tcp("::", 80, 6)],
    ["UNIX:/tmp/a:b", { kind: "unix", path: "/tmp/a:b" }],
  ];
  for (const [str, target] of targets) {
    it(`"${str}" means ${JSON.stringify(target)}`, () => {
      assert.deepEqual(NalAddress.parse(str).target(), target);
    });
  }
});

describe("NalAddress rejections", () => {
  // [string, what the message must mention]
  const bad: [string, RegExp][] = [
    ["", /must start with UNIX:, IP:, IPv4: or IPv6:/],
    ["garbage", /must start with/],
    ["TCP:1.2.3.4:80", /must start with/],
    ["ip:9001", /must start with/],
    ["IPv5:9001", /must start with/],
    [":9001", /must start with/],
    ["UNIX:", /empty UNIX path/],
    [`UNIX:/${"x".repeat(200)}`, /longer than/],
    ["UNIX:/tmp/a\0b", /NUL/],
    ["IP:", /missing port/],
    ["IP:127.0.0.1:", /missing port/],
    ["IP:abc", /port "abc" is not a number/],
    ["IP:-1", /not a number/],
    ["IP:90 01", /not a number/],
    ["IP:127.0.0.1:http", /not a number/],
    ["IP:65536", /port must be 0\.\.65535/],
    ["IP:70000", /port must be 0\.\.65535/],
    ["IP:127.0.0.1:99999", /port must be 0\.\.65535/],
    ["IPv6:[::1]:65536", /port must be 0\.\.65535/],
    ["IP:300.1.1.1:80", /bad IPv4 address "300\.1\.1\.1"/],
    ["IP:1.2.3:80", /bad IPv4 address/],
    ["IP:bad_host!:80", /bad host "bad_host!"/],
    ["IP:::1:80", /IPv6 addresses are written IPv6:\[addr\]:port/],
    ["IPv6:[::1]", /expected IPv6:\[addr\]:port/],
    ["IPv6:[::1", /expected IPv6:\[addr\]:port/],
    ["IPv6:[]:80", /bad IPv6 address/],
    ["IPv6:[127.0.0.1]:80", /bad IPv6 address/],
    ["IPv6:[zz::1]:80", /bad IPv6 address/],
    ["IPv6:", /missing port/],
  ];
  for (const [str, message] of bad) {
    const name = str.length > 40 ? `${str.slice(0, 20)}...` : str;
    it(`${JSON.stringify(name)} is refused with ERR_ADDRESS`, () => {
      const addr = new NalAddress();
      assert.equal(addr.create(str), false);
      assert.ok(addr.error instanceof NalAddressError);
      assert.equal(addr.error.code, "ERR_ADDRESS");
      assert.match(addr.error.message, message);
      assert.equal(addr.canConnect(), false);
      assert.equal(addr.canListen(), false);
      assert.throws(
        () => NalAddress.parse(str),
        (err: unknown) =>
          err instanceof NalAddressError && err instanceof DistcacheError &&
          err.code === "ERR_ADDRESS" && message.test(err.message),
      );
    });
  }

  it("the message quotes the string given and says what is valid", () => {
    assert.throws(() => NalAddress.parse("IP:70000"), {
      message: 'invalid address "IP:70000": port must be 0..65535',
    });
  });

  it("a successful create clears the error of a failed one", () => {
    const addr = new NalAddress();
    assert.equal(addr.create("IP:70000"), false);
    assert.equal(addr.create("IP:7000"), true);
    assert.equal(addr.error, null);
    assert.equal(addr.canListen(), true);
  });

  for (const size of [-1, 1.5, NAL_MAX_BUFFER_SIZE + 1, Number.NaN]) {
    it(`a default buffer size of ${size} is refused`, () => {
      const addr = new NalAddress();
      assert.equal(addr.create("IP:9001", size), false);
      assert.equal(addr.error?.code, "ERR_ADDRESS");
      assert.match(addr.error!.message, /invalid buffer size/);
      assert.throws(() => NalAddress.parse("IP:9001", size), NalAddressError);
    });
  }
});

describe("NalAddress default buffer size", () => {
  let dir = "";
  before(() => {
    dir = makeTempDir("nal-address-");
  });
  after(() => removeDir(dir));

  it("is NAL_DEFAULT_BUFFER_SIZE when omitted or 0", () => {
    assert.equal(NalAddress.parse("IP:9001").bufferSize(), 32768);
    assert.equal(NAL_DEFAULT_BUFFER_SIZE, 32768);
    assert.equal(NalAddress.parse("IP:9001", 0).bufferSize(), 32768);
    assert.equal(
      NalAddress.parse("IP:9001", NAL_MAX_BUFFER_SIZE).bufferSize(),
      NAL_MAX_BUFFER_SIZE,
    );
  });

  it("sizes both buffers of a connection made from the address, and of the connections its listener accepts", async () => {
    const sock = path.join(dir, "sizes.sock");
    const list = new NalListener();
    const client = new NalConnection();
    const accepted = new NalConnection();
    try {
      assert.ok(
        await list.create(NalAddress.parse(`UNIX:${sock}`, 1000)),
        list.error?.message,
      );
      assert.ok(client.create(NalAddress.parse(`UNIX:${sock}`, 3000)));
      assert.equal(client.getRead().size(), 3000);
      assert.equal(client.getSend().size(), 3000);
      assert.ok(await list.acceptBlock(accepted));
      assert.equal(accepted.getRead().size(), 1000);
      assert.equal(accepted.getSend().size(), 1000);
    } finally {
      client.close();
      accepted.close();
      await list.closeAndWait();
    }
  });

  it("a connection from an address without a size gets the default", () => {
    const conn = new NalConnection();
    try {
      // Nothing listens there; the buffers are sized before the connect ends.
      assert.ok(
        conn.create(NalAddress.parse(`UNIX:${path.join(dir, "nobody")}`)),
      );
      assert.equal(conn.getRead().size(), NAL_DEFAULT_BUFFER_SIZE);
      assert.equal(conn.getSend().size(), NAL_DEFAULT_BUFFER_SIZE);
    } finally {
      conn.close();
    }
  });
});

describe("NalAddress host names", () => {
  it('"IP:localhost:<port>" reaches a listener on 127.0.0.1', async () => {
    const list = new NalListener();
    const client = new NalConnection();
    const accepted = new NalConnection();
    try {
      assert.ok(await list.create(NalAddress.parse("IP:127.0.0.1:0")));
      const port = list.address().split(":").pop();
      assert.ok(client.create(NalAddress.parse(`IP:localhost:${port}`)));
      assert.ok(await list.acceptBlock(accepted));
      await pump([client], () => client.isEstablished());
    } finally {
      client.close();
      accepted.close();
      await list.closeAndWait();
    }
  });
});
