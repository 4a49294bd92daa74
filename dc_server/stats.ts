/**
 * Operation counters of a {@linkcode DcServer}.
 *
 * @module
 */

/** What a server has done, for monitoring and the CLI's stats line. */
export interface DcServerStats {
  /** Live sessions stored (expired ones purged first). */
  items: number;
  /**
   * Bytes of session ids and data stored: what `maxBytes` bounds (the
   * default store's memory is that plus 47..73 bytes a session and up to
   * 7 bytes, or 3% past 1 KiB, of rounding).
   */
  bytes: number;
  /** Operations handled since the last `resetOperations()`. */
  operations: number;
  /** ADD requests. */
  adds: number;
  /** ADDs that stored their session. */
  stored: number;
  /** GET requests. */
  gets: number;
  /** GETs that found their session. */
  hits: number;
  /** GETs that did not. */
  misses: number;
  /** REMOVE requests. */
  removes: number;
  /** REMOVEs that removed a session. */
  removed: number;
  /** REMOVEs that found none. */
  removeMisses: number;
  /** HAVE requests. */
  haves: number;
  /** HAVEs that found their session. */
  haveHits: number;
  /** HAVEs that did not. */
  haveMisses: number;
  /** ADDs refused (error codes 100..104). */
  addErrors: number;
  /**
   * ADDs refused, by `DC_ADD_ERR_*` code: `{ 100: n, 101: n, ... }`, every
   * code present.
   */
  addErrorsByCode: Record<number, number>;
  /** Clients connected now. */
  connections: number;
  /** Clients accepted since start. */
  connectionsTotal: number;
  /** Connections refused at accept, over the connection limit (`-maxconns`). */
  connectionsRefused: number;
  /**
   * Connections refused at accept because the peer is outside the allow
   * list (`-allow`); counted by the listener, so 0 for a `DcServer` fed
   * connections by hand.
   */
  connectionsDenied: number;
  /** Clients dropped for sending nothing for too long (`-idle-timeout`). */
  idleClosed: number;
  /**
   * Clients dropped for breaking the protocol: a corrupt stream, a wrong
   * protocol version, an unknown command, an ADD too short for its header.
   */
  protocolErrors: number;
  /**
   * Requests answered `DC_ERR_DISCONNECTED` because the store failed them
   * (an asynchronous store such as Redis: unreachable, or too slow).
   */
  storeErrors: number;
  /** Sessions evicted early to make room. */
  evictions: number;
  /** Sessions dropped because their time was up. */
  expirations: number;
}

/** Mutable counters kept by the server (internal shape of the stats). */
export class OperationCounters {
  operations = 0;
  adds = 0;
  stored = 0;
  gets = 0;
  hits = 0;
  misses = 0;
  removes = 0;
  removed = 0;
  removeMisses = 0;
  haves = 0;
  haveHits = 0;
  haveMisses = 0;
  addErrors = 0;
  // By code less DC_ADD_ERR_CORRUPT (100): 100..104.
  readonly addErrorCodes: number[] = [0, 0, 0, 0, 0];
  connectionsTotal = 0;
  connectionsRefused = 0;
  idleClosed = 0;
  protocolErrors = 0;
  storeErrors = 0;

  reset(): void {
    this.operations = 0;
  }
}
