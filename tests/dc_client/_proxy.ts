// A server and a proxy in front of it, in this process, for the proxy
// engine's tests: both on the transport given (UNIX sockets in a fresh
// temporary directory, or loopback ports), both stopped by close().

import {
  type DcProxyHandle,
  startProxy,
  type StartProxyOptions,
} from "../../dc_client/mod.ts";
import { serve, type ServeOptions, type Server } from "../../dc_server/mod.ts";
import type { RuntimeAdapter } from "../../nal/mod.ts";
import {
  listenAddress,
  makeTempDir,
  removeDir,
  type Transport,
  until,
} from "../_servers.ts";
import { RawClient } from "../_wire.ts";

/** A server, a proxy linked to it, and the raw clients of a test. */
export class ProxyRig {
  readonly dir: string;
  readonly server: Server;
  readonly proxy: DcProxyHandle;
  readonly #clients: RawClient[] = [];

  private constructor(dir: string, server: Server, proxy: DcProxyHandle) {
    this.dir = dir;
    this.server = server;
    this.proxy = proxy;
  }

  /** Starts both and waits for the link to be up. */
  static async start(
    transport: Transport,
    adapter: RuntimeAdapter,
    options: { server?: ServeOptions; proxy?: Partial<StartProxyOptions> } = {},
  ): Promise<ProxyRig> {
    const dir = makeTempDir("distcache-proxy-");
    const server = await serve({
      ...options.server,
      listen: listenAddress(transport, dir, "server.sock"),
      adapter,
    });
    const proxy = await startProxy({
      ...options.proxy,
      listen: listenAddress(transport, dir, "proxy.sock"),
      server: server.addr,
      adapter,
    });
    await until(() => proxy.serverUp(), 5000, "the link");
    return new ProxyRig(dir, server, proxy);
  }

  /** A raw client of the proxy (or of `addr`), closed with the rig. */
  async connect(addr: string = this.proxy.addr): Promise<RawClient> {
    const c = await RawClient.connect(addr);
    this.#clients.push(c);
    return c;
  }

  /** Closes the clients, the proxy and the server, and removes the directory. */
  async close(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.close();
    await this.proxy.close();
    await this.server.close();
    removeDir(this.dir);
  }
}
