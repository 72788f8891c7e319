/** The daemon's shared state: one object, read and written by its fibers in turn. */
import type * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type { Backend } from "../Backend.js"
import * as Counters from "../Counters.js"
import type { DaemonEvent } from "../Events.js"
import type { MigrationPlan } from "../MigrationPlan.js"
import type { Policy } from "../Policy.js"
import type { TargetId } from "../Target.js"
import type { Topology } from "../Topology.js"
import { tierTable } from "../Topology.js"
import type { Tunables } from "../Tunables.js"

/** What the daemon keeps per target. */
export interface TargetState {
  readonly id: TargetId
  name: string
  pages: number
  /** 0 = opted out, 1 = normal, up to 10 = scanned 10 times as often. */
  scale: number
  /** Adaptive scan period, ms. */
  periodMs: number
  /** When the next sweep may start (or continue), ms. */
  nextScanAt: number
  /** Virtual page to resume the current sweep from. */
  cursor: number
  /** Slow-tier accessed pages found in the sweep before, and so far in this one. */
  previousFound: number
  found: number
  sweeps: number
  /** Accessed pages per node seen in the current and the last complete sweep. */
  byNode: Float64Array
  lastByNode: Float64Array
}

export class DaemonState {
  readonly targets = new Map<TargetId, TargetState>()
  readonly scales = new Map<TargetId, number>()
  readonly counts = new Counters.Batched()
  readonly counters = this.counts.values
  /** Node id -> time until which migrations to it are not tried (no-memory back-off). */
  readonly backoffUntil = new Map<number, number>()
  order: Array<TargetId> = []
  rr = 0
  pass = 0
  /** Pages queued for migration and not yet done. */
  pending = 0
  lastRefresh = -Infinity
  topology: Topology | undefined
  tierOf: Int16Array = new Int16Array(0)
  topTier = 0
  maxNode = 0
  /** Rate limiter: time at which the next batch may start, ms. */
  nextMigrateAt = 0

  constructor(
    readonly backend: Backend,
    readonly policy: Policy,
    readonly tunables: Tunables,
    readonly queue: Queue.Queue<MigrationPlan>,
    readonly events: PubSub.PubSub<DaemonEvent>,
    readonly accepted: ReadonlySet<string>
  ) {}

  setTopology(topology: Topology): void {
    this.topology = topology
    this.tierOf = tierTable(topology)
    this.topTier = Math.min(...topology.nodes.map((n) => n.tier))
    this.maxNode = this.tierOf.length - 1
  }
}
