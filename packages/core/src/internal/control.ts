/**
 * The control fiber: follows tunable changes while the daemon runs, publishes them,
 * and brings every target's adaptive period within new bounds at once.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import type { DaemonState } from "./state.js"

export const control = (st: DaemonState): Effect.Effect<void> =>
  st.tunables.changes.pipe(
    Stream.drop(1),
    Stream.runForEach((t) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        for (const target of st.targets.values()) {
          target.periodMs = Math.min(t.scanPeriodMaxMs, Math.max(t.scanPeriodMinMs, target.periodMs))
        }
        yield* PubSub.publish(st.events, { _tag: "TunablesChanged", time: now, tunables: t })
      })
    )
  )
