/**
 * libnal, the network abstraction layer of distcache: addresses in one
 * string namespace (`UNIX:`, `IP:`, `IPv4:`, `IPv6:`), byte buffers,
 * non-blocking connections and listeners, a selector, and an event-driven
 * loop ({@linkcode NalLoop}) for owners of many connections, over the
 * sockets of Deno, Bun or Node (chosen at run time, overridable).
 *
 * @example Echo one message over a connection pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { NalConnection, NalSelector } from "@distcache/distcache/nal";
 *
 * const a = new NalConnection();
 * const b = new NalConnection();
 * NalConnection.createPair(a, b, 4096);
 * a.getSend().write(new TextEncoder().encode("ping"));
 * const sel = new NalSelector();
 * while (b.getRead().empty()) {
 *   a.io(sel);
 *   b.io(sel);
 *   sel.addConn(a);
 *   sel.addConn(b);
 *   await sel.select(100_000);
 * }
 * assert.equal(new TextDecoder().decode(b.getRead().readPtr()), "ping");
 * ```
 *
 * @module
 */

export {
  NAL_DEFAULT_BUFFER_SIZE,
  NAL_MAX_BUFFER_SIZE,
  NalAddress,
} from "./address.ts";
export { NalAllowList } from "./allow.ts";
export { NalBuffer } from "./buffer.ts";
export { NalConnection, type NalConnectionOptions } from "./connection.ts";
export {
  decodeBin,
  decodeChar,
  decodeUint16,
  decodeUint32,
  encodeBin,
  encodeChar,
  encodeUint16,
  encodeUint32,
  NalCursor,
} from "./encode.ts";
export {
  DistcacheError,
  NalAddressError,
  NalFileError,
  NalOptionError,
  NalSocketError,
} from "./errors.ts";
export { nalHttpGet, type NalHttpOptions, NalHttpServer } from "./http.ts";
export {
  NalListener,
  type NalListenerOptions,
  type NalSocketOwner,
} from "./listener.ts";
export {
  availableAdapters,
  bunAdapter,
  defaultAdapter,
  denoAdapter,
  detectRuntime,
  type ListenHooks,
  nodeAdapter,
  type RuntimeAdapter,
  type RuntimeListener,
  type RuntimeName,
  type RuntimeSocket,
  setDefaultAdapter,
  type SocketSink,
  type SocketTarget,
  type TlsConnectOptions,
  type TlsListenOptions,
} from "./runtime/mod.ts";
export {
  type NalFileReader,
  openFileNoFollow,
  removeStaleTemps,
  renameFile,
  writeFileAtomic,
  type WriteFileAtomicOptions,
} from "./runtime/files.ts";
export {
  availableHttpAdapters,
  bunHttpAdapter,
  defaultHttpAdapter,
  denoHttpAdapter,
  type HttpAdapter,
  type HttpAnswer,
  type HttpHandler,
  type HttpReply,
  type HttpRequestHead,
  nodeHttpAdapter,
  type RuntimeHttpServer,
} from "./runtime/http.ts";
export { currentPid } from "./runtime/process.ts";
export { DISTCACHE_VERSION } from "./version.ts";
export {
  NAL_SELECT_FLAG_READ,
  NAL_SELECT_FLAG_RW,
  NAL_SELECT_FLAG_SEND,
  NalSelector,
} from "./selector.ts";
export { NalIdleTracker } from "./idle.ts";
export { loopService, type NalService } from "./service.ts";
export {
  defaultMaxConnections,
  type NalAcceptOptions,
  NalLoop,
  NalLoopEntry,
  type NalLoopHook,
  type NalLoopStats,
  type NalLoopTimer,
  type NalWatchable,
} from "./loop.ts";
export { NalThrottle } from "./throttle.ts";
export {
  type NalPem,
  type NalTlsConnectOptions,
  type NalTlsListenOptions,
} from "./tls_options.ts";
