// The requests of one client that an asynchronous store is still
// answering, oldest first. Answers leave strictly in request order: one
// that comes early waits here for those before it.

import type { DcCmd } from "../dc_enc/mod.ts";

/** Requests of one client an asynchronous store may work on at once. */
export const MAX_IN_FLIGHT = 16;

/** One request's place in line, and its answer once known. */
export class InFlight<A> {
  readonly uid: number;
  readonly cmd: DcCmd;
  answer: A | null = null;

  constructor(uid: number, cmd: DcCmd) {
    this.uid = uid;
    this.cmd = cmd;
  }
}

/** A client's line of requests in flight. */
export class InFlightLine<A> {
  readonly entries: InFlight<A>[] = [];
  // A request behind those in flight is one after which the client must be
  // dropped: nothing after it is read.
  closing = false;

  /** Takes a place in line. */
  push(uid: number, cmd: DcCmd, answer: A | null): InFlight<A> {
    const entry = new InFlight<A>(uid, cmd);
    entry.answer = answer;
    this.entries.push(entry);
    return entry;
  }
}
