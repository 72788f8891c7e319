/**
 * Control: the daemon as the server runs it. The stack (backend, policy, tunables)
 * lives as long as the server; the daemon's fibers run in a scope of their own, so
 * `stop` ends them (within one scan step) and `start` makes them again on the same
 * machine, policy state and tunables.
 *
 * What outlives a stop: the counters (they keep counting from where they were, as
 * Prometheus expects of a counter), the per-target scales set through the API
 * (applied again as the daemon finds each target), and the event stream (every event
 * of every run goes through the one hub). A daemon that crashes (a fiber died of a
 * defect) is shown as `crashed` with the reason, and can be started again.
 *
 * @since 0.1.0
 */
import * as SimBackend from "@kmm/backend-sim/SimBackend"
import type { Backend as BackendService } from "@kmm/core/Backend"
import { Backend } from "@kmm/core/Backend"
import * as Counters from "@kmm/core/Counters"
import * as Daemon from "@kmm/core/Daemon"
import type { BackendFailure, DaemonCrashed, PermissionDenied } from "@kmm/core/Errors"
import { InvalidTunable, UnknownTarget } from "@kmm/core/Errors"
import type { DaemonEvent } from "@kmm/core/Events"
import { Policy } from "@kmm/core/Policy"
import type * as Stack from "@kmm/core/Stack"
import type { Tunables as TunablesService } from "@kmm/core/Tunables"
import { Tunables } from "@kmm/core/Tunables"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { DaemonStatus, Target } from "./Api.js"
import { EventHub } from "./Events.js"

/**
 * The daemon under the server's control.
 *
 * @since 0.1.0
 */
export interface Control {
  /** The stack the server was started with. */
  readonly stack: Stack.Stack
  readonly backend: BackendService
  readonly tunables: TunablesService
  /** The simulator's own service, on the simulated backend. */
  readonly sim: Option.Option<SimBackend.Sim>
  readonly status: Effect.Effect<DaemonStatus>
  /** Starts the daemon; no change if it runs. */
  readonly start: Effect.Effect<DaemonStatus>
  /** Stops the daemon; no change if it does not run. */
  readonly stop: Effect.Effect<DaemonStatus>
  /** Counters since the server started (over every run of the daemon). */
  readonly counters: Effect.Effect<Counters.Counters>
  /** Pages queued for migration (0 when stopped). */
  readonly pending: Effect.Effect<number>
  readonly policyBytes: Effect.Effect<number>
  /** The daemon's targets while it runs; the backend's, with their kept scales, when it does not. */
  readonly targets: Effect.Effect<ReadonlyArray<Target>, BackendFailure | PermissionDenied>
  readonly getScale: (target: number) => Effect.Effect<number, UnknownTarget | BackendFailure | PermissionDenied>
  readonly setScale: (target: number, scale: number) => Effect.Effect<void, UnknownTarget | InvalidTunable | BackendFailure | PermissionDenied>
}

/**
 * The Control tag.
 *
 * @since 0.1.0
 */
export class DaemonControl extends Context.Tag("@kmm/server/DaemonControl")<DaemonControl, Control>() {}

interface Run {
  readonly scope: Scope.CloseableScope
  readonly daemon: Daemon.Daemon
}

const sum = (a: Counters.Counters, b: Counters.Counters): Counters.Counters =>
  Object.fromEntries(Counters.names.map((n) => [n, a[n] + b[n]])) as unknown as Counters.Counters

/** The check core's `Daemon.setScale` makes, for when no daemon runs. */
const checkScale = (target: number, scale: number): Effect.Effect<void, InvalidTunable> =>
  Number.isInteger(scale) && scale >= 0 && scale <= 10
    ? Effect.void
    : Effect.fail(new InvalidTunable({ knob: `scale of target ${target}`, value: scale, expected: "an integer from 0 to 10 (0 opts the target out)" }))

/**
 * Makes the control in the current scope, from the stack's services; starts the
 * daemon if `start` (default true).
 *
 * @since 0.1.0
 */
export const make = (
  stack: Stack.Stack,
  options: { readonly start?: boolean } = {}
): Effect.Effect<Control, never, BackendService | Policy | TunablesService | EventHub | Scope.Scope> =>
  Effect.gen(function* () {
    const parent = yield* Effect.scope
    const backend = yield* Backend
    const policy = yield* Policy
    const tunables = yield* Tunables
    const hub = yield* EventHub
    const sim = yield* Effect.serviceOption(SimBackend.Sim)
    const services = Context.make(Backend, backend).pipe(Context.add(Policy, policy), Context.add(Tunables, tunables))
    const lock = yield* Effect.makeSemaphore(1)

    let run: Run | undefined
    let status: DaemonStatus = { state: "stopped", since: yield* Clock.currentTimeMillis }
    let base = Counters.zero()
    const scales = new Map<number, number>()

    const announce = (next: DaemonStatus) =>
      Effect.suspend(() => {
        status = next
        return hub.publish({ _tag: "DaemonState", time: next.since, ...next })
      })

    /** Passes the daemon's events on, and applies kept scales to targets as they appear. */
    const forward = (daemon: Daemon.Daemon, queue: Queue.Dequeue<DaemonEvent>) =>
      Stream.fromQueue(queue).pipe(
        Stream.runForEach((event) =>
          Effect.gen(function* () {
            // Tunable changes are published by the control itself, running or not.
            if (event._tag === "TunablesChanged") return
            if (event._tag === "TargetGone") scales.delete(event.target)
            // A kept scale is in force before the target's appearance is announced.
            if (event._tag === "TargetAppeared") {
              const kept = scales.get(event.target)
              if (kept !== undefined) yield* Effect.ignore(daemon.setScale(event.target, kept))
            }
            yield* hub.publish(event)
          })
        )
      )

    /** Ends a run: closes its scope, keeps its counters. */
    const retire = (r: Run, next: Omit<DaemonStatus, "since">) =>
      Effect.gen(function* () {
        yield* Scope.close(r.scope, Exit.void)
        base = sum(base, yield* r.daemon.counters)
        run = undefined
        yield* announce({ ...next, since: yield* Clock.currentTimeMillis })
      })

    const onCrash = (r: Run, error: DaemonCrashed) =>
      lock.withPermits(1)(Effect.suspend(() => (run === r ? retire(r, { state: "crashed", reason: error.message }) : Effect.void)))

    const launch = Effect.gen(function* () {
      const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
      const daemon = yield* Daemon.make().pipe(Effect.provide(services), Scope.extend(scope))
      const queue = yield* daemon.subscribe.pipe(Scope.extend(scope))
      const r: Run = { scope, daemon }
      yield* Effect.forkIn(forward(daemon, queue), scope)
      // The crash is handled outside the run's scope, which it closes.
      yield* Effect.forkIn(
        Effect.flatMap(Effect.flip(daemon.failure), (e) => Effect.forkIn(onCrash(r, e), parent)),
        scope
      )
      run = r
      yield* announce({ state: "running", since: yield* Clock.currentTimeMillis })
    })

    const start = lock.withPermits(1)(Effect.suspend(() => (run === undefined ? launch : Effect.void))).pipe(Effect.zipRight(Effect.sync(() => status)))
    const stop = lock.withPermits(1)(Effect.suspend(() => (run === undefined ? Effect.void : retire(run, { state: "stopped" })))).pipe(
      Effect.zipRight(Effect.sync(() => status))
    )

    // Tunable changes, running or not.
    yield* tunables.changes.pipe(
      Stream.drop(1),
      Stream.runForEach((values) => Effect.flatMap(Clock.currentTimeMillis, (time) => hub.publish({ _tag: "TunablesChanged", time, tunables: values }))),
      Effect.forkScoped
    )
    // A stopped server leaves no daemon behind.
    yield* Effect.addFinalizer(() => lock.withPermits(1)(Effect.suspend(() => (run === undefined ? Effect.void : Scope.close(run.scope, Exit.void)))))

    const backendTarget = (target: number) =>
      Effect.flatMap(backend.targets, (ts) => {
        const t = ts.find((x) => x.id === target)
        return t === undefined ? Effect.fail(new UnknownTarget({ target })) : Effect.succeed(t)
      })

    const control: Control = {
      stack,
      backend,
      tunables,
      sim,
      status: Effect.sync(() => status),
      start,
      stop,
      counters: Effect.suspend(() => (run === undefined ? Effect.succeed({ ...base }) : Effect.map(run.daemon.counters, (c) => sum(base, c)))),
      pending: Effect.suspend(() => (run === undefined ? Effect.succeed(0) : run.daemon.pending)),
      policyBytes: policy.stateBytes,
      targets: Effect.suspend(() =>
        run === undefined
          ? Effect.map(backend.targets, (ts) => ts.map((t): Target => ({ id: t.id, name: t.name, pages: t.pages, scale: scales.get(t.id) ?? 1 })))
          : Effect.map(run.daemon.targets, (ts) =>
              ts.map((t): Target => ({ id: t.id, name: t.name, pages: t.pages, scale: t.scale, periodMs: t.periodMs, sweeps: t.sweeps, lastFound: t.lastFound }))
            )
      ),
      getScale: (target) =>
        Effect.suspend(() =>
          run === undefined ? Effect.map(backendTarget(target), () => scales.get(target) ?? 1) : run.daemon.getScale(target)
        ),
      setScale: (target, scale) =>
        lock.withPermits(1)(
          Effect.gen(function* () {
            if (run !== undefined) {
              yield* run.daemon.setScale(target, scale)
            } else {
              yield* checkScale(target, scale)
              yield* backendTarget(target)
              yield* hub.publish({ _tag: "TargetScale", time: yield* Clock.currentTimeMillis, target, scale })
            }
            scales.set(target, scale)
          })
        )
    }
    if (options.start ?? true) yield* start
    return control
  })

/**
 * The control as a layer, over the stack's services and the hub.
 *
 * @since 0.1.0
 */
export const layer = (
  stack: Stack.Stack,
  options: { readonly start?: boolean } = {}
): Layer.Layer<DaemonControl, never, BackendService | Policy | TunablesService | EventHub> => Layer.scoped(DaemonControl, make(stack, options))
