/**
 * Daemon counters, named after the kmmscand series' vmstat counters, plus pages
 * scanned and bytes migrated. Each daemon keeps its own; they are also reported to
 * Effect metrics (`kmm_<name>`), so any metrics exporter sees them.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

/**
 * @since 0.1.0
 */
export interface Counters {
  /** Target visits (kmmscand: mm_scans). */
  mm_scans: number
  /** Mapping chunks scanned (kmmscand: vma_scans). */
  vma_scans: number
  /** Pages queued for migration (kmmscand: migadded). */
  migadded: number
  /** Pages migrated (kmmscand: migrated). */
  migrated: number
  /** Pages that failed to migrate, or were dropped unattempted (kmmscand: migrate_failed). */
  migrate_failed: number
  /** Accessed pages found on a slow tier (kmmscand: slowtier). */
  slowtier: number
  /** Accessed pages found on the top tier (kmmscand: toptier). */
  toptier: number
  /** Present pages found not accessed (kmmscand: idlepage). */
  idlepage: number
  /** Page-table entries visited. */
  pages_scanned: number
  /** Bytes migrated. */
  bytes_migrated: number
  /** Pages migrated to a slower tier (demotions, part of migrated). */
  demoted: number
  /** Targets dropped because they were gone. */
  targets_gone: number
  /** Completed scan passes. */
  scan_passes: number
}

/**
 * Counter names, in a stable order.
 *
 * @since 0.1.0
 */
export const names: ReadonlyArray<keyof Counters> = [
  "mm_scans",
  "vma_scans",
  "migadded",
  "migrated",
  "migrate_failed",
  "slowtier",
  "toptier",
  "idlepage",
  "pages_scanned",
  "bytes_migrated",
  "demoted",
  "targets_gone",
  "scan_passes"
]

/**
 * All zero.
 *
 * @since 0.1.0
 */
export const zero = (): Counters => Object.fromEntries(names.map((n) => [n, 0])) as unknown as Counters

const metrics = Object.fromEntries(names.map((n) => [n, Metric.counter(`kmm_${n}`, { incremental: true })])) as Record<
  keyof Counters,
  Metric.Metric.Counter<number>
>

/**
 * Adds `delta` to a counter, and to its Effect metric.
 *
 * @since 0.1.0
 */
export const add = (counters: Counters, name: keyof Counters, delta: number): Effect.Effect<void> =>
  delta === 0
    ? Effect.void
    : Effect.suspend(() => {
        counters[name] += delta
        return Metric.incrementBy(metrics[name], delta)
      })

/**
 * Counters whose Effect metrics are brought up to date in batches: `bump` is a plain
 * addition (for hot paths), `flush` reports what was bumped since the last flush.
 *
 * @since 0.1.0
 */
export class Batched {
  readonly values: Counters = zero()
  private readonly reported: Counters = zero()

  /** Adds `delta` to a counter now; its metric follows at the next `flush`. */
  bump(name: keyof Counters, delta: number): void {
    this.values[name] += delta
  }

  /** Reports every counter's change since the last flush to its Effect metric. */
  readonly flush: Effect.Effect<void> = Effect.suspend(() => {
    const updates: Array<Effect.Effect<void>> = []
    for (const name of names) {
      const delta = this.values[name] - this.reported[name]
      if (delta === 0) continue
      this.reported[name] = this.values[name]
      updates.push(Metric.incrementBy(metrics[name], delta))
    }
    return updates.length === 0 ? Effect.void : Effect.all(updates, { discard: true })
  })
}
