// A cache client that records the writes it is asked for, in front of a
// real one.

import type { SessionCtx } from "../../session/mod.ts";

/** Records every addSession (id and timeout) and passes it on. */
export class Recording implements SessionCtx {
  adds: { id: Uint8Array; timeoutMs: number }[] = [];
  constructor(readonly inner: SessionCtx) {}
  addSession(id: Uint8Array | string, data: Uint8Array | string, t: number) {
    this.adds.push({ id: id as Uint8Array, timeoutMs: t });
    return this.inner.addSession(id, data, t);
  }
  get(id: Uint8Array | string) {
    return this.inner.get(id);
  }
  removeSession(id: Uint8Array | string) {
    return this.inner.removeSession(id);
  }
}
