/**
 * Holds idle connections open: `bun bench/_hold.ts '{"path":"/x.sock","conns":5000}'`
 * connects `conns` times to a UNIX socket (100 at a time, so as not to
 * overflow the listener's backlog), prints `ready <n>` once every one is
 * connected, and keeps them, silent, until it is killed. The proxy rows use
 * it to measure a proxy that has many idle local clients.
 *
 * @module
 */

import net from "node:net";
import process from "node:process";

const BATCH = 100;

/** What to hold. */
export interface HoldJob {
  /** The UNIX socket to connect to. */
  path: string;
  /** How many connections. */
  conns: number;
}

// One connection; a full backlog (the listener busy) refuses a UNIX
// connect at once, so that is retried until a deadline.
function connectOne(path: string, deadline: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    s.once("connect", () => {
      s.removeAllListeners("error");
      s.on("error", () => {});
      s.on("close", () => {
        console.error("hold: a held connection was closed by its peer");
        process.exit(1);
      });
      resolve(s);
    });
    s.once("error", (e: NodeJS.ErrnoException) => {
      s.destroy();
      const busy = e.code === "ECONNREFUSED" || e.code === "EAGAIN";
      if (!busy || Date.now() > deadline) return reject(e);
      setTimeout(() => connectOne(path, deadline).then(resolve, reject), 10);
    });
  });
}

async function hold(job: HoldJob): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  const deadline = Date.now() + 60_000;
  for (let done = 0; done < job.conns; done += BATCH) {
    const n = Math.min(BATCH, job.conns - done);
    socks.push(
      ...await Promise.all(
        Array.from({ length: n }, () => connectOne(job.path, deadline)),
      ),
    );
  }
  return socks;
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? "{}") as HoldJob;
  const socks = await hold(job);
  console.log(`ready ${socks.length}`);
  // Kept alive by the open sockets until killed.
}
