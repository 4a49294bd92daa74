// Bun listens with a backlog of 512 whatever it is asked (its `backlog`
// option does not reach listen(2)), so 1,000 local clients connecting
// while the loop is busy would see some refused. listen(2) again on a
// listening socket only changes its backlog: done through libc with
// bun:ffi. Where that is not possible (no libc found, FFI unavailable),
// Bun's 512 stays: the listener works all the same.

import { LISTEN_BACKLOG } from "./types.ts";

type Listen = (fd: number, backlog: number) => number;

interface BunFfi {
  dlopen(
    path: string,
    symbols: { listen: { args: ["i32", "i32"]; returns: "i32" } },
  ): { symbols: { listen: Listen } };
}

// The libc of glibc systems, of musl (Alpine), of macOS.
const LIBCS = [
  "libc.so.6",
  "libc.musl-x86_64.so.1",
  "libc.musl-aarch64.so.1",
  "libSystem.B.dylib",
];

let listen: Listen | null | undefined;

function libcListen(): Listen | null {
  if (listen !== undefined) return listen;
  listen = null;
  try {
    const req = (import.meta as unknown as { require(id: string): unknown })
      .require;
    const ffi = req("bun:ffi") as BunFfi;
    for (const lib of LIBCS) {
      try {
        listen = ffi.dlopen(lib, {
          listen: { args: ["i32", "i32"], returns: "i32" },
        }).symbols.listen;
        break;
      } catch {
        // Not this system's libc: try the next.
      }
    }
  } catch {
    // No FFI here: Bun's own backlog stays.
  }
  return listen;
}

/**
 * Raises the backlog of Bun's listening socket `fd` to
 * {@linkcode LISTEN_BACKLOG}; `false` when it could not.
 */
export function raiseBacklog(fd: number | undefined): boolean {
  if (typeof fd !== "number" || fd < 0) return false;
  const f = libcListen();
  return f !== null && f(fd, LISTEN_BACKLOG) === 0;
}
