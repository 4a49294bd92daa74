/**
 * The shape of a benchmark run's results (`bench/results/latest.json`).
 *
 * @module
 */

import type { SectionOutput } from "./section.ts";

/** The machine's other load, sampled while none of the bench's processes ran. */
export interface LoadSample {
  /** When: `before the run`, `after throughput`, ... */
  when: string;
  /** Share of all CPUs busy over one second (0..1). */
  busy: number;
  /** The 1-minute load average then. */
  loadavg: number;
}

/** Everything one run measured. */
export interface BenchResults {
  /** ISO date of the run. */
  date: string;
  /** Cores, memory, kernel, runtime and peer versions. */
  machine: Record<string, string | number>;
  /** How it was run. */
  settings: {
    /** Rounds per interleaved point. */
    rounds: number;
    /** Timed seconds per loader run. */
    seconds: number;
    /** `--quick`. */
    quick: boolean;
    /** CPUs of server and loader, or null when unpinned. */
    pin: { server: number; loader: number } | null;
    /** Sections run, in order. */
    sections: string[];
  };
  /** The machine's other load during the run. */
  background: {
    /** Samples taken before the run and after each section. */
    samples: LoadSample[];
    /** `--note`: what else ran meanwhile, in the operator's words. */
    note?: string;
  };
  /** Why rows are missing, if any are. */
  skipped: string[];
  /** Each section's tables, targets and raw figures, by name. */
  sections: Record<string, SectionOutput>;
}
