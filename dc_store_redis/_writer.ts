// Commands to one Redis server, a batch's written to its socket at once.
// The client library writes each command with a write of its own, and a
// corked socket does not gather them everywhere: Bun's sockets have no
// writev, so each still went out as a system call, which cost the server
// a fifth of its time at 64 connections. Here a batch's commands are
// collected while it is held and leave as one buffer when it is released.

import { Buffer } from "node:buffer";
import type { Writable } from "node:stream";
import type { Command, Redis } from "ioredis";

/** An argument of a command. */
export type Arg = Buffer | string | number;

/** Sends commands to one server, those of a held batch in one write. */
export class CommandWriter {
  readonly #client: Redis;
  readonly #Command: typeof Command;
  #held: Buffer[] | null = null;
  // What the library writes a command to while a batch is held.
  readonly #collector = {
    write: (data: string | Buffer): boolean => {
      this.#held!.push(typeof data === "string" ? Buffer.from(data) : data);
      return true;
    },
  };

  /**
   * @param client The client of the server.
   * @param commandClass The library's `Command`.
   */
  constructor(client: Redis, commandClass: typeof Command) {
    this.#client = client;
    this.#Command = commandClass;
  }

  /**
   * Sends `name args...`; the reply's bulk strings as Buffers when
   * `buffers`, else as strings.
   */
  send<T>(name: string, args: Arg[], buffers: boolean): Promise<T> {
    const command = new this.#Command(name, args, {
      replyEncoding: buffers ? null : "utf8",
    });
    // Marked as traced, the command skips the library's diagnostics
    // channel wrapper: under Bun it ran for every command (a promise and a
    // string of every argument each) whether anyone listened or not.
    command.isTraced = true;
    const held = this.#held === null ? undefined : this.#collector;
    this.#client.sendCommand(command, held as unknown as Writable as never);
    return command.promise as Promise<T>;
  }

  /** Holds what is sent from now on, until `release()`. */
  hold(): void {
    this.#held ??= [];
  }

  /** Writes what was held, in one write. */
  release(): void {
    const held = this.#held;
    this.#held = null;
    if (held === null || held.length === 0) return;
    // The socket is the one each command was checked against: the batch
    // is sent without returning to the event loop.
    const stream = (this.#client as unknown as { stream: Writable }).stream;
    stream.write(held.length === 1 ? held[0] : Buffer.concat(held));
  }
}
