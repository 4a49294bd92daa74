/**
 * The arithmetic of an interleaved bench: round order, medians, per-round
 * ratios and their spread, and verdicts against a target. Pure functions,
 * tested in `tests/bench/`.
 *
 * Why per-round ratios: on a shared 2-core machine a neighbour's burst lasts
 * seconds. Running the servers of a point in turn, round after round, puts
 * each burst on one round of all of them rather than on all runs of one, so
 * the ratio of two servers measured in the same round holds even when the
 * absolute figures move.
 *
 * @module
 */

/** A ratio's spread beyond which a row is "unsettled": ±10% of its median. */
export const SPREAD = 0.10;

/** The order in which an interleaved point runs its contenders. */
export interface Turn {
  /** Round, from 0. */
  round: number;
  /** Contender, as named. */
  name: string;
}

/** Every contender once per round, in the given order: A B C, A B C, ... */
export function roundOrder(names: readonly string[], rounds: number): Turn[] {
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`invalid rounds ${rounds}: must be an integer >= 1`);
  }
  const out: Turn[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const name of names) out.push({ round, name });
  }
  return out;
}

/**
 * The median (the mean of the middle two for an even count) of the values
 * given, nulls (failed rounds) left out; null when none is left.
 */
export function median(xs: readonly (number | null)[]): number | null {
  const s = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A ratio measured once per round. */
export interface RatioStats {
  /** Median of the per-round ratios. */
  median: number;
  /** Smallest per-round ratio. */
  min: number;
  /** Largest per-round ratio. */
  max: number;
  /** Rounds that gave a ratio (both sides measured, denominator above 0). */
  rounds: number;
  /** Whether every per-round ratio lies within ±{@linkcode SPREAD} of the median. */
  settled: boolean;
}

/**
 * Ratios `num[i] / den[i]` of the same rounds, their median and range.
 * Rounds where either side is missing or the denominator is 0 are left out;
 * null when none is left.
 */
export function ratioStats(
  num: readonly (number | null | undefined)[],
  den: readonly (number | null | undefined)[],
): RatioStats | null {
  const r: number[] = [];
  for (let i = 0; i < Math.min(num.length, den.length); i++) {
    const a = num[i];
    const b = den[i];
    if (a == null || b == null || !(b > 0) || !(a >= 0)) continue;
    r.push(a / b);
  }
  if (r.length === 0) return null;
  const m = median(r)!;
  const min = Math.min(...r);
  const max = Math.max(...r);
  return {
    median: m,
    min,
    max,
    rounds: r.length,
    settled: max <= m * (1 + SPREAD) && min >= m * (1 - SPREAD),
  };
}

/** A whole number with thousands separators. */
export function int(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

/** `1.05x` (`0.0021x` below 0.1, where two decimals would read 0). */
export function fmtRatio(x: number): string {
  return `${x < 0.1 && x > 0 ? x.toPrecision(2) : x.toFixed(2)}x`;
}

function bare(x: number): string {
  return fmtRatio(x).slice(0, -1);
}

/** `1.05x (0.98-1.12)`, with ` unsettled` when the spread is too wide. */
export function fmtStats(s: RatioStats | null): string {
  if (s === null) return "-";
  return `${fmtRatio(s.median)} (${bare(s.min)}-${bare(s.max)})${
    s.settled ? "" : " unsettled"
  }`;
}

/** A target on a ratio: at least (throughput) or at most (latency, memory). */
export type Goal = { atLeast: number } | { atMost: number };

/** The outcome of a target. */
export type Status = "met" | "missed" | "unsettled";

/** What a target's row says. */
export interface Verdict {
  /** `met`, `missed`, or `unsettled` (the spread is too wide to say). */
  status: Status;
  /** The median ratio and its rounds' range: `0.85x (rounds 0.82-0.88)`. */
  measured: string;
  /** The verdict in words: `met`, `missed: 23% short of >= 1.10x`, ... */
  verdict: string;
  /** For an unsettled ratio: whether every round met, or every round missed, the goal all the same. */
  everyRound?: "met" | "missed";
}

/**
 * Judges a per-round ratio against a goal. A ratio whose rounds spread
 * wider than ±10% gets no verdict ("unsettled"), with a word on whether
 * every round fell on one side of the goal all the same.
 */
export function judge(s: RatioStats | null, goal: Goal): Verdict {
  if (s === null) {
    return { status: "unsettled", measured: "-", verdict: "not measured" };
  }
  const measured = s.rounds === 1
    ? `${fmtRatio(s.median)} (one measurement)`
    : `${fmtRatio(s.median)} (rounds ${bare(s.min)}-${bare(s.max)})`;
  const meets = (x: number) =>
    "atLeast" in goal ? x >= goal.atLeast : x <= goal.atMost;
  if (!s.settled) {
    const everyRound = meets(s.min) && meets(s.max)
      ? "met"
      : !meets(s.min) && !meets(s.max)
      ? "missed"
      : undefined;
    const side = everyRound === "met"
      ? ", every round meets it"
      : everyRound === "missed"
      ? ", every round misses it"
      : "";
    return {
      status: "unsettled",
      measured,
      verdict: `unsettled (rounds spread over ±${SPREAD * 100}%${side})`,
      ...(everyRound ? { everyRound } : {}),
    };
  }
  if (meets(s.median)) return { status: "met", measured, verdict: "met" };
  const short = "atLeast" in goal
    ? `${((1 - s.median / goal.atLeast) * 100).toFixed(0)}% short`
    : `${((s.median / goal.atMost - 1) * 100).toFixed(0)}% over`;
  return { status: "missed", measured, verdict: `missed, ${short}` };
}

/** `>= 1.10x` or `<= 1.05x`. */
export function fmtGoal(goal: Goal): string {
  return "atLeast" in goal
    ? `>= ${fmtRatio(goal.atLeast)}`
    : `<= ${fmtRatio(goal.atMost)}`;
}

/** The median of per-round figures as a whole number, or `-` when none. */
export function medianInt(xs: readonly (number | null)[]): string {
  const m = median(xs);
  return m === null ? "-" : int(m);
}

/** A target's row: per-round ratios `num / den` judged against `goal`. */
export function targetRow(
  target: string,
  num: readonly (number | null)[],
  den: readonly (number | null)[],
  goal: Goal,
): { target: string } & Verdict {
  return { target, ...judge(ratioStats(num, den), goal) };
}
