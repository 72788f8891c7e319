/**
 * One bench cell: a policy on a workload of the simulated backend, composed with
 * core's `Stack` (so a policy named by package works as in `kmm run`), run by core's
 * daemon in virtual time as fast as possible, sampled once per simulated second.
 */
import * as SimBackend from "@kmm/backend-sim/SimBackend"
import type * as Config from "@kmm/core/Config"
import * as Daemon from "@kmm/core/Daemon"
import * as Stack from "@kmm/core/Stack"
import * as VirtualTime from "@kmm/core/VirtualTime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Builtins from "../Builtins.js"
import * as Figures from "./Figures.js"
import * as Workloads from "./Workloads.js"

/** Everything a cell needs; plain data, so it crosses to a worker thread. */
export interface Spec {
  /** Policy: a built-in name or a package name. */
  readonly policy: string
  readonly workload: string
  readonly seed: number
  readonly durationMs: number
  /** The config file's content (tunables, and options of the policy it names). */
  readonly config: Config.StackConfig
  readonly file?: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly set: ReadonlyArray<string>
  /** Folders to look plug-in packages up from. */
  readonly resolveFrom: ReadonlyArray<string>
}

/** A finished cell. */
export interface Result extends Figures.Figures {
  readonly policy: string
  readonly workload: string
  readonly seed: number
  readonly durationMs: number
  readonly policyStateBytes: number
  /** After each workload change (a hot-set shift): scans and seconds back to 90 % of the oracle. */
  readonly recoveries: ReadonlyArray<Figures.Recovery>
  readonly wallMs: number
  readonly series: ReadonlyArray<Figures.Point>
}

/** The stack of a cell: its workload's simulated machine, its policy, the tunables of every cell. */
export const stack = (spec: Spec): Effect.Effect<Stack.Stack, Stack.StackError> =>
  Stack.resolve(
    { ...spec.config, backend: { name: Builtins.defaults.backend, options: Workloads.simOptions(spec.workload as Workloads.Workload["name"], spec.seed) } },
    {
      builtins: Builtins.builtins,
      defaults: Builtins.defaults,
      ...(spec.file === undefined ? {} : { file: spec.file }),
      policy: spec.policy,
      env: spec.env,
      set: spec.set,
      resolveFrom: spec.resolveFrom
    }
  )

/** The measured part of a cell: per-second points and the simulator's summary. */
const measure = (durationMs: number) =>
  Effect.gen(function* () {
    // Stack.layer keeps what the backend's layer provides: on the simulated backend, its Sim service.
    const sim = yield* Effect.flatMap(Effect.serviceOption(SimBackend.Sim), (o) =>
      Option.isSome(o) ? Effect.succeed(o.value) : Effect.dieMessage("the bench's backend is not the simulated one")
    )
    const intervals = Math.ceil(durationMs / sim.config.results.intervalMs)
    const daemon = yield* Daemon.make()
    /** Sweeps per target, kept after a target exits. */
    const sweeps = new Map<number, number>()
    const series: Array<Figures.Point> = []
    yield* sim.results.pipe(
      Stream.take(intervals),
      Stream.runForEach((r) =>
        Effect.map(daemon.targets, (targets) => {
          for (const t of targets) sweeps.set(t.id, t.sweeps)
          let scans = 0
          for (const n of sweeps.values()) scans += n
          series.push({ t: r.endMs / 1000, share: r.topTierShare, oracle: r.oracleShare, scans, promoted: r.promoted, demoted: r.demoted, pingPong: r.pingPong })
        })
      )
    )
    return { series, summary: yield* sim.summary, policyStateBytes: yield* daemon.policyBytes }
  }).pipe(Effect.scoped)

/** Runs a cell to its end. Rejects with the stack's error when the cell cannot be composed. */
export const run = async (spec: Spec): Promise<Result> => {
  const s = await Effect.runPromise(Effect.either(stack(spec)))
  if (s._tag === "Left") throw s.left
  const t0 = performance.now()
  const outcome = await VirtualTime.make().run(measure(spec.durationMs).pipe(Effect.provide(Stack.layer(s.right))))
  const wallMs = performance.now() - t0
  if (outcome.exit._tag === "Failure") {
    const failure = Cause.failureOption(outcome.exit.cause)
    throw Option.isSome(failure) ? failure.value : new Error(`${spec.policy} on ${spec.workload}: ${Cause.pretty(outcome.exit.cause)}`)
  }
  const { series, summary, policyStateBytes } = outcome.exit.value
  return {
    policy: spec.policy,
    workload: spec.workload,
    seed: spec.seed,
    durationMs: spec.durationMs,
    ...Figures.compute(series, summary),
    policyStateBytes,
    recoveries: summary.recoveries.map((r) => Figures.recovery(series, r)),
    wallMs,
    series
  }
}
