/**
 * The policies under test, by name, as layers. The oracle needs `GroundTruth`, which
 * the simulated backend provides.
 */
import type * as Layer from "effect/Layer"
import type { GroundTruth } from "@kmm/core/GroundTruth"
import type { Policy } from "@kmm/core/Policy"
import * as Abit from "@kmm/policy-abit/Abit"
import * as NumaBalancing from "@kmm/policy-baselines/NumaBalancing"
import * as Oracle from "@kmm/policy-baselines/Oracle"
import * as Static from "@kmm/policy-baselines/Static"
import * as Hotness from "@kmm/policy-hotness/Hotness"

/** A policy of the benchmark. */
export interface Entry {
  readonly name: string
  readonly layer: () => Layer.Layer<Policy, never, GroundTruth>
}

/** Every policy, in report order. */
export const all: ReadonlyArray<Entry> = [
  { name: "hotness", layer: () => Hotness.layer() },
  { name: "abit", layer: () => Abit.layer() },
  { name: "numa-balancing", layer: () => NumaBalancing.layer() },
  { name: "static", layer: () => Static.layer() },
  { name: "oracle", layer: () => Oracle.layer() }
]
