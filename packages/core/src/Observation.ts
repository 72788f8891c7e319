/**
 * Observations: what a backend reports of page accesses. A policy declares which
 * kinds it accepts; the daemon hands it only those.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import type { ScanChunk } from "./ScanChunk.js"
import type { TargetId } from "./Target.js"

/**
 * The observation kinds.
 * - `accessed-bit`: a harvested and cleared accessed bit per page (kmmscand, idle page bitmap).
 * - `soft-dirty`: like accessed-bit, but writes only.
 * - `sampled-access`: individual accesses with time and accessing node (NUMA hint faults, IBS/PEBS).
 * - `region-sample`: access counts per address range (DAMON).
 *
 * @since 0.1.0
 */
export const ObservationKind = Schema.Literal("accessed-bit", "soft-dirty", "sampled-access", "region-sample")

/** @since 0.1.0 */
export type ObservationKind = Schema.Schema.Type<typeof ObservationKind>

/**
 * A scan chunk of accessed (or written, for soft-dirty) bits.
 *
 * @since 0.1.0
 */
export interface AccessedBits {
  readonly _tag: "AccessedBits"
  readonly kind: "accessed-bit" | "soft-dirty"
  readonly chunk: ScanChunk
}

/**
 * A batch of sampled accesses to one target; entry i is one access.
 *
 * @since 0.1.0
 */
export interface SampledAccesses {
  readonly _tag: "SampledAccesses"
  readonly kind: "sampled-access"
  readonly target: TargetId
  readonly count: number
  /** Virtual page number of each access. */
  readonly page: Float64Array
  /** Time of each access, in milliseconds of the backend's clock. */
  readonly time: Float64Array
  /** Node of the CPU that made the access (-1 unknown). */
  readonly cpuNode: Int16Array
  /** Node the page sat on at the time of the access. */
  readonly pageNode: Int16Array
  /**
   * Time the page was last made inaccessible for sampling (hint-fault scan), in ms,
   * or NaN when the source does not have it. Used for scan-to-fault latency.
   */
  readonly sampledAt: Float64Array
}

/**
 * Access counts per address range of one target; entry i is one region.
 *
 * @since 0.1.0
 */
export interface RegionSamples {
  readonly _tag: "RegionSamples"
  readonly kind: "region-sample"
  readonly target: TargetId
  readonly count: number
  /** First virtual page number of each region. */
  readonly start: Float64Array
  /** Pages of each region. */
  readonly pages: Float64Array
  /** Accesses seen in each region during the last aggregation interval. */
  readonly accesses: Uint32Array
}

/**
 * @since 0.1.0
 */
export type Observation = AccessedBits | SampledAccesses | RegionSamples

/**
 * Wraps a scan chunk as an accessed-bit observation.
 *
 * @since 0.1.0
 */
export const accessedBits = (chunk: ScanChunk, kind: "accessed-bit" | "soft-dirty" = "accessed-bit"): AccessedBits => ({
  _tag: "AccessedBits",
  kind,
  chunk
})
