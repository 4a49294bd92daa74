/**
 * The few C library calls the tools need and Deno's `node:process` lacks
 * (`signal`, `setgroups`), through Deno's FFI. Bun and Node have what the
 * tools need in `node:process` and never load this.
 *
 * @module
 */

/** The libc calls, as Deno's FFI gives them. */
export interface Libc {
  /** `signal(signo, SIG_IGN)`; false when libc refused. */
  ignoreSignal(signo: number): boolean;
  /** `setgroups(gids)`: sets the supplementary groups; throws on failure. */
  setgroups(gids: readonly number[]): void;
}

/**
 * The parts of Deno's namespace the tools use, declared here (types only)
 * so that the CLI also compiles with tsc for npm, without Deno's types.
 */
export interface DenoApi {
  /** The operating system. */
  readonly build: { readonly os: string };
  /** `Deno.addSignalListener`. */
  addSignalListener(signal: "SIGUSR1", handler: () => void): void;
  /** `Deno.readTextFileSync`. */
  readTextFileSync(path: string): string;
  /** `Deno.permissions`. */
  readonly permissions: {
    querySync(desc: { name: "ffi" }): { readonly state: string };
  };
  /** `Deno.dlopen`, for the symbols below. */
  dlopen(path: string, symbols: typeof SYMBOLS): {
    readonly symbols: {
      signal(signo: number, handler: unknown): unknown;
      setgroups(count: bigint, gids: Uint32Array): number;
    };
  };
  /** `Deno.UnsafePointer`. */
  readonly UnsafePointer: {
    create(value: bigint): unknown;
    value(pointer: unknown): bigint | number;
  };
}

/** Deno's namespace when running under Deno. */
export function denoApi(): DenoApi | undefined {
  return (globalThis as unknown as { Deno?: DenoApi }).Deno;
}

const LIBC_NAMES: Record<string, string> = {
  linux: "libc.so.6",
  darwin: "libSystem.B.dylib",
  freebsd: "libc.so.7",
};

const SYMBOLS = {
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
} as const;

let cached: Libc | string | undefined;

/**
 * libc through Deno's FFI, or the reason it cannot be had: not Deno, no
 * `--allow-ffi`, or a system whose libc we do not know.
 */
export function denoLibc(): Libc | string {
  if (cached === undefined) cached = open();
  return cached;
}

function open(): Libc | string {
  const deno = denoApi();
  if (deno === undefined) return "not running under Deno";
  const name = LIBC_NAMES[deno.build.os];
  if (name === undefined) return `no known libc on ${deno.build.os}`;
  // Asking first: dlopen without the permission would prompt on a terminal.
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "Deno was not given --allow-ffi (or -A)";
  }
  let lib: ReturnType<DenoApi["dlopen"]>;
  try {
    lib = deno.dlopen(name, SYMBOLS);
  } catch (err) {
    return `cannot load ${name}: ${(err as Error).message}`;
  }
  const SIG_IGN = deno.UnsafePointer.create(1n);
  return {
    ignoreSignal(signo) {
      const old = lib.symbols.signal(signo, SIG_IGN);
      // SIG_ERR is (void *)-1.
      return BigInt(deno.UnsafePointer.value(old)) !== 0xffffffffffffffffn;
    },
    setgroups(gids) {
      // gid_t is 32 bits on every system named in LIBC_NAMES.
      const list = Uint32Array.from(gids);
      if (lib.symbols.setgroups(BigInt(list.length), list) !== 0) {
        throw new Error("setgroups failed (not root?)");
      }
    },
  };
}
