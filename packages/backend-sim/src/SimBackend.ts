/**
 * The simulator as a kmm backend. `layer(config)` provides core's `Backend` (what the
 * daemon drives), core's `GroundTruth` (the true per-page rates) and this package's
 * `Sim` (results stream and summary, the oracle, placements and fault controls), the
 * way `@effect/sql-pg` provides both `SqlClient` and `PgClient`.
 *
 * Virtual time is Effect's `Clock`: under `TestClock` or core's `VirtualTime` an hour
 * of simulation takes as long as its work. Scans and migrations take their cost in
 * virtual time (`costs.charge: "sleep"`, the default) or only count it ("account").
 *
 * ```ts
 * import { SimBackend } from "@kmm/backend-sim"
 * import { Daemon, TestPolicy, Tunables } from "@kmm/core"
 * import { Effect, Layer, Stream } from "effect"
 *
 * const stack = Layer.mergeAll(SimBackend.layer({ preset: "small" }), TestPolicy.layerTest, Tunables.layer())
 * const program = Effect.gen(function* () {
 *   const sim = yield* SimBackend.Sim
 *   yield* Effect.fork(Daemon.run)
 *   yield* sim.results.pipe(Stream.take(60), Stream.runForEach((r) => Effect.log(r.topTierShare)))
 * }).pipe(Effect.provide(stack))
 * ```
 *
 * @since 0.1.0
 */
import type { Backend as BackendService, Capabilities, ScanResult } from "@kmm/core/Backend"
import { Backend } from "@kmm/core/Backend"
import { BackendFailure, TargetGone } from "@kmm/core/Errors"
import type { MappingRates } from "@kmm/core/GroundTruth"
import { GroundTruth } from "@kmm/core/GroundTruth"
import type { MigrationOutcome, MigrationPlan } from "@kmm/core/MigrationPlan"
import type { TargetId } from "@kmm/core/Target"
import { targetId } from "@kmm/core/Target"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { parseBytes } from "./internal/size.js"
import { Machine } from "./Machine.js"
import type { Oracle } from "./Machine.js"
import type { IntervalResult, NodeOccupancy, Summary } from "./Results.js"
import type { Resolved, SimConfigInput, TaskConfigInput } from "./SimConfig.js"
import { decode, resolveTask, SimConfigError, TaskConfig } from "./SimConfig.js"
import * as Trace from "./Trace.js"

/**
 * The simulator's own service: results, the oracle, the truth, and fault injection.
 *
 * @since 0.1.0
 */
export interface Sim {
  /** The resolved configuration. */
  readonly config: Resolved
  /** The synchronous machine underneath (for inspection; prefer the effects below). */
  readonly machine: Machine
  /** Virtual time since the simulation started, ms. */
  readonly now: Effect.Effect<number>
  /** One result per interval (`results.intervalMs`), from when the stream is run. */
  readonly results: Stream.Stream<IntervalResult>
  /** The closed intervals so far (up to `results.historyLimit`). */
  readonly history: Effect.Effect<ReadonlyArray<IntervalResult>>
  /** Totals from the start to now, with recoveries after phase changes. */
  readonly summary: Effect.Effect<Summary>
  /** The oracle for the current rates and capacities. */
  readonly oracle: Effect.Effect<Oracle>
  /** The oracle's node for each page of a task (page order; -1 where it has no room). */
  readonly oraclePlacement: (target: number) => Effect.Effect<Int8Array, TargetGone>
  /** A copy of a task's node per page (page order; -1 = not present). */
  readonly placement: (target: number) => Effect.Effect<Int8Array, TargetGone>
  /** True accesses per second of every page of a task, per mapping. */
  readonly rates: (target: number) => Effect.Effect<ReadonlyArray<MappingRates>, TargetGone>
  /** Virtual page number of a task's page-order index. */
  readonly vpnOf: (target: number, index: number) => Effect.Effect<number, TargetGone>
  /** Pages used and capacity per node. */
  readonly occupancy: Effect.Effect<ReadonlyArray<NodeOccupancy>>
  /** Makes a task exit now. */
  readonly exitTask: (target: number) => Effect.Effect<void, TargetGone>
  /** Adds a task (validated like the config's tasks); returns its id. */
  readonly addTask: (task: TaskConfigInput) => Effect.Effect<TargetId, SimConfigError | Trace.TraceError>
  /** Sets a node's capacity now (bytes, or a size string); pages above it move off or out. */
  readonly setCapacity: (node: number, capacity: number | string) => Effect.Effect<void, SimConfigError>
  /** Sets the injected migration failure rate (0..1). */
  readonly setMigrateFailureRate: (rate: number) => Effect.Effect<void, SimConfigError>
}

/**
 * The Sim tag.
 *
 * @since 0.1.0
 */
export const Sim: Context.Tag<Sim, Sim> = Context.GenericTag<Sim>("@kmm/backend-sim/Sim")

/**
 * Loads the trace files a configuration names. O(size of the files).
 *
 * @since 0.1.0
 */
export const loadTraces = (config: Resolved): Effect.Effect<ReadonlyMap<string, Trace.Trace>, Trace.TraceError> =>
  Effect.gen(function* () {
    const files = new Set<string>()
    for (const t of config.tasks) for (const p of t.phases) if (p.workload.kind === "trace" && p.workload.file !== undefined) files.add(p.workload.file)
    const traces = new Map<string, Trace.Trace>()
    for (const file of files) traces.set(file, yield* Trace.load(file))
    return traces
  })

const capabilities = (config: Resolved): Capabilities => ({
  sources: [
    { kind: "accessed-bit", name: "sim", available: true },
    config.observe.softDirty
      ? { kind: "soft-dirty", name: "sim", available: true }
      : { kind: "soft-dirty", name: "sim", available: false, reason: "turned off; set observe.softDirty: true" },
    config.observe.samplesPerScan > 0
      ? { kind: "sampled-access", name: "sim-hint-fault", available: true }
      : { kind: "sampled-access", name: "sim-hint-fault", available: false, reason: "turned off; set observe.samplesPerScan above 0" },
    { kind: "region-sample", name: "sim", available: false, reason: "the simulator does not model DAMON regions" }
  ],
  canDemote: true,
  reportsPfn: false
})

/**
 * Builds the simulator in the current scope: the backend, the Sim service, and the
 * fiber that closes a result interval every `results.intervalMs`.
 *
 * @since 0.1.0
 */
export const make = (
  config: SimConfigInput = {}
): Effect.Effect<{ readonly backend: BackendService; readonly sim: Sim }, SimConfigError | Trace.TraceError, Scope.Scope> =>
  Effect.gen(function* () {
    const resolved = yield* decode(config)
    const traces = yield* loadTraces(resolved)
    const startMs = yield* Clock.currentTimeMillis
    const machine = yield* Machine.make(resolved, { startMs, traces })
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<IntervalResult>(4096), PubSub.shutdown)

    const ticker = Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(Duration.millis(resolved.results.intervalMs))
        const now = yield* Clock.currentTimeMillis
        yield* PubSub.publish(pubsub, machine.closeInterval(now))
      }
    })
    yield* Effect.forkScoped(Effect.withSpan(ticker, "kmm.sim.results"))

    /** Runs `f` at the clock's now. */
    const at = <A>(f: (now: number) => A): Effect.Effect<A> => Effect.map(Clock.currentTimeMillis, f)
    const charge = (costNs: number): Effect.Effect<void> =>
      resolved.costs.charge === "sleep" && costNs > 0 ? Effect.sleep(Duration.millis(costNs / 1e6)) : Effect.void
    const gone = (target: number, operation: string) => new TargetGone({ target, operation })
    const orGone = <A>(target: number, operation: string, f: (now: number) => A | undefined): Effect.Effect<A, TargetGone> =>
      Effect.flatMap(at(f), (a) => (a === undefined ? Effect.fail(gone(target, operation)) : Effect.succeed(a)))

    const backend: BackendService = {
      name: "sim",
      capabilities: Effect.succeed(capabilities(resolved)),
      topology: at((now) => machine.topology(now)),
      targets: at((now) => machine.targets(now)),
      scan: (target, from, budget) =>
        Effect.suspend((): Effect.Effect<ScanResult, TargetGone | BackendFailure> => {
          if (!Number.isFinite(from) || from < 0 || !(budget >= 0)) {
            return Effect.fail(new BackendFailure({ operation: "scan", reason: `invalid cursor ${from} or budget ${budget}`, hint: "from and budget are non-negative page counts" }))
          }
          return orGone(target, "scan", (now) => machine.scan(target, from, budget, now)).pipe(
            Effect.tap((step) => charge(step.costNs)),
            Effect.map((step) => step.result)
          )
        }),
      migrate: (plan: MigrationPlan) =>
        orGone(plan.target, "migrate", (now) => machine.migrate(plan, now)).pipe(
          Effect.tap((step) => charge(step.costNs)),
          Effect.map((step): MigrationOutcome => step.outcome)
        )
    }

    const taskIds = new Set(resolved.tasks.map((t) => t.id))
    const decodeTask = Schema.decodeUnknownEither(TaskConfig, { onExcessProperty: "error" })
    const configError = (path: string, reason: string) => new SimConfigError({ path, reason })

    const sim: Sim = {
      config: resolved,
      machine,
      now: at((now) => now - startMs),
      results: Stream.fromPubSub(pubsub),
      history: Effect.sync(() => [...machine.history()]),
      summary: at((now) => machine.summary(now)),
      oracle: at((now) => machine.oracle(now)),
      oraclePlacement: (target) => orGone(target, "oracle placement", (now) => machine.oraclePlacement(target, now)),
      placement: (target) => orGone(target, "placement", (now) => machine.placement(target, now)),
      rates: (target) => orGone(target, "rates", (now) => machine.rates(target, now)),
      vpnOf: (target, index) => orGone(target, "vpnOf", () => machine.vpnOf(target, index)),
      occupancy: at((now) => machine.occupancy(now)),
      exitTask: (target) =>
        Effect.flatMap(at((now) => machine.exitTask(target, now)), (ok) => (ok ? Effect.void : Effect.fail(gone(target, "exit")))),
      addTask: (input) =>
        Effect.gen(function* () {
          const decoded = decodeTask(input)
          if (Either.isLeft(decoded)) return yield* Effect.fail(configError("task", decoded.left.message))
          const spec = yield* Effect.try({
            try: () => resolveTask(decoded.right, Math.max(0, ...taskIds), { pageSize: resolved.pageSize, nodes: resolved.nodes, ids: new Set(taskIds) }, "task"),
            catch: (e) => (e instanceof SimConfigError ? e : configError("task", String(e)))
          })
          const files = yield* loadTraces({ ...resolved, tasks: [spec] })
          const now = yield* Clock.currentTimeMillis
          yield* machine.addTask(spec, now, files)
          taskIds.add(spec.id)
          return targetId(spec.id)
        }),
      setCapacity: (node, capacity) =>
        Effect.gen(function* () {
          if (!Number.isInteger(node) || node < 0 || node >= resolved.nodes.length) {
            return yield* Effect.fail(configError("node", `no node ${node} (nodes are 0..${resolved.nodes.length - 1})`))
          }
          const bytes = typeof capacity === "number" ? (Number.isSafeInteger(capacity) && capacity >= 0 ? capacity : undefined) : parseBytes(capacity)
          if (bytes === undefined) return yield* Effect.fail(configError("capacity", `expected bytes or a size such as "2GiB", found ${JSON.stringify(capacity)}`))
          const now = yield* Clock.currentTimeMillis
          machine.setCapacity(node, Math.floor(bytes / resolved.pageSize), now)
        }),
      setMigrateFailureRate: (rate) =>
        rate >= 0 && rate <= 1 ? Effect.sync(() => machine.setMigrateFailureRate(rate)) : Effect.fail(configError("migrateFailureRate", `expected 0..1, found ${rate}`))
    }
    return { backend, sim }
  })

const truth = (sim: Sim): GroundTruth => ({
  rates: (target: TargetId) => Effect.orElseSucceed(sim.rates(target), (): ReadonlyArray<MappingRates> => []),
  targets: Effect.map(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => sim.machine.targets(now))), (ts) => ts.map((t) => t.id))
})

/**
 * The simulator as a layer: provides `Backend`, `GroundTruth` and `Sim`. The machine
 * lives, and its result intervals tick, as long as the layer's scope.
 *
 * @since 0.1.0
 */
export const layer = (config: SimConfigInput = {}): Layer.Layer<Backend | GroundTruth | Sim, SimConfigError | Trace.TraceError> =>
  Layer.scopedContext(
    Effect.map(make(config), ({ backend, sim }) => Context.make(Backend, backend).pipe(Context.add(Sim, sim), Context.add(GroundTruth, truth(sim))))
  )

/**
 * `layer` with its configuration read from Effect's `Config` (e.g. a config provider
 * fed by a file or the environment).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<SimConfigInput>
): Layer.Layer<Backend | GroundTruth | Sim, SimConfigError | Trace.TraceError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))
