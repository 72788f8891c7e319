/**
 * What `kmm run` shows while the daemon runs: one sample per second of the run's clock
 * (per node used and free, promotions, demotions and pages scanned per second, and on
 * the simulated backend the top-tier access share next to the oracle's), and the
 * summary at the end.
 *
 * On the simulated backend a sample is taken when the simulator closes a result
 * interval, so its shares and the daemon's counters cover the same second.
 */
import type * as SimBackend from "@kmm/backend-sim/SimBackend"
import type * as Results from "@kmm/backend-sim/Results"
import type { Backend } from "@kmm/core/Backend"
import type * as Counters from "@kmm/core/Counters"
import type * as Daemon from "@kmm/core/Daemon"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** One node in a sample. */
export interface NodeSample {
  readonly id: number
  readonly label: string
  readonly tier: number
  readonly capacityPages: number
  readonly usedPages: number
  readonly freePages: number
}

/** One second of a run. */
export interface Sample {
  readonly type: "sample"
  /** End of the interval, seconds since the start. */
  readonly t: number
  readonly intervalMs: number
  readonly pageSize: number
  readonly nodes: ReadonlyArray<NodeSample>
  readonly promotedPerSec: number
  readonly demotedPerSec: number
  readonly scannedPerSec: number
  readonly migrateFailedPerSec: number
  /** Daemon counters so far. */
  readonly totals: { readonly promoted: number; readonly demoted: number; readonly scanned: number; readonly migrateFailed: number }
  /** Simulated backend only: of the interval's accesses, the share served by the top tier; and the oracle's. */
  readonly topTierShare?: number
  readonly oracleShare?: number
  /** Simulated backend only: what happened in the machine (a hot-set shift, a task exit). */
  readonly events?: ReadonlyArray<string>
}

/** The state of a run at its end: counters, policy state, and the simulator's summary. */
export interface Snapshot {
  readonly counters: Counters.Counters
  readonly policyStateBytes: number
  /** Simulated backend only: the simulator's summary of the whole run. */
  readonly sim?: {
    readonly topTierShare: number
    readonly oracleShare: number
    readonly shareOfOracle: number
    readonly meanLatencyNs: number
    readonly oracleLatencyNs: number
    readonly promoted: number
    readonly demoted: number
    readonly pingPong: number
    readonly migrateFailed: number
    readonly recoveries: ReadonlyArray<Results.Recovery>
  }
}

/** The end of a run. */
export interface Summary extends Snapshot {
  readonly type: "summary"
  /** It ended by itself, reached its duration, or was stopped (Ctrl-C). */
  readonly reason: "done" | "time-up" | "aborted"
  /** Run time on its clock, ms. */
  readonly durationMs: number
  readonly wallMs: number
}

const promotedOf = (c: Counters.Counters) => c.migrated - c.demoted

/** Builds a sample from the counters before and after an interval. */
const sample = (
  backend: Backend,
  before: Counters.Counters,
  after: Counters.Counters,
  t: number,
  intervalMs: number,
  result: Results.IntervalResult | undefined
): Effect.Effect<Sample> =>
  Effect.map(Effect.orElseSucceed(backend.topology, () => undefined), (topology): Sample => {
    const per = (a: number, b: number) => (intervalMs > 0 ? ((a - b) * 1000) / intervalMs : 0)
    const nodes = (topology?.nodes ?? []).map((n) => ({
      id: n.id,
      label: n.label ?? `node${n.id}`,
      tier: n.tier,
      capacityPages: n.capacityPages,
      usedPages: n.capacityPages - n.freePages,
      freePages: n.freePages
    }))
    return {
      type: "sample",
      t,
      intervalMs,
      pageSize: topology?.pageSize ?? 4096,
      nodes,
      promotedPerSec: per(promotedOf(after), promotedOf(before)),
      demotedPerSec: per(after.demoted, before.demoted),
      scannedPerSec: per(after.pages_scanned, before.pages_scanned),
      migrateFailedPerSec: per(after.migrate_failed, before.migrate_failed),
      totals: { promoted: promotedOf(after), demoted: after.demoted, scanned: after.pages_scanned, migrateFailed: after.migrate_failed },
      ...(result === undefined
        ? {}
        : {
            topTierShare: result.topTierShare,
            oracleShare: result.oracleShare,
            events: result.events.map((e) => `${e.kind} ${e.subject}: ${e.detail}`)
          })
    }
  })

/**
 * Calls `onSample` once a second, for as long as it runs: at each of the simulator's
 * result intervals when `sim` is given, else every second of the clock.
 */
export const watch = (
  daemon: Daemon.Daemon,
  backend: Backend,
  sim: Option.Option<SimBackend.Sim>,
  onSample: (s: Sample) => Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.gen(function* () {
    let before = yield* daemon.counters
    if (Option.isSome(sim)) {
      return yield* Stream.runForEach(sim.value.results, (r) =>
        Effect.gen(function* () {
          const after = yield* daemon.counters
          const s = yield* sample(backend, before, after, r.endMs / 1000, r.endMs - r.startMs, r)
          before = after
          yield* onSample(s)
        })
      )
    }
    const start = yield* Clock.currentTimeMillis
    let last = start
    while (true) {
      yield* Effect.sleep("1 second")
      const now = yield* Clock.currentTimeMillis
      const after = yield* daemon.counters
      const s = yield* sample(backend, before, after, (now - start) / 1000, now - last, undefined)
      before = after
      last = now
      yield* onSample(s)
    }
  })

/** The state of a run now (taken as it ends, before its scope closes). */
export const snapshot = (daemon: Daemon.Daemon, sim: Option.Option<SimBackend.Sim>): Effect.Effect<Snapshot> =>
  Effect.gen(function* () {
    const counters = yield* daemon.counters
    const policyStateBytes = yield* daemon.policyBytes
    if (Option.isNone(sim)) return { counters, policyStateBytes }
    const s = yield* sim.value.summary
    return {
      counters,
      policyStateBytes,
      sim: {
        topTierShare: s.topTierShare,
        oracleShare: s.oracleShare,
        shareOfOracle: s.shareOfOracle,
        meanLatencyNs: s.meanLatencyNs,
        oracleLatencyNs: s.oracleLatencyNs,
        promoted: s.promoted,
        demoted: s.demoted,
        pingPong: s.pingPong,
        migrateFailed: s.migrateFailed,
        recoveries: s.recoveries
      }
    }
  })
