/**
 * The sections of `deno task bench`, in the order a full run takes them.
 * To add one, write a module exporting a `BenchSection` (see
 * `bench/section.ts`) and list it here; `--only=<name>` then selects it and
 * its tables and targets land on the results page.
 *
 * @module
 */

import type { BenchSection } from "./section.ts";
import { codec } from "./sections/codec.ts";
import { dctest } from "./sections/dctest.ts";
import { idle } from "./sections/idle.ts";
import { proxy } from "./sections/proxy.ts";
import { scale } from "./sections/scale.ts";
import { store } from "./sections/store.ts";
import { throughput } from "./sections/throughput.ts";
import { tls } from "./sections/tls.ts";
import { tlsLink } from "./sections/tls_link.ts";

/** Every section, in run order. */
export const SECTIONS: readonly BenchSection[] = [
  throughput,
  dctest,
  scale,
  idle,
  proxy,
  tls,
  tlsLink,
  store,
  codec,
];
