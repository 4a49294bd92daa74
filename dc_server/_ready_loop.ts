// The loop behind serve(): event-driven rather than select-driven. A select
// loop visits every client on every wake-up, so with hundreds of mostly idle
// connections each operation pays for all of them; here each socket's news
// marks only its own client ready, and a turn serves only those.

import { NalConnection, transportOf } from "../nal/connection.ts";
import { listenerCoreOf, type NalListener } from "../nal/listener.ts";
import {
  DC_CLIENT_FLAG_IN_SERVER,
  type DcServer,
  type DcServerClient,
} from "./server.ts";

/** Serves the clients of one listener until {@linkcode ReadyLoop.stop}. */
export class ReadyLoop {
  readonly #server: DcServer;
  readonly #list: NalListener;
  readonly #clock: () => number;
  #ready = new Set<DcServerClient>();
  #spare = new Set<DcServerClient>();
  #accepting = true;
  #stopping = false;
  #resume: (() => void) | null = null;

  constructor(server: DcServer, list: NalListener, clock: () => number) {
    this.#server = server;
    this.#list = list;
    this.#clock = clock;
    const core = listenerCoreOf(list);
    if (core !== undefined) {
      core.waker = {
        wake: () => {
          this.#accepting = true;
          this.#kick();
        },
      };
    }
  }

  /** Serves this client on the next turn (its socket or cache has news). */
  markReady(client: DcServerClient): void {
    this.#ready.add(client);
    this.#kick();
  }

  /** Ends {@linkcode ReadyLoop.run} after the current turn. */
  stop(): void {
    this.#stopping = true;
    this.#kick();
  }

  /** Runs turns until stopped. */
  async run(): Promise<void> {
    let conn = new NalConnection();
    while (!this.#stopping) {
      if (this.#ready.size === 0 && !this.#accepting) {
        await new Promise<void>((resolve) => this.#resume = resolve);
        continue;
      }
      if (this.#accepting) {
        this.#accepting = false;
        while (this.#list.accept(null, conn)) {
          this.#watch(this.#server.newClient(conn, DC_CLIENT_FLAG_IN_SERVER));
          conn = new NalConnection();
        }
      }
      // Swap sets, so that clients marked during this turn wait for the
      // next one instead of starving the others.
      const batch = this.#ready;
      this.#ready = this.#spare;
      this.#spare = batch;
      const now = this.#clock();
      for (const client of batch) {
        if (client.dead) continue;
        const t = transportOf(client.conn);
        const rb = client.conn.getRead();
        const sb = client.conn.getSend();
        const pending = t?.pending ?? 0;
        const read = rb.used();
        const sent = sb.used();
        if (!this.#server.clientIo(client, now)) continue;
        // Come back without an event only after a turn that moved
        // something: a turn that moved nothing would spin until the
        // socket or the cache has news, which they announce anyway.
        if (
          (pending !== (t?.pending ?? 0) || read !== rb.used() ||
            sent !== sb.used()) && canProgress(client)
        ) {
          this.#ready.add(client);
        }
      }
      batch.clear();
    }
  }

  #watch(client: DcServerClient): void {
    const t = transportOf(client.conn);
    if (t === undefined) return;
    t.waker = { wake: () => this.markReady(client) };
    // Bytes may have arrived between the connect and the accept.
    this.#ready.add(client);
  }

  #kick(): void {
    const resume = this.#resume;
    if (resume === null) return;
    this.#resume = null;
    resume();
  }
}

// Work that no socket event will announce again: a request the last io()
// pulled in whole, bytes that arrived but did not fit the read buffer, or
// answers left in the send buffer of a writable socket.
function canProgress(client: DcServerClient): boolean {
  if (
    !client.busy && !client.blocked && client.plug.read(true) !== null
  ) return true;
  const t = transportOf(client.conn);
  if (t === undefined) return false;
  if (t.pending > 0 && client.conn.getRead().notFull()) return true;
  return t.open && t.writable && client.conn.getSend().notEmpty();
}
