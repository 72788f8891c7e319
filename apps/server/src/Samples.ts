/**
 * Samples: one a second, what the dashboard charts. Per node used and free pages,
 * promotions, demotions and pages scanned per second, and on the simulated backend
 * the top-tier access share next to the oracle's. Each is published as a `Sample`
 * event and kept in a bounded history (`historyLimit`, the last ten minutes by
 * default) that `GET /api/samples` returns.
 *
 * On the simulated backend a sample is taken when the simulator closes a result
 * interval, so its shares and the counters cover the same second; on other backends
 * every second of the clock.
 *
 * @since 0.1.0
 */
import type * as Results from "@kmm/backend-sim/Results"
import type * as Counters from "@kmm/core/Counters"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Sample } from "./Api.js"
import type { Control } from "./Control.js"
import { DaemonControl } from "./Control.js"
import { EventHub } from "./Events.js"

/**
 * The recent samples.
 *
 * @since 0.1.0
 */
export interface Samples {
  /** Oldest first. */
  readonly history: Effect.Effect<ReadonlyArray<Sample>>
  readonly latest: Effect.Effect<Option.Option<Sample>>
}

/**
 * The Samples tag.
 *
 * @since 0.1.0
 */
export class SampleHistory extends Context.Tag("@kmm/server/SampleHistory")<SampleHistory, Samples>() {}

const promotedOf = (c: Counters.Counters) => c.migrated - c.demoted

/**
 * A sample from the counters before and after an interval, the topology now, and the
 * simulator's interval result if any.
 *
 * @since 0.1.0
 */
export const sample = (
  control: Control,
  before: Counters.Counters,
  after: Counters.Counters,
  time: number,
  intervalMs: number,
  result: Results.IntervalResult | undefined
): Effect.Effect<Sample> =>
  Effect.map(Effect.orElseSucceed(control.backend.topology, () => undefined), (topology): Sample => {
    const per = (a: number, b: number) => (intervalMs > 0 ? ((a - b) * 1000) / intervalMs : 0)
    const finite = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x : undefined)
    const top = finite(result?.topTierShare)
    const oracle = finite(result?.oracleShare)
    return {
      _tag: "Sample",
      time,
      intervalMs,
      pageSize: topology?.pageSize ?? 4096,
      nodes: (topology?.nodes ?? []).map((n) => ({
        id: n.id,
        label: n.label ?? `node${n.id}`,
        tier: n.tier,
        capacityPages: n.capacityPages,
        usedPages: n.capacityPages - n.freePages,
        freePages: n.freePages
      })),
      promotedPerSec: per(promotedOf(after), promotedOf(before)),
      demotedPerSec: per(after.demoted, before.demoted),
      scannedPerSec: per(after.pages_scanned, before.pages_scanned),
      migrateFailedPerSec: per(after.migrate_failed, before.migrate_failed),
      counters: after,
      ...(top === undefined ? {} : { topTierShare: top }),
      ...(oracle === undefined ? {} : { oracleShare: oracle })
    }
  })

/**
 * Starts sampling in the current scope.
 *
 * @since 0.1.0
 */
export const make = (historyLimit: number): Effect.Effect<Samples, never, DaemonControl | EventHub | Scope.Scope> =>
  Effect.gen(function* () {
    const control = yield* DaemonControl
    const hub = yield* EventHub
    const ring: Array<Sample> = []
    let before = yield* control.counters

    const record = (intervalMs: number, result: Results.IntervalResult | undefined) =>
      Effect.gen(function* () {
        const after = yield* control.counters
        const s = yield* sample(control, before, after, yield* Clock.currentTimeMillis, intervalMs, result)
        before = after
        ring.push(s)
        if (ring.length > historyLimit) ring.splice(0, ring.length - historyLimit)
        yield* hub.publish(s)
      })

    const loop = Option.match(control.sim, {
      onSome: (sim) => Stream.runForEach(sim.results, (r) => record(r.endMs - r.startMs, r)),
      onNone: () =>
        Effect.gen(function* () {
          let last = yield* Clock.currentTimeMillis
          while (true) {
            yield* Effect.sleep("1 second")
            const now = yield* Clock.currentTimeMillis
            yield* record(now - last, undefined)
            last = now
          }
        })
    })
    yield* Effect.forkScoped(Effect.withSpan(loop, "kmm.server.sampler"))

    return {
      history: Effect.sync(() => ring.slice()),
      latest: Effect.sync(() => Option.fromNullable(ring[ring.length - 1]))
    }
  })

/**
 * Sampling as a layer.
 *
 * @since 0.1.0
 */
export const layer = (historyLimit: number): Layer.Layer<SampleHistory, never, DaemonControl | EventHub> =>
  Layer.scoped(SampleHistory, make(historyLimit))
