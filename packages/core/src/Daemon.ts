/**
 * The daemon: kmmscand's loop as Effect fibers, one per role, joined by a bounded
 * migration queue.
 *
 * - scanner: scan passes over the targets that are due (round-robin, scan-size budget,
 *   adaptive per-target period, initial delay, per-target scale), feeding the policy
 *   and queueing its plans;
 * - migrator: drains the queue in batches under the rate limit, with failure feedback;
 * - control: follows tunable changes at run time.
 *
 * Closing the scope (interrupting) stops all three within one scan step.
 *
 * ```ts
 * import { Daemon, Tunables, TestBackend, TestPolicy } from "@kmm/core"
 * import { Effect, Layer } from "effect"
 *
 * const stack = Daemon.layer.pipe(
 *   Layer.provide([TestBackend.layerTest({ targets: [{ pages: 1024 }] }), TestPolicy.layerTest, Tunables.layer()])
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import { Backend } from "./Backend.js"
import type { Counters } from "./Counters.js"
import { DaemonCrashed, InvalidTunable, UnknownTarget } from "./Errors.js"
import type { DaemonEvent } from "./Events.js"
import type { MigrationPlan } from "./MigrationPlan.js"
import { Policy } from "./Policy.js"
import type { TargetId } from "./Target.js"
import type { Topology } from "./Topology.js"
import { Tunables } from "./Tunables.js"
import { control } from "./internal/control.js"
import { migrator } from "./internal/migrator.js"
import { scanner } from "./internal/scanner.js"
import { DaemonState } from "./internal/state.js"

/**
 * What the daemon reports of one target.
 *
 * @since 0.1.0
 */
export interface TargetStatus {
  readonly id: TargetId
  readonly name: string
  readonly pages: number
  /** 0 = opted out, 1 = normal, up to 10. */
  readonly scale: number
  /** Current adaptive scan period, ms. */
  readonly periodMs: number
  /** When the next sweep may start or continue, ms of the daemon's clock. */
  readonly nextScanAt: number
  /** Where the current sweep resumes (virtual page). */
  readonly cursor: number
  /** Completed sweeps. */
  readonly sweeps: number
  /** Slow-tier accessed pages found in the last complete sweep. */
  readonly lastFound: number
}

/**
 * A running daemon.
 *
 * @since 0.1.0
 */
export interface Daemon {
  /** A copy of the counters now. */
  readonly counters: Effect.Effect<Counters>
  /** The targets the daemon knows now. */
  readonly targets: Effect.Effect<ReadonlyArray<TargetStatus>>
  /** The topology seen at the last pass (undefined before the first). */
  readonly topology: Effect.Effect<Topology | undefined>
  /** Pages queued for migration and not yet done. */
  readonly pending: Effect.Effect<number>
  /** Per-target scan scale, 0..10 (0 opts the target out); kept until the target is gone. */
  readonly setScale: (target: number, scale: number) => Effect.Effect<void, UnknownTarget | InvalidTunable>
  readonly getScale: (target: number) => Effect.Effect<number, UnknownTarget>
  /** A subscription to the daemon's events, for as long as the scope lives. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<DaemonEvent>, never, Scope.Scope>
  /** The live tunables. */
  readonly tunables: Tunables
  /** Bytes of state held by the policy. */
  readonly policyBytes: Effect.Effect<number>
  /** Waits until a fiber of the daemon dies of a defect, and fails with it. */
  readonly failure: Effect.Effect<never, DaemonCrashed>
}

/**
 * The Daemon tag.
 *
 * @since 0.1.0
 */
export const Daemon: Context.Tag<Daemon, Daemon> = Context.GenericTag<Daemon>("@kmm/core/Daemon")

/**
 * Options of `make`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Plans the migration queue holds before the scanner waits (default 1024). */
  readonly queueCapacity?: number
  /** Events buffered per subscriber; older ones are dropped for slow subscribers (default 4096). */
  readonly eventBuffer?: number
}

/**
 * Starts the daemon's fibers in the current scope and returns its handle.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<Daemon, never, Backend | Policy | Tunables | Scope.Scope> =>
  Effect.gen(function* () {
    const backend = yield* Backend
    const policy = yield* Policy
    const tunables = yield* Tunables
    const queue = yield* Effect.acquireRelease(Queue.bounded<MigrationPlan>(options.queueCapacity ?? 1024), Queue.shutdown)
    const events = yield* Effect.acquireRelease(PubSub.sliding<DaemonEvent>(options.eventBuffer ?? 4096), PubSub.shutdown)
    const st = new DaemonState(backend, policy, tunables, queue, events, new Set(policy.accepts))

    const crashed = yield* Deferred.make<never, DaemonCrashed>()
    const supervised = (role: string, fiber: Effect.Effect<unknown>) =>
      Effect.forkScoped(
        Effect.withSpan(fiber, `kmm.${role}`).pipe(
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.void
              : Deferred.fail(crashed, new DaemonCrashed({ role, reason: defectMessage(cause) }))
          )
        )
      )
    yield* supervised("scanner", scanner(st))
    yield* supervised("migrator", migrator(st))
    yield* supervised("control", control(st))

    const known = (target: number) =>
      Effect.suspend(() => {
        const t = st.targets.get(target as TargetId)
        return t === undefined ? Effect.fail(new UnknownTarget({ target })) : Effect.succeed(t)
      })

    const daemon: Daemon = {
      counters: Effect.sync(() => ({ ...st.counters })),
      targets: Effect.sync(() =>
        [...st.targets.values()].map((t) => ({
          id: t.id,
          name: t.name,
          pages: t.pages,
          scale: t.scale,
          periodMs: t.periodMs,
          nextScanAt: t.nextScanAt,
          cursor: t.cursor,
          sweeps: t.sweeps,
          lastFound: t.previousFound
        }))
      ),
      topology: Effect.sync(() => st.topology),
      pending: Effect.sync(() => st.pending),
      setScale: (target, scale) =>
        Effect.gen(function* () {
          if (!Number.isInteger(scale) || scale < 0 || scale > 10) {
            return yield* Effect.fail(new InvalidTunable({ knob: `scale of target ${target}`, value: scale, expected: "an integer from 0 to 10 (0 opts the target out)" }))
          }
          const t = yield* known(target)
          const now = yield* Clock.currentTimeMillis
          const was = t.scale
          t.scale = scale
          st.scales.set(t.id, scale)
          // Re-opting in (or a faster scale) takes effect from now, not after the old wait.
          if (scale > 0 && (was === 0 || scale > was)) t.nextScanAt = Math.min(t.nextScanAt, now + t.periodMs / scale)
          yield* PubSub.publish(events, { _tag: "TargetScale", time: now, target, scale })
        }),
      getScale: (target) => Effect.map(known(target), (t) => t.scale),
      subscribe: PubSub.subscribe(events),
      tunables,
      policyBytes: policy.stateBytes,
      failure: Deferred.await(crashed)
    }
    return daemon
  })

/**
 * The daemon as a layer: its fibers live as long as the layer's scope.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Daemon, never, Backend | Policy | Tunables> = Layer.scoped(Daemon, make())

/**
 * Runs the daemon until interrupted, or until one of its fibers dies of a defect.
 *
 * @since 0.1.0
 */
export const run: Effect.Effect<never, DaemonCrashed, Backend | Policy | Tunables> = Effect.scoped(
  Effect.flatMap(make(), (daemon) => daemon.failure)
)

const defectMessage = (cause: Cause.Cause<unknown>): string => {
  const first = Cause.squash(cause)
  return first instanceof Error ? first.message : String(first)
}
