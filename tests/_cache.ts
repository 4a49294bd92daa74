// A cache server for tests of the layers on top of the client (TLS
// helpers, session stores): made before a suite's tests, removed after.

import { after, before } from "node:test";
import * as path from "node:path";
import { DC_CTX_FLAG_PERSISTENT, DcCtx } from "../dc_client/mod.ts";
import { serve, type Server } from "../dc_server/mod.ts";
import { makeTempDir, removeDir } from "./_servers.ts";

/** What {@linkcode useCacheServer} makes, filled in by its `before`. */
export interface CacheFixture {
  /** A fresh temporary directory (removed after the suite). */
  tmp: string;
  /** The server, listening on a UNIX socket in `tmp`. */
  server: Server;
  /** A persistent context to it. */
  ctx: DcCtx;
}

/**
 * Inside a `describe`: a temporary directory, a cache server in it and a
 * persistent context, for the suite's tests (`setup` runs after them,
 * before the tests).
 */
export function useCacheServer(
  prefix: string,
  setup?: (fixture: CacheFixture) => void | Promise<void>,
): CacheFixture {
  const fixture = {} as CacheFixture;
  before(async () => {
    fixture.tmp = makeTempDir(prefix);
    fixture.server = await serve({
      listen: `UNIX:${path.join(fixture.tmp, "cache.sock")}`,
    });
    fixture.ctx = await DcCtx.create(
      fixture.server.addr,
      DC_CTX_FLAG_PERSISTENT,
    );
    await setup?.(fixture);
  });
  after(async () => {
    fixture.ctx.close();
    await fixture.server.close();
    removeDir(fixture.tmp);
  });
  return fixture;
}

/** Joins a name to the fixture's temporary directory. */
export function inTmp(fixture: CacheFixture, name: string): string {
  return path.join(fixture.tmp, name);
}
