/**
 * What a simulation reports, per interval and in a summary.
 *
 * - top-tier share: of the accesses made in the interval, the share served by pages
 *   that sat on a top-tier node. For rate-driven workloads it is the expected value,
 *   integrated exactly over the placement as it changed (sum over pages of rate x
 *   time on a top-tier node); for traces it counts the replayed accesses.
 * - mean latency: accesses weighted by their node's latency (read and write mix);
 *   accesses to pages not present pay the fault latency.
 * - oracle: the same two for the best static placement of the current rates: the
 *   highest-rate pages on the fastest nodes, up to each node's capacity.
 * - promoted / demoted: pages migrated to a better / worse tier rank.
 * - ping-pong: pages migrated back towards the tier they last left (a promotion after
 *   a demotion, or the reverse) within the ping-pong window (resolution 1/16 window).
 * - scanned: page-table entries visited, and per second of virtual time.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * Something that happened in the machine.
 *
 * @since 0.1.0
 */
export const SimEvent = Schema.Struct({
  /** ms since the simulation started. */
  atMs: Schema.Number,
  kind: Schema.Literal("start", "phase", "exit", "capacity"),
  /** The task (start, phase, exit) or node (capacity). */
  subject: Schema.Number,
  detail: Schema.String
})

/** @since 0.1.0 */
export interface SimEvent extends Schema.Schema.Type<typeof SimEvent> {}

/**
 * Pages on a node.
 *
 * @since 0.1.0
 */
export const NodeOccupancy = Schema.Struct({
  node: Schema.Number,
  label: Schema.String,
  tier: Schema.Number,
  usedPages: Schema.Number,
  capacityPages: Schema.Number
})

/** @since 0.1.0 */
export interface NodeOccupancy extends Schema.Schema.Type<typeof NodeOccupancy> {}

/**
 * Counts and sums over a span of time.
 *
 * @since 0.1.0
 */
export const Totals = Schema.Struct({
  /** Accesses made (expected for rate workloads, replayed for traces). */
  accesses: Schema.Number,
  topTierShare: Schema.Number,
  meanLatencyNs: Schema.Number,
  oracleShare: Schema.Number,
  oracleLatencyNs: Schema.Number,
  promoted: Schema.Number,
  demoted: Schema.Number,
  /** Pages moved between nodes of the same tier. */
  lateral: Schema.Number,
  pingPong: Schema.Number,
  /** Pages a migrate call did not move (busy, no memory, gone, invalid). */
  migrateFailed: Schema.Number,
  /** Pages moved off a shrinking node, or out of memory, by the machine itself. */
  evicted: Schema.Number,
  pagesScanned: Schema.Number,
  scanPagesPerSec: Schema.Number,
  /** Virtual CPU time spent scanning, ms. */
  scanCpuMs: Schema.Number,
  /** Virtual time spent migrating, ms. */
  migrateMs: Schema.Number,
  /** Sampled accesses reported. */
  samples: Schema.Number
})

/** @since 0.1.0 */
export interface Totals extends Schema.Schema.Type<typeof Totals> {}

/**
 * One result interval.
 *
 * @since 0.1.0
 */
export const IntervalResult = Schema.Struct({
  ...Totals.fields,
  index: Schema.Number,
  /** ms since the simulation started. */
  startMs: Schema.Number,
  endMs: Schema.Number,
  events: Schema.Array(SimEvent),
  occupancy: Schema.Array(NodeOccupancy)
})

/** @since 0.1.0 */
export interface IntervalResult extends Schema.Schema.Type<typeof IntervalResult> {}

/**
 * How the placement recovered after a workload phase change (a hot-set shift).
 *
 * @since 0.1.0
 */
export const Recovery = Schema.Struct({
  atMs: Schema.Number,
  task: Schema.Number,
  detail: Schema.String,
  /** Top-tier share in the last interval before the change. */
  shareBefore: Schema.Number,
  /** Lowest interval share from the change until recovery (or the end). */
  lowestShare: Schema.Number,
  /** Time from the change to the end of the first interval whose share reached 90 % of the oracle's, or null. */
  recoveryMs: Schema.NullOr(Schema.Number)
})

/** @since 0.1.0 */
export interface Recovery extends Schema.Schema.Type<typeof Recovery> {}

/**
 * The whole run.
 *
 * @since 0.1.0
 */
export const Summary = Schema.Struct({
  ...Totals.fields,
  durationMs: Schema.Number,
  intervals: Schema.Number,
  /** topTierShare / oracleShare (1 = as good as the oracle). */
  shareOfOracle: Schema.Number,
  recoveries: Schema.Array(Recovery),
  events: Schema.Array(SimEvent),
  occupancy: Schema.Array(NodeOccupancy)
})

/** @since 0.1.0 */
export interface Summary extends Schema.Schema.Type<typeof Summary> {}

/**
 * Share of the oracle's share an interval must reach to count as recovered.
 *
 * @since 0.1.0
 */
export const RECOVERED = 0.9

/**
 * Recoveries after each phase change, from the interval history. O(intervals x changes).
 *
 * @since 0.1.0
 */
export const recoveries = (history: ReadonlyArray<IntervalResult>, events: ReadonlyArray<SimEvent>): ReadonlyArray<Recovery> =>
  events
    .filter((e) => e.kind === "phase")
    .map((e) => {
      let before = Number.NaN
      let lowest = Number.POSITIVE_INFINITY
      let recoveryMs: number | null = null
      for (const r of history) {
        if (r.endMs <= e.atMs) {
          before = r.topTierShare
          continue
        }
        if (r.startMs < e.atMs) continue
        lowest = Math.min(lowest, r.topTierShare)
        if (r.oracleShare > 0 && r.topTierShare >= RECOVERED * r.oracleShare) {
          recoveryMs = r.endMs - e.atMs
          break
        }
      }
      return {
        atMs: e.atMs,
        task: e.subject,
        detail: e.detail,
        shareBefore: before,
        lowestShare: Number.isFinite(lowest) ? lowest : Number.NaN,
        recoveryMs
      }
    })

/**
 * One line for an interval, for logs and terminals.
 *
 * @since 0.1.0
 */
export const formatInterval = (r: IntervalResult): string => {
  const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "-")
  return [
    `t=${(r.endMs / 1000).toFixed(1)}s`,
    `top ${pct(r.topTierShare)} (oracle ${pct(r.oracleShare)})`,
    `lat ${r.meanLatencyNs.toFixed(0)} ns (oracle ${r.oracleLatencyNs.toFixed(0)})`,
    `+${r.promoted} -${r.demoted} pp ${r.pingPong}`,
    `scan ${Math.round(r.scanPagesPerSec)} p/s`,
    ...r.events.map((e) => `[${e.kind} ${e.subject}: ${e.detail}]`)
  ].join("  ")
}
