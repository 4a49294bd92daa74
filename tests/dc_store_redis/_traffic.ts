// Clients that keep one request each in flight against a server whose
// store may fail, checking that every request is answered (2 when the store
// failed it) within the command timeout and that no client is dropped.

import assert from "node:assert/strict";
import type { RedisProcess } from "../_redis.ts";
import { until } from "../_servers.ts";
import { addPayload, bytes, command, OP, RawClient } from "../_wire.ts";

/** Time an answer may take beyond the command timeout on a loaded machine. */
export const SLACK_MS = 1500;

/**
 * `clients` connections, each sending an ADD of a new id then a GET of it,
 * one request in flight, until stopped. Any answer later than the command
 * timeout allows, or a dropped connection, fails the test through `error`.
 */
export class Traffic {
  /** Answers that were not failures (stored, data, or a miss). */
  ok = 0;
  /** Failure answers (2). */
  failed = 0;
  /** Slowest answer, ms. */
  slowest = 0;
  /** When the last failure came (Date.now()). */
  lastFailureAt = 0;
  error: Error | null = null;
  readonly #timeoutMs: number;
  #stop = false;
  #done: Promise<void>[] = [];

  /**
   * @param server Where to send: a server, or a proxy, by its address.
   */
  constructor(
    server: { readonly addr: string },
    clients: number,
    commandTimeoutMs: number,
  ) {
    this.#timeoutMs = commandTimeoutMs;
    for (let k = 0; k < clients; k++) this.#done.push(this.#run(server, k));
  }

  async #run(server: { readonly addr: string }, k: number): Promise<void> {
    const c = await RawClient.connect(server.addr);
    try {
      for (let i = 0; !this.#stop; i++) {
        const id = `t${k}-${i >> 1}`;
        const req = i % 2 === 0
          ? command(i, OP.ADD, addPayload(id, `data-${i}`, 60_000))
          : command(i, OP.GET, bytes(id));
        const t0 = Date.now();
        c.send(req);
        const a = await c.answer(this.#timeoutMs + SLACK_MS);
        this.slowest = Math.max(this.slowest, Date.now() - t0);
        assert.equal(a.uid, i);
        const code = a.payload.length === 1 ? a.payload[0] : -1;
        if (code === 2) {
          this.failed++;
          this.lastFailureAt = Date.now();
        } else {
          // Stored, or the data: a GET of an id whose ADD failed is a miss.
          assert.ok(code === 0 || code === -1 || code === 1, `answer ${code}`);
          this.ok++;
        }
      }
      assert.equal(c.closed, false, "the client is still connected");
    } catch (err) {
      this.error ??= err as Error;
    } finally {
      c.close();
    }
  }

  /** Resolves once `n` more operations succeeded. */
  async succeeds(n: number, what: string, timeoutMs = 10_000): Promise<void> {
    const target = this.ok + n;
    await until(
      () => this.ok >= target || this.error !== null,
      timeoutMs,
      what,
    );
    if (this.error) throw this.error;
  }

  /** Resolves once `n` more operations failed. */
  async fails(n: number, what: string, timeoutMs = 10_000): Promise<void> {
    const target = this.failed + n;
    await until(
      () => this.failed >= target || this.error !== null,
      timeoutMs,
      what,
    );
    if (this.error) throw this.error;
  }

  /** Stops the clients; throws what went wrong, if anything did. */
  async stop(): Promise<void> {
    this.#stop = true;
    await Promise.all(this.#done);
    if (this.error) throw this.error;
  }
}

/**
 * Redis hung (SIGSTOP) under 8 clients of `addr`: each pending request is
 * answered 2 within the command timeout, none dropped, and once Redis
 * wakes (SIGCONT) service resumes.
 */
export async function survivesHang(
  redis: RedisProcess,
  addr: string,
  commandTimeoutMs: number,
): Promise<void> {
  const traffic = new Traffic({ addr }, 8, commandTimeoutMs);
  try {
    await traffic.succeeds(200, "traffic before the hang");
    redis.signal("SIGSTOP");
    await traffic.fails(16, "timeouts while Redis is hung");
    redis.signal("SIGCONT");
    await traffic.succeeds(200, "traffic after Redis woke up");
    await traffic.stop();
    assert.ok(
      traffic.slowest <= commandTimeoutMs + SLACK_MS,
      `slowest answer ${traffic.slowest} ms`,
    );
  } finally {
    redis.signal("SIGCONT");
    await traffic.stop().catch(() => {});
  }
}
