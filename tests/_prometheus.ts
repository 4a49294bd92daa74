// A strict reader of the Prometheus text exposition format (0.0.4), for
// tests of what /metrics serves: it throws on anything a scraper could
// reject or misread, and is stricter than Prometheus where our endpoints
// promise more (every family has # HELP and # TYPE before its samples, a
// family's samples are contiguous, no series twice).

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE =
  /^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

/** One family as read. */
export interface ParsedFamily {
  type: string;
  help: string;
  /** Series by their rendered labels (`{a="1",b="2"}`, sorted; "" for none). */
  series: Map<string, { labels: Record<string, string>; value: number }>;
}

/** Parses a /metrics body; throws naming the line on any flaw. */
export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new Error("the text must end with a newline");
  const families = new Map<string, ParsedFamily>();
  const helps = new Map<string, string>();
  const types = new Map<string, string>();
  const done = new Set<string>();
  let current: string | null = null;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1} "${line}"`;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // a comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      if (families.has(name)) {
        throw new Error(`${where}: ${kind} after the family's samples`);
      }
      const seen = kind === "HELP" ? helps : types;
      if (seen.has(name)) throw new Error(`${where}: second ${kind}`);
      if (kind === "TYPE" && !TYPES.has(rest)) {
        throw new Error(`${where}: unknown type`);
      }
      if (kind === "HELP") checkHelp(rest, where);
      seen.set(name, rest);
      return;
    }
    if (line.trim() === "") throw new Error(`${where}: empty line`);
    const { name, labels, key, value } = parseSample(line, where);
    if (name !== current) {
      if (done.has(name)) {
        throw new Error(`${where}: samples of ${name} are not contiguous`);
      }
      if (current !== null) done.add(current);
      current = name;
    }
    const type = types.get(name);
    const help = helps.get(name);
    if (type === undefined) throw new Error(`${where}: no # TYPE before it`);
    if (help === undefined) throw new Error(`${where}: no # HELP before it`);
    let family = families.get(name);
    if (family === undefined) {
      family = { type, help, series: new Map() };
      families.set(name, family);
    }
    if (family.series.has(key)) throw new Error(`${where}: duplicate series`);
    if (type === "counter" && !(value >= 0)) {
      throw new Error(`${where}: a counter below 0`);
    }
    family.series.set(key, { labels, value });
  });
  for (const name of types.keys()) {
    if (!families.has(name)) throw new Error(`# TYPE ${name} without samples`);
  }
  return families;
}

function checkHelp(help: string, where: string): void {
  for (let i = 0; i < help.length; i++) {
    if (help[i] === "\\" && !"\\n".includes(help[i + 1] ?? "")) {
      throw new Error(`${where}: bad escape in HELP`);
    }
    if (help[i] === "\\") i++;
  }
}

function parseSample(line: string, where: string): {
  name: string;
  labels: Record<string, string>;
  key: string;
  value: number;
} {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{|\s)/.exec(line);
  if (m === null) throw new Error(`${where}: bad sample name`);
  const name = m[1];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === "{") {
    at++;
    while (line[at] !== "}") {
      const lm = /^([^=]*)="/.exec(line.slice(at));
      if (lm === null) throw new Error(`${where}: bad label`);
      const label = lm[1];
      if (!LABEL.test(label)) throw new Error(`${where}: bad label name`);
      if (label in labels) throw new Error(`${where}: label twice`);
      at += lm[0].length;
      let value = "";
      for (;;) {
        const c = line[at++];
        if (c === undefined) throw new Error(`${where}: unterminated label`);
        if (c === '"') break;
        if (c === "\\") {
          const e = line[at++];
          if (e === "n") value += "\n";
          else if (e === "\\" || e === '"') value += e;
          else throw new Error(`${where}: bad escape in a label value`);
        } else value += c;
      }
      labels[label] = value;
      if (line[at] === ",") at++;
      else if (line[at] !== "}") throw new Error(`${where}: bad label list`);
    }
    at++;
  }
  if (line[at] !== " ") throw new Error(`${where}: no space before the value`);
  const parts = line.slice(at + 1).split(" ");
  if (parts.length > 2 || !VALUE.test(parts[0])) {
    throw new Error(`${where}: bad value`);
  }
  if (parts.length === 2 && !/^-?[0-9]+$/.test(parts[1])) {
    throw new Error(`${where}: bad timestamp`);
  }
  const key = seriesKey(labels);
  return {
    name,
    labels,
    key,
    value: Number(parts[0].replace("Inf", "Infinity")),
  };
}

/** The key of a series: its labels sorted, as `{a="1",b="2"}`. */
export function seriesKey(labels: Record<string, string>): string {
  const names = Object.keys(labels).sort();
  return names.length === 0
    ? ""
    : `{${names.map((n) => `${n}=${JSON.stringify(labels[n])}`).join(",")}}`;
}

/** The value of one series (throws when it is absent). */
export function sampleOf(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  const series = family?.series.get(seriesKey(labels));
  if (series === undefined) {
    throw new Error(`no series ${name}${seriesKey(labels)}`);
  }
  return series.value;
}

/** The series of distcache_operations_total, by their labels' key. */
export function operationSeries(
  families: Map<string, ParsedFamily>,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, s] of families.get("distcache_operations_total")!.series) {
    out.set(key, s.value);
  }
  return out;
}

/**
 * Runs `op`, scraping before and after: the operations series of
 * `command` and `result` must have moved by exactly one, and no other.
 * Resolves with the series after, for the next step.
 */
export async function expectOneOperation(
  scrape: () => Promise<Map<string, ParsedFamily>>,
  before: Map<string, number>,
  op: () => Promise<unknown>,
  command: string,
  result: string,
): Promise<Map<string, number>> {
  await op();
  const after = operationSeries(await scrape());
  const moved = seriesKey({ command, result });
  if (!after.has(moved)) throw new Error(`no series ${moved}`);
  for (const [key, value] of after) {
    const expected = before.get(key)! + (key === moved ? 1 : 0);
    if (value !== expected) {
      throw new Error(
        `after ${command} ${result}: ${key} is ${value}, expected ${expected}`,
      );
    }
  }
  return after;
}
