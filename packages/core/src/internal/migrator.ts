/**
 * The migrator fiber: drains the migration queue in batches under the rate limit,
 * counts every page as migrated or failed, and feeds outcomes back: a no-memory
 * failure backs the destination off for a while, a target that is gone is dropped.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type { MigrationOutcome, MigrationPlan } from "../MigrationPlan.js"
import { slice, Status, summarize, uniformOutcome } from "../MigrationPlan.js"
import { dropTarget } from "./scanner.js"
import type { DaemonState } from "./state.js"

/** Takes plans off the queue until interrupted. */
export const migrator = (st: DaemonState): Effect.Effect<never> =>
  Effect.forever(Effect.flatMap(Queue.take(st.queue), (plan) => migratePlan(st, plan)))

/** Migrates one plan, batch by batch. */
export const migratePlan = (st: DaemonState, plan: MigrationPlan): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let from = 0; from < plan.count; ) {
      const t = yield* st.tunables.get
      const to = Math.min(plan.count, from + t.migrateBatchPages)
      yield* migrateBatch(st, slice(plan, from, to), t.migrateRateMBps, t.noMemoryBackoffMs)
      from = to
    }
  })

const migrateBatch = (st: DaemonState, batch: MigrationPlan, rateMBps: number, backoffMs: number) =>
  Effect.gen(function* () {
    const pageSize = st.topology?.pageSize ?? 4096
    let now = yield* Clock.currentTimeMillis
    let outcome: MigrationOutcome
    if (!st.targets.has(batch.target)) {
      outcome = uniformOutcome(batch.count, Status.GONE)
    } else if ((st.backoffUntil.get(batch.destination) ?? -Infinity) > now) {
      outcome = uniformOutcome(batch.count, Status.SKIPPED)
    } else {
      // Rate limit: each batch reserves its share of time at the limit.
      if (st.nextMigrateAt > now) {
        yield* Effect.sleep(Duration.millis(st.nextMigrateAt - now))
        now = yield* Clock.currentTimeMillis
      }
      st.nextMigrateAt = Math.max(now, st.nextMigrateAt) + ((batch.count * pageSize) / (rateMBps * 1024 * 1024)) * 1000
      outcome = yield* st.backend.migrate(batch).pipe(
        Effect.withSpan("kmm.migrate", {
          attributes: { target: batch.target, destination: batch.destination, pages: batch.count, direction: batch.direction },
          captureStackTrace: false
        }),
        Effect.catchAll((e) => {
          if (e._tag === "TargetGone") {
            return dropTarget(st, batch.target, now, "migrate").pipe(Effect.as(uniformOutcome(batch.count, Status.GONE)))
          }
          return PubSub.publish(st.events, { _tag: "BackendError", time: now, operation: "migrate", message: e.message }).pipe(
            Effect.as(uniformOutcome(batch.count, e._tag === "PermissionDenied" ? Status.DENIED : Status.INVALID))
          )
        })
      )
    }
    const s = summarize(batch, outcome)
    st.pending -= batch.count
    if (s.noMemory > 0) st.backoffUntil.set(batch.destination, now + backoffMs)
    st.counts.bump("migrated", s.moved)
    st.counts.bump("migrate_failed", s.failed)
    st.counts.bump("bytes_migrated", s.moved * pageSize)
    if (batch.direction === "demote") st.counts.bump("demoted", s.moved)
    yield* st.counts.flush
    yield* st.policy.feedback(batch, outcome)
    yield* PubSub.publish(st.events, {
      _tag: "Migrated",
      time: now,
      target: batch.target,
      destination: batch.destination,
      direction: batch.direction,
      moved: s.moved,
      failed: s.failed
    })
  })
