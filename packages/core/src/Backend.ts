/**
 * The Backend service: the machine. A backend answers topology, targets, scans and
 * migrations, whatever it runs on (a simulation, a Linux host, a QEMU guest).
 *
 * Backend packages provide this tag the way `@effect/sql-pg` provides `@effect/sql`:
 * they export `layer` / `layerConfig` constructors that build a `Backend`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { BackendError, BackendFailure, PermissionDenied, TargetGone } from "./Errors.js"
import type { MigrationOutcome, MigrationPlan } from "./MigrationPlan.js"
import type { Observation } from "./Observation.js"
import { ObservationKind } from "./Observation.js"
import type { Target, TargetId } from "./Target.js"
import type { Topology } from "./Topology.js"

/**
 * One observation source and whether this backend has it; when it does not, why.
 *
 * @since 0.1.0
 */
export const Source = Schema.Struct({
  kind: ObservationKind,
  /** Implementation name, e.g. "idle-page-bitmap", "damon-vaddr", "sim". */
  name: Schema.String,
  available: Schema.Boolean,
  reason: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export interface Source extends Schema.Schema.Type<typeof Source> {}

/**
 * What a backend can do.
 *
 * @since 0.1.0
 */
export const Capabilities = Schema.Struct({
  sources: Schema.Array(Source),
  /** Whether pages may be moved to a slower tier. */
  canDemote: Schema.Boolean,
  /** Whether scan chunks carry page frame numbers. */
  reportsPfn: Schema.Boolean
})

/** @since 0.1.0 */
export interface Capabilities extends Schema.Schema.Type<typeof Capabilities> {}

/**
 * The result of one scan step.
 *
 * @since 0.1.0
 */
export interface ScanResult {
  /** What was seen: accessed-bit chunks, and any samples the source gathered. */
  readonly observations: ReadonlyArray<Observation>
  /** Page-table entries visited (the cost the scan-size budget counts). */
  readonly scanned: number
  /** Cursor for the next step, or null when the sweep of the address space is complete. */
  readonly next: number | null
}

/**
 * @since 0.1.0
 */
export interface Backend {
  /** Short name, e.g. "sim", "linux", "qemu-cxl". */
  readonly name: string
  readonly capabilities: Effect.Effect<Capabilities>
  /** The nodes now (capacity and free pages change while running). */
  readonly topology: Effect.Effect<Topology, BackendFailure | PermissionDenied>
  /**
   * The targets now. The daemon diffs successive lists to learn of targets that
   * appear and disappear (kmmscand's mm list, fed by fork and exit).
   */
  readonly targets: Effect.Effect<ReadonlyArray<Target>, BackendFailure | PermissionDenied>
  /**
   * Harvest and clear accessed bits of up to `budget` pages of `target`, from virtual
   * page `from` (0 = the start of its address space), and report each page's node.
   */
  readonly scan: (target: TargetId, from: number, budget: number) => Effect.Effect<ScanResult, BackendError>
  /** Move the plan's pages; one status per page, like move_pages(2). */
  readonly migrate: (plan: MigrationPlan) => Effect.Effect<MigrationOutcome, TargetGone | PermissionDenied | BackendFailure>
}

/**
 * The Backend tag: `yield* Backend.Backend` in an Effect gives the backend in use.
 *
 * @since 0.1.0
 */
export const Backend: Context.Tag<Backend, Backend> = Context.GenericTag<Backend>("@kmm/core/Backend")

/**
 * Whether a backend has an available source of the given kind.
 *
 * @since 0.1.0
 */
export const hasSource = (caps: Capabilities, kind: ObservationKind): boolean =>
  caps.sources.some((s) => s.kind === kind && s.available)

/**
 * Errors a scan may fail with, re-exported for convenience.
 *
 * @since 0.1.0
 */
export type ScanError = BackendError
