/**
 * GroundTruth: the true access rates of a machine's pages, which only a simulated
 * backend knows. Reference policies (the oracle) and result reports read it; real
 * backends do not provide it.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { TargetId } from "./Target.js"

/**
 * True rates of one mapping: accesses per second of each page, by offset in the mapping.
 *
 * @since 0.1.0
 */
export interface MappingRates {
  readonly start: number
  readonly rates: Float32Array
}

/**
 * @since 0.1.0
 */
export interface GroundTruth {
  /** The targets with their rates now (rates change when a workload shifts). */
  readonly rates: (target: TargetId) => Effect.Effect<ReadonlyArray<MappingRates>>
  /** Every target the truth knows of. */
  readonly targets: Effect.Effect<ReadonlyArray<TargetId>>
}

/**
 * The GroundTruth tag.
 *
 * @since 0.1.0
 */
export const GroundTruth: Context.Tag<GroundTruth, GroundTruth> = Context.GenericTag<GroundTruth>("@kmm/core/GroundTruth")
