/**
 * `distcache test`: the C `dc_test`: random sessions, random operations
 * whose outcome it predicts, stop at the first wrong outcome; plus
 * `-concurrency` to load a server from one command.
 *
 * @module
 */

import {
  DC_CTX_FLAG_PERSISTENT,
  DcCtx,
  type DcCtxOptions,
} from "@distcache/distcache/dc_client";
import {
  DC_ADD_HEADER_SIZE,
  DC_MAX_ID_LEN,
  DC_MAX_TOTAL_DATA,
} from "@distcache/distcache/dc_enc";
import { Buffer } from "node:buffer";
import { type FlagSpec, parseFlags, usage, UsageError } from "./flags.ts";
import { connectTlsFlags, connectTlsOf } from "./tls_flags.ts";

// Session ids are 10 bytes up to one under the protocol's longest.
const ID_MIN = 10;
const ID_MAX = DC_MAX_ID_LEN - 1;
// The most session data an ADD with the longest id can carry: 32697.
const DATA_MAX = DC_MAX_TOTAL_DATA - DC_ADD_HEADER_SIZE - ID_MAX;
// The least a GET answer can carry and still be told from an error code.
const DATA_MIN = 5;

/** Flags of `distcache test`. */
export const TEST_FLAGS: FlagSpec[] = [
  {
    name: "connect",
    kind: "string",
    arg: "<addr>",
    help: "address of the server or proxy (required)",
  },
  ...connectTlsFlags("", "the server or proxy"),
  {
    name: "progress",
    kind: "int",
    arg: "<num>",
    min: 1,
    help: "print progress every <num> operations",
  },
  {
    name: "sessions",
    kind: "int",
    arg: "<num>",
    min: 1,
    max: 1_000_000,
    help: "sessions per worker (default 10)",
  },
  {
    name: "datamin",
    kind: "int",
    arg: "<num>",
    min: DATA_MIN,
    max: DATA_MAX,
    help: `smallest session data (default 50; ${DATA_MIN}..${DATA_MAX})`,
  },
  {
    name: "datamax",
    kind: "int",
    arg: "<num>",
    min: DATA_MIN,
    max: DATA_MAX,
    help: `largest session data (default 2100; ${DATA_MIN}..${DATA_MAX})`,
  },
  {
    name: "timeout",
    kind: "int",
    arg: "<secs>",
    min: 1,
    max: 604800,
    help: "session lifetime (default 60)",
  },
  {
    name: "timevar",
    kind: "int",
    arg: "<secs>",
    min: 0,
    max: 604800,
    help: "random variation of the lifetime (default 5)",
  },
  {
    name: "ops",
    kind: "int",
    arg: "<num>",
    min: 1,
    help: "operations in all (default 10 * sessions^2)",
  },
  {
    name: "persistent",
    kind: "bool",
    help: "one persistent connection per worker",
  },
  {
    name: "concurrency",
    kind: "int",
    arg: "<n>",
    min: 1,
    max: 4096,
    help: "parallel workers on disjoint sessions (default 1)",
  },
];

const SUMMARY =
  "Checks a server or proxy: random ADD/GET/REMOVE/HAVE operations on random\n" +
  "sessions, each outcome predicted; stops at the first wrong one. Prints the\n" +
  "operations, the time taken and the rate.";

/** What one run of the tester is asked to do. */
export interface TestPlan {
  /** Server or proxy address. */
  connect: string;
  /** Sessions per worker. */
  sessions: number;
  /** Smallest and largest session data. */
  dataMin: number;
  /** Largest session data. */
  dataMax: number;
  /** Session lifetime in seconds. */
  timeout: number;
  /** Random variation of the lifetime in seconds. */
  timevar: number;
  /** Operations in all (spread over the workers). */
  ops: number;
  /** One persistent connection per worker. */
  persistent: boolean;
  /** Parallel workers. */
  concurrency: number;
  /** Print progress every this many operations (0: never). */
  progress: number;
  /** Connect over TLS with these options. @default {plain} */
  tls?: DcCtxOptions["tls"];
}

/** The result of a test run. */
export interface TestReport {
  /** Operations done. */
  operations: number;
  /** Seconds taken. */
  seconds: number;
  /** The first wrong outcome, or null when all were right. */
  failure: string | null;
}

const OPS = ["ADD", "GET", "REMOVE", "HAVE"] as const;

interface Session {
  id: Uint8Array;
  data: Uint8Array;
  stored: boolean;
}

/**
 * Runs a test plan against a server or proxy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { runTestPlan } from "./test.ts";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * const report = await runTestPlan({
 *   connect: server.addr, sessions: 10, dataMin: 50, dataMax: 2100,
 *   timeout: 60, timevar: 5, ops: 1000, persistent: true, concurrency: 1, progress: 0,
 * });
 * assert.equal(report.failure, null); // every outcome as predicted
 * assert.equal(report.operations, 1000);
 * await server.close();
 * ```
 */
export async function runTestPlan(
  plan: TestPlan,
  print: (line: string) => void = () => {},
): Promise<TestReport> {
  const flags = plan.persistent ? DC_CTX_FLAG_PERSISTENT : 0;
  const options: DcCtxOptions = plan.tls === undefined ? {} : { tls: plan.tls };
  // A context of one connection per operation connects only when used, and
  // an unreachable target would show as a wrong outcome of the first ADD:
  // connect once first, so that it shows as what it is.
  if (!plan.persistent) {
    (await DcCtx.create(plan.connect, DC_CTX_FLAG_PERSISTENT, options))
      .close();
  }
  const contexts: DcCtx[] = [];
  for (let i = 0; i < plan.concurrency; i++) {
    contexts.push(await DcCtx.create(plan.connect, flags, options));
  }
  let done = 0;
  let failure: string | null = null;
  const start = performance.now();
  const worker = async (ctx: DcCtx, w: number, ops: number): Promise<void> => {
    const sessions = makeSessions(plan);
    for (let n = 0; n < ops && failure === null; n++) {
      const k = Math.floor(Math.random() * sessions.length);
      const s = sessions[k];
      const op = OPS[Math.floor(Math.random() * 4)];
      const wrong = await perform(ctx, op, s, plan);
      if (wrong !== null) {
        failure ??= `worker ${w}, operation ${
          n + 1
        }: ${op} of session ${k}: ${wrong}`;
        return;
      }
      done++;
      if (plan.progress > 0 && done % plan.progress === 0) {
        print(`${done} operations`);
      }
    }
  };
  const per = Math.floor(plan.ops / plan.concurrency);
  try {
    await Promise.all(
      contexts.map((ctx, w) =>
        worker(ctx, w, per + (w < plan.ops % plan.concurrency ? 1 : 0))
      ),
    );
  } finally {
    for (const ctx of contexts) ctx.close();
  }
  return {
    operations: done,
    seconds: (performance.now() - start) / 1000,
    failure,
  };
}

// Does one operation; null when its outcome was the predicted one.
async function perform(
  ctx: DcCtx,
  op: typeof OPS[number],
  s: Session,
  plan: TestPlan,
): Promise<string | null> {
  switch (op) {
    case "ADD": {
      const secs = plan.timeout +
        Math.round((Math.random() * 2 - 1) * plan.timevar);
      const ok = await ctx.addSession(s.id, s.data, Math.max(1, secs) * 1000);
      if (ok !== !s.stored) return expected(!s.stored, ok);
      s.stored = true;
      return null;
    }
    case "GET": {
      const data = await ctx.get(s.id);
      if ((data !== null) !== s.stored) {
        return expected(s.stored, data !== null);
      }
      if (
        data !== null &&
        !Buffer.from(data.buffer, data.byteOffset, data.length).equals(s.data)
      ) return "wrong data returned";
      return null;
    }
    case "REMOVE": {
      const ok = await ctx.removeSession(s.id);
      if (ok !== s.stored) return expected(s.stored, ok);
      s.stored = false;
      return null;
    }
    case "HAVE": {
      const ok = await ctx.hasSession(s.id);
      return ok === s.stored ? null : expected(s.stored, ok);
    }
  }
}

function expected(want: boolean, got: boolean): string {
  return `expected ${want ? "success" : "failure"}, got ${
    got ? "success" : "failure"
  }`;
}

function makeSessions(plan: TestPlan): Session[] {
  const out: Session[] = [];
  for (let i = 0; i < plan.sessions; i++) {
    const idLen = ID_MIN + Math.floor(Math.random() * (ID_MAX - ID_MIN + 1));
    const dataLen = plan.dataMin +
      Math.floor(Math.random() * (plan.dataMax - plan.dataMin + 1));
    out.push({
      id: randomBytes(idLen),
      data: randomBytes(dataLen),
      stored: false,
    });
  }
  return out;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/**
 * Runs `distcache test`; resolves with the exit code (1 at the first wrong
 * outcome).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { serve } from "@distcache/distcache/dc_server";
 * import { runTest } from "./test.ts";
 *
 * const server = await serve({ listen: "IP:127.0.0.1:0" });
 * assert.equal(await runTest(["-connect", server.addr, "-ops", "2000", "-persistent"]), 0);
 * await server.close();
 * ```
 */
export async function runTest(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, TEST_FLAGS);
  if (flags.help) {
    console.log(usage("test", SUMMARY, TEST_FLAGS));
    return 0;
  }
  if (flags.connect === undefined) {
    throw new UsageError("flag -connect is required");
  }
  const sessions = (flags.sessions as number | undefined) ?? 10;
  const plan: TestPlan = {
    connect: flags.connect as string,
    sessions,
    dataMin: (flags.datamin as number | undefined) ?? 50,
    dataMax: (flags.datamax as number | undefined) ?? 2100,
    timeout: (flags.timeout as number | undefined) ?? 60,
    timevar: (flags.timevar as number | undefined) ?? 5,
    ops: (flags.ops as number | undefined) ?? 10 * sessions * sessions,
    persistent: flags.persistent === true,
    concurrency: (flags.concurrency as number | undefined) ?? 1,
    progress: (flags.progress as number | undefined) ?? 0,
    tls: connectTlsOf(flags, "", (text) => console.error(text)),
  };
  if (plan.dataMin > plan.dataMax) {
    throw new UsageError(
      `flag -datamin: ${plan.dataMin} is above -datamax ${plan.dataMax}`,
    );
  }
  if (plan.timevar >= plan.timeout) {
    throw new UsageError(
      `flag -timevar: ${plan.timevar} must be below -timeout ${plan.timeout}`,
    );
  }
  const report = await runTestPlan(plan, (line) => console.log(line));
  const rate = report.seconds > 0
    ? Math.round(report.operations / report.seconds)
    : report.operations;
  if (report.failure !== null) {
    console.error(
      `FAILED after ${report.operations} operations: ${report.failure}`,
    );
    return 1;
  }
  console.log(
    `${report.operations} operations in ${
      report.seconds.toFixed(3)
    } s: ${rate} ops/s` +
      ` (${plan.concurrency} worker${plan.concurrency === 1 ? "" : "s"}, ${
        plan.persistent ? "persistent" : "one connection per operation"
      }${plan.tls === undefined ? "" : ", over TLS"})`,
  );
  return 0;
}
