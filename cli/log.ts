/**
 * Where the long-running tools' messages go: the terminal (as the C tools
 * print them), a log file (`-log FILE`), or stderr with syslog priority
 * prefixes (`-syslog`, for supervisors that collect stderr, such as
 * systemd's journal); nowhere for a `-daemon` given neither.
 *
 * @module
 */

import * as fs from "node:fs";
import process from "node:process";
import { DistcacheError } from "@distcache/distcache/nal";

/** How much a message matters. */
export type LogLevel = "info" | "warn" | "error";

/** A sink for the tools' messages (one line each). */
export interface Log {
  /** Routine news: the banner, stats lines, "stopped". */
  info(message: string): void;
  /** Something an operator may want to look at: a dropped client. */
  warn(message: string): void;
  /** A failure. */
  error(message: string): void;
  /** Releases the sink (a log file is closed). */
  close(): void;
}

/**
 * A log file that cannot be used (code `ERR_LOG`): a link, not a regular
 * file, owned by another user, or not writable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LogFileError, openLogFile } from "./log.ts";
 *
 * assert.throws(() => openLogFile("/no/such/dir/x.log"), LogFileError);
 * ```
 */
export class LogFileError extends DistcacheError {
  /**
   * Makes a log file error.
   *
   * @param message The file and what is wrong with it.
   */
  constructor(message: string) {
    super("ERR_LOG", message);
  }
}

class Sink implements Log {
  readonly #write: (level: LogLevel, message: string) => void;
  readonly #close: () => void;

  constructor(
    write: (level: LogLevel, message: string) => void,
    close: () => void = () => {},
  ) {
    this.#write = write;
    this.#close = close;
  }

  info(message: string): void {
    this.#write("info", message);
  }

  warn(message: string): void {
    this.#write("warn", message);
  }

  error(message: string): void {
    this.#write("error", message);
  }

  close(): void {
    this.#close();
  }
}

/**
 * The terminal: routine news on stdout, warnings and errors on stderr.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { consoleLog } from "./log.ts";
 *
 * const log = consoleLog();
 * log.info("distcache server listening on UNIX:/tmp/dcserver"); // stdout
 * assert.equal(typeof log.warn, "function");
 * ```
 */
export function consoleLog(): Log {
  return new Sink((level, message) => {
    if (level === "info") console.log(message);
    else console.error(message);
  });
}

/**
 * Nowhere: a `-daemon` started without `-log` or `-syslog` has no terminal
 * left to print to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nullLog } from "./log.ts";
 *
 * assert.equal(nullLog().warn("lost"), undefined); // written nowhere
 * ```
 */
export function nullLog(): Log {
  return new Sink(() => {});
}

// The priority prefixes of sd-daemon(3), which syslog and the journal read:
// <6> info, <4> warning, <3> error.
const PRIORITY: Record<LogLevel, string> = {
  info: "<6>",
  warn: "<4>",
  error: "<3>",
};

/**
 * stderr, each line with its syslog priority prefix (`<6>` info, `<4>`
 * warning, `<3>` error): the journal of systemd (and other supervisors)
 * records the level and strips the prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { syslogLog } from "./log.ts";
 *
 * const log = syslogLog();
 * log.warn("dropped a client"); // stderr: "<4>dropped a client"
 * assert.equal(typeof log.error, "function");
 * ```
 */
export function syslogLog(): Log {
  return new Sink((level, message) => {
    write(2, `${PRIORITY[level]}${message}\n`);
  });
}

const { O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK, O_WRONLY } = fs.constants;

/**
 * A log file, appended to: one line per message, with the time (UTC), the
 * process id and the level. It is opened without following a link, never
 * blocks on a FIFO, and must be a regular file of one name owned by this
 * user (so that a file planted in a shared directory, or a hard link to
 * another file, is refused); a new one is made with mode 0640. Rotate it
 * with copytruncate (the file stays open).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as fs from "node:fs";
 * import * as os from "node:os";
 * import * as path from "node:path";
 * import { openLogFile } from "./log.ts";
 *
 * const dir = fs.mkdtempSync(path.join(os.tmpdir(), "log-"));
 * const log = openLogFile(path.join(dir, "server.log"));
 * log.info("listening");
 * log.close();
 * assert.match(fs.readFileSync(path.join(dir, "server.log"), "utf8"), /\[\d+\] info: listening\n$/);
 * fs.rmSync(dir, { recursive: true });
 * ```
 *
 * @throws {LogFileError} for a file that cannot be used, saying why.
 */
export function openLogFile(file: string): Log {
  let fd: number;
  try {
    fd = fs.openSync(
      file,
      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK,
      0o640,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new LogFileError(
      code === "ELOOP"
        ? `-log ${file}: is a symbolic link (refused: give the real path)`
        : `-log ${file}: cannot open: ${(err as Error).message}`,
    );
  }
  const problem = refusal(fs.fstatSync(fd));
  if (problem !== null) {
    fs.closeSync(fd);
    throw new LogFileError(`-log ${file}: ${problem}`);
  }
  let open = true;
  return new Sink((level, message) => {
    if (!open) return;
    write(
      fd,
      `${new Date().toISOString()} [${process.pid}] ${level}: ${message}\n`,
    );
  }, () => {
    if (!open) return;
    open = false;
    fs.closeSync(fd);
  });
}

function refusal(st: fs.Stats): string | null {
  if (!st.isFile()) return "is not a regular file";
  if (st.nlink !== 1) return `has ${st.nlink} names (hard links): refused`;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    return `is owned by uid ${st.uid}, not by this user (${uid})`;
  }
  return null;
}

// A message that cannot be written (disk full, stderr closed) is lost, not
// a reason to stop serving.
function write(fd: number, line: string): void {
  try {
    fs.writeSync(fd, line);
  } catch {
    // Nowhere to report it.
  }
}
