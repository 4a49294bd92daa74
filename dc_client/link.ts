// One connection to a cache server or proxy, carrying many requests at once:
// requests are pipelined through a DcPlug and answers matched by
// request_uid, in order. Internal to dc_client.

import { DC_PLUG_FLAG_TO_SERVER, type DcCmd, DcPlug } from "../dc_enc/mod.ts";
import type { NalAddress } from "../nal/address.ts";
import { NalConnection } from "../nal/connection.ts";
import type { RuntimeAdapter } from "../nal/runtime/types.ts";
import { NalSelector } from "../nal/selector.ts";
import type { NalTlsConnectOptions } from "../nal/tls_options.ts";

/** How a request ended: the answer, or why there is none. */
export type Outcome =
  | { ok: true; reply: Uint8Array }
  | { ok: false; reason: "disconnected" | "timeout" | "protocol" };

interface Pending {
  uid: number;
  cmd: DcCmd;
  payload: Uint8Array;
  deadline: number;
  settle: (outcome: Outcome) => void;
}

export class Link {
  readonly #conn: NalConnection;
  readonly #plug: DcPlug;
  // Most requests sent and not yet answered; the rest wait in #queued.
  readonly #maxInFlight: number;
  readonly #sel = new NalSelector();
  #queued: Pending[] = [];
  #sent: Pending[] = [];
  #running = false;
  #dead = false;
  #nextUid: number;

  private constructor(conn: NalConnection, maxInFlight: number) {
    this.#conn = conn;
    this.#maxInFlight = maxInFlight;
    this.#plug = new DcPlug(conn, DC_PLUG_FLAG_TO_SERVER);
    // Start uids anywhere: a proxy rewrites them, a server echoes them.
    this.#nextUid = (Math.random() * 0x7fffffff) >>> 0;
  }

  /**
   * Starts connecting; null when the address cannot connect. At most
   * `maxInFlight` requests go unanswered on the connection at once.
   */
  static open(
    addr: NalAddress,
    adapter: RuntimeAdapter | undefined,
    maxInFlight: number,
    tls?: NalTlsConnectOptions,
  ): Link | null {
    const conn = new NalConnection({ adapter, tls });
    return conn.create(addr) ? new Link(conn, maxInFlight) : null;
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Why the connection failed, if it did. */
  get error(): Error | null {
    return this.#plug.error ?? this.#conn.error;
  }

  /** Waits until connected (true) or failed / past the deadline (false). */
  async established(deadline: number): Promise<boolean> {
    while (!this.#dead && !this.#conn.isEstablished()) {
      const left = deadline - Date.now();
      if (left <= 0 || !this.#conn.io(this.#sel)) break;
      this.#sel.addConn(this.#conn);
      await this.#sel.select(left * 1000);
    }
    return this.#conn.isEstablished() && !this.#dead;
  }

  /** Sends a request; resolves with its answer or the reason for none. */
  request(cmd: DcCmd, payload: Uint8Array, deadline: number): Promise<Outcome> {
    if (this.#dead) {
      return Promise.resolve({ ok: false, reason: "disconnected" });
    }
    return new Promise((settle) => {
      const uid = this.#nextUid;
      this.#nextUid = (uid + 1) >>> 0;
      this.#queued.push({ uid, cmd, payload, deadline, settle });
      if (!this.#running) this.#run();
      // The loop may be waiting for an earlier answer: a request that may
      // go now must not wait for it.
      else if (this.#sent.length < this.#maxInFlight) this.#sel.interrupt();
    });
  }

  close(): void {
    this.#fail("disconnected");
  }

  async #run(): Promise<void> {
    this.#running = true;
    const plug = this.#plug;
    while (!this.#dead && (this.#queued.length > 0 || this.#sent.length > 0)) {
      this.#feed();
      if (!plug.io()) {
        this.#fail(plug.error ? "protocol" : "disconnected");
        break;
      }
      if (!this.#collect()) break;
      this.#feed();
      if (!plug.io()) {
        this.#fail(plug.error ? "protocol" : "disconnected");
        break;
      }
      if (this.#queued.length === 0 && this.#sent.length === 0) break;
      // The last io() may have pulled in answers no socket will announce.
      if (plug.peek() !== null) continue;
      const left = this.#earliestDeadline() - Date.now();
      if (left <= 0) {
        this.#fail("timeout");
        break;
      }
      plug.toSelect(this.#sel);
      await this.#sel.select(left * 1000);
    }
    this.#running = false;
  }

  // Moves queued requests into the plug as long as it takes them and the
  // bound on requests in flight allows.
  #feed(): void {
    const plug = this.#plug;
    while (
      this.#queued.length > 0 && this.#sent.length < this.#maxInFlight
    ) {
      const next = this.#queued[0];
      if (!plug.write(next.uid, next.cmd, next.payload)) break;
      plug.commit();
      this.#sent.push(this.#queued.shift()!);
    }
  }

  // Hands out the answers that arrived; false if the link broke.
  #collect(): boolean {
    const plug = this.#plug;
    for (;;) {
      const answer = plug.peek();
      if (answer === null) return true;
      const req = this.#sent.shift();
      if (req === undefined || req.uid !== answer.requestUid) {
        // An answer nobody asked for: the stream cannot be trusted.
        if (req !== undefined) this.#sent.unshift(req);
        this.#fail("protocol");
        return false;
      }
      const reply = answer.payload.slice();
      plug.consume();
      req.settle({ ok: true, reply });
    }
  }

  #earliestDeadline(): number {
    let min = Infinity;
    for (const p of this.#sent) if (p.deadline < min) min = p.deadline;
    for (const p of this.#queued) if (p.deadline < min) min = p.deadline;
    return min;
  }

  #fail(reason: "disconnected" | "timeout" | "protocol"): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#plug.close();
    this.#conn.close();
    this.#sel.interrupt();
    const all = [...this.#sent, ...this.#queued];
    this.#sent = [];
    this.#queued = [];
    for (const p of all) p.settle({ ok: false, reason });
  }
}
