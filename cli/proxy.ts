/**
 * The local proxy engine of `distcache client` (the C `dc_client`): local
 * clients' requests are multiplexed over one persistent connection to the
 * cache server, with request_uids rewritten so that each answer finds its
 * way back.
 *
 * @module
 */

import {
  DC_PLUG_FLAG_TO_SERVER,
  type DcCmd,
  DcErr,
  DcPlug,
} from "@distcache/distcache/dc_enc";
import {
  NalAddress,
  NalAddressError,
  NalConnection,
  NalListener,
  NalSelector,
  type RuntimeAdapter,
} from "@distcache/distcache/nal";
import { setImmediate } from "node:timers";

/** Options for {@linkcode startProxy}. */
export interface ProxyOptions {
  /** Local address to listen on. @default {"UNIX:/tmp/scache"} */
  listen?: string;
  /** The cache server's address. */
  server: string;
  /** Milliseconds between reconnect attempts while the server is down. @default {5000} */
  retryMs?: number;
  /** Drop local clients idle this many milliseconds (0: never). @default {0} */
  idleMs?: number;
  /** Socket adapter. */
  adapter?: RuntimeAdapter;
  /** Where to report events (server lost / back, dropped clients). */
  log?: (message: string) => void;
}

/** A running proxy. */
export interface ProxyHandle {
  /** The local address listened on. */
  readonly addr: string;
  /** Whether the server link is up now. */
  serverUp(): boolean;
  /** Resolves when the proxy stopped. */
  readonly finished: Promise<void>;
  /** Stops: closes local clients, the server link and the listener. */
  close(): Promise<void>;
}

/** Default local address of the proxy, as the C `dc_client`. */
export const DEFAULT_PROXY_ADDRESS = "UNIX:/tmp/scache";

// Answers and requests one local client may have outstanding before the
// proxy stops reading from it (bounds memory per client).
const MAX_OUTSTANDING = 256;
const DISCONNECTED = new Uint8Array([DcErr.DISCONNECTED]);

interface Answer {
  uid: number;
  cmd: DcCmd;
  payload: Uint8Array;
}

class Local {
  readonly conn: NalConnection;
  readonly plug: DcPlug;
  answers: Answer[] = [];
  atServer = 0;
  /** Requests wait unread: too many outstanding, or the server link is busy. */
  blocked = false;
  lastActive: number;
  dead = false;

  constructor(conn: NalConnection, now: number) {
    this.conn = conn;
    this.plug = new DcPlug(conn, 0);
    this.lastActive = now;
  }

  close(): void {
    this.dead = true;
    this.plug.close();
  }
}

class Upstream {
  readonly addr: NalAddress;
  readonly adapter: RuntimeAdapter | undefined;
  conn: NalConnection | null = null;
  plug: DcPlug | null = null;
  wasUp = true;
  retryAt = 0;
  nextUid = 1;
  inflight = new Map<number, { local: Local; uid: number; cmd: DcCmd }>();

  constructor(addr: NalAddress, adapter: RuntimeAdapter | undefined) {
    this.addr = addr;
    this.adapter = adapter;
  }

  /** A link that takes requests (connected, or connecting). */
  usable(): boolean {
    return this.plug !== null;
  }

  connect(): void {
    const conn = new NalConnection({ adapter: this.adapter });
    if (!conn.create(this.addr)) return;
    this.conn = conn;
    this.plug = new DcPlug(conn, DC_PLUG_FLAG_TO_SERVER);
  }

  /** Drops the link; every request at the server is answered 2. */
  drop(now: number, retryMs: number): void {
    this.plug?.close();
    this.plug = null;
    this.conn = null;
    this.retryAt = now + retryMs;
    for (const { local, uid, cmd } of this.inflight.values()) {
      local.atServer--;
      if (!local.dead) local.answers.push({ uid, cmd, payload: DISCONNECTED });
    }
    this.inflight.clear();
  }
}

/**
 * Starts the proxy; resolves once it listens. The server link is made at
 * once and remade every `retryMs` while down; meanwhile every request is
 * answered DC_ERR_DISCONNECTED (2), as are requests in flight when the link
 * drops.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DcCtx } from "@distcache/distcache/dc_client";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { startProxy } from "./proxy.ts";
 *
 * // On a web host: { listen: "UNIX:/tmp/scache", server: "IP:cachehost:9001" }.
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const proxy = await startProxy({ listen: "IP:127.0.0.1:0", server: server.addr });
 * const ctx = await DcCtx.create(proxy.addr);
 * assert.equal(await ctx.addSession("through", "the proxy", 60_000), true);
 * assert.equal(await ctx.hasSession("through"), true);
 * ctx.close();
 * await proxy.close();
 * await server.close();
 * ```
 *
 * @throws {NalAddressError} for a bad address.
 * @throws {NalSocketError} when it cannot listen.
 */
export async function startProxy(options: ProxyOptions): Promise<ProxyHandle> {
  const listenAddr = NalAddress.parse(options.listen ?? DEFAULT_PROXY_ADDRESS);
  const upstream = new Upstream(
    NalAddress.parse(options.server),
    options.adapter,
  );
  if (!upstream.addr.canConnect()) {
    throw new NalAddressError(
      `cannot connect to server "${options.server}": a listen-only address`,
    );
  }
  const retryMs = options.retryMs ?? 5000;
  const idleMs = options.idleMs ?? 0;
  const log = options.log ?? (() => {});
  const list = new NalListener({ adapter: options.adapter });
  if (!(await list.create(listenAddr))) throw list.error!;
  const sel = new NalSelector();
  const locals = new Set<Local>();
  let closing = false;
  upstream.connect();

  const serveLocal = (local: Local, now: number): boolean => {
    const plug = local.plug;
    if (!plug.io()) return false;
    local.blocked = false;
    for (;;) {
      flushAnswers(local);
      if (local.answers.length + local.atServer >= MAX_OUTSTANDING) {
        local.blocked = true;
        break;
      }
      const req = plug.read(true);
      if (req === null) break;
      local.lastActive = now;
      const up = upstream.plug;
      if (up === null) {
        local.answers.push({
          uid: req.requestUid,
          cmd: req.cmd,
          payload: DISCONNECTED,
        });
      } else {
        const uid = upstream.nextUid;
        if (!up.write(false, uid, req.cmd, req.payload)) {
          local.blocked = true;
          break;
        }
        up.commit();
        upstream.nextUid = (uid + 1) >>> 0 || 1;
        upstream.inflight.set(uid, {
          local,
          uid: req.requestUid,
          cmd: req.cmd,
        });
        local.atServer++;
      }
      plug.consume();
    }
    flushAnswers(local);
    return plug.io();
  };

  const serveUpstream = (now: number): void => {
    const plug = upstream.plug;
    if (plug === null) return;
    if (!plug.io()) {
      log(
        `lost the server ${upstream.addr}: ${
          (plug.error ?? upstream.conn?.error)?.message ?? "closed"
        }`,
      );
      upstream.wasUp = false;
      upstream.drop(now, retryMs);
      return;
    }
    if (!upstream.wasUp && upstream.conn?.isEstablished()) {
      upstream.wasUp = true;
      log(`connected to the server ${upstream.addr}`);
    }
    for (;;) {
      const ans = plug.read(true);
      if (ans === null) break;
      const entry = upstream.inflight.get(ans.requestUid);
      if (entry !== undefined) {
        upstream.inflight.delete(ans.requestUid);
        entry.local.atServer--;
        // A client gone meanwhile: its answer is dropped (the C proxy aborted).
        if (!entry.local.dead) {
          entry.local.answers.push({
            uid: entry.uid,
            cmd: ans.cmd,
            payload: ans.payload.slice(),
          });
        }
      }
      plug.consume();
    }
  };

  const run = async (): Promise<void> => {
    let conn = new NalConnection();
    try {
      while (!closing) {
        sel.addListener(list);
        // A whole command pulled in by the last io() is news no socket
        // will announce again: then the select must not wait.
        for (const local of locals) {
          local.plug.toSelect(sel);
          if (!local.blocked && local.plug.read(true) !== null) sel.interrupt();
        }
        if (upstream.plug !== null) {
          upstream.plug.toSelect(sel);
          if (upstream.plug.read(true) !== null) sel.interrupt();
        }
        const now = Date.now();
        let wait = Infinity;
        if (!upstream.usable()) wait = Math.max(0, upstream.retryAt - now);
        if (idleMs > 0) wait = Math.min(wait, idleMs);
        await sel.select(wait === Infinity ? undefined : wait * 1000);
        // The select resumes at the first socket event; letting the event
        // loop deliver the others first makes one turn of them all, so the
        // requests of several local clients leave in one write to the
        // server instead of a write (a syscall) each. With one client
        // there is nothing to gather, only latency to add.
        if (locals.size > 1) await new Promise((r) => setImmediate(r));
        if (closing) break;
        const t = Date.now();
        if (!upstream.usable() && t >= upstream.retryAt) {
          upstream.connect();
          if (!upstream.usable()) upstream.retryAt = t + retryMs;
        }
        while (list.accept(sel, conn)) {
          locals.add(new Local(conn, t));
          conn = new NalConnection();
        }
        serveUpstream(t);
        for (const local of locals) {
          const idle = idleMs > 0 && local.atServer === 0 &&
            t - local.lastActive >= idleMs;
          if (idle || !serveLocal(local, t)) {
            local.close();
            locals.delete(local);
          }
        }
        if (upstream.plug !== null && !upstream.plug.io()) serveUpstream(t);
      }
    } finally {
      for (const local of locals) local.close();
      locals.clear();
      upstream.plug?.close();
      await list.closeAndWait();
    }
  };
  const finished = run();
  return {
    addr: list.address(),
    serverUp: () =>
      upstream.plug !== null && (upstream.conn?.isEstablished() ?? false),
    finished,
    close: async () => {
      closing = true;
      sel.interrupt();
      await finished;
    },
  };
}

function flushAnswers(local: Local): void {
  const plug = local.plug;
  while (local.answers.length > 0) {
    const a = local.answers[0];
    if (!plug.write(false, a.uid, a.cmd, a.payload)) return;
    plug.commit();
    local.answers.shift();
  }
}
