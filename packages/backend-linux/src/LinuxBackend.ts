/**
 * The Linux host as a kmm backend. `layer(config)` provides core's `Backend` (what the
 * daemon drives) and this package's `Linux` service (the chosen source, what was
 * detected, the host's memory map), the way `@effect/sql-pg` provides both `SqlClient`
 * and `PgClient`.
 *
 * - targets: processes from /proc (all, a pid list, or filters), each with its
 *   scannable footprint from /proc/PID/maps;
 * - topology: nodes and tiers from sysfs, re-read at every call;
 * - scan: /proc/PID/pagemap in batched reads, the node of each present page (move_pages
 *   query, or PFN to memory block), accessed bits from the chosen source;
 * - migrate: move_pages(2) through the native addon, on the thread pool.
 *
 * ```ts
 * import { LinuxBackend } from "@kmm/backend-linux"
 * import { Daemon, TestPolicy, Tunables } from "@kmm/core"
 * import { Effect, Layer } from "effect"
 *
 * const stack = Layer.mergeAll(LinuxBackend.layer({ targets: { comm: "^redis" } }), TestPolicy.layerTest, Tunables.layer())
 * Effect.runFork(Daemon.run.pipe(Effect.provide(stack)))
 * ```
 *
 * @since 0.1.0
 */
import type { Backend as BackendService, Capabilities } from "@kmm/core/Backend"
import { Backend } from "@kmm/core/Backend"
import { BackendFailure, PermissionDenied, TargetGone } from "@kmm/core/Errors"
import type { MigrationPlan } from "@kmm/core/MigrationPlan"
import type { Target } from "@kmm/core/Target"
import { targetId } from "@kmm/core/Target"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Damon from "./Damon.js"
import type { Host } from "./HostTopology.js"
import * as HostTopology from "./HostTopology.js"
import * as IdlePage from "./IdlePage.js"
import type { NodeSource } from "./internal/engine.js"
import { Engine } from "./internal/engine.js"
import * as host from "./internal/host.js"
import type { LinuxConfigInput, Resolved } from "./LinuxConfig.js"
import * as LinuxConfig from "./LinuxConfig.js"
import * as Maps from "./Maps.js"
import * as MovePages from "./MovePages.js"
import * as Pagemap from "./Pagemap.js"
import * as Processes from "./Processes.js"
import * as Sources from "./Sources.js"

/**
 * This backend's own service.
 *
 * @since 0.1.0
 */
export interface Linux {
  readonly config: Resolved
  /** The accessed-bit source scans report from. */
  readonly source: Sources.SourceId | "none"
  /** How the node of a page is found. */
  readonly nodeSource: NodeSource
  /** Every source as detected when the backend started. */
  readonly detected: ReadonlyArray<Sources.Detected>
  /** Whether scans see page frame numbers. */
  readonly pfnVisible: boolean
  /** The move_pages addon: available, or why not. */
  readonly migration: { readonly available: boolean; readonly reason?: string }
  /** The host's nodes, tiers and memory blocks now. */
  readonly host: Effect.Effect<Host, BackendFailure>
  /** DAMON sources: reads the kdamond's regions now (scans use the latest read; they are read every aggregation interval while scans run). */
  readonly refreshRegions: Effect.Effect<void, PermissionDenied | BackendFailure>
  /**
   * A scan step like `Backend.scan`, whose chunks come back even without an
   * accessed-bit source (for presence and nodes, as `Inspect` uses them): their accessed
   * bits then mean nothing. `Backend.scan` leaves such chunks out, so policies are never
   * told that pages were not accessed when no one looked.
   */
  readonly scan: BackendService["scan"]
  /** Processes with scan state (pagemap open). */
  readonly tracked: Effect.Effect<ReadonlyArray<number>>
}

/**
 * The Linux tag.
 *
 * @since 0.1.0
 */
export const Linux: Context.Tag<Linux, Linux> = Context.GenericTag<Linux>("@kmm/backend-linux/Linux")

/** Why the backend could not start. */
const startFailure = (reason: string, hint?: string) => new BackendFailure({ operation: "start the linux backend", reason, ...(hint !== undefined ? { hint } : {}) })

const chooseNodeSource = (wanted: Resolved["nodeSource"], h: Host, pfnVisible: boolean): Either.Either<NodeSource, string> => {
  const addon = MovePages.status()
  if (wanted === "move-pages") return addon.available ? Either.right("move-pages") : Either.left(`nodeSource "move-pages": ${addon.reason}`)
  if (wanted === "pfn") {
    return pfnVisible ? Either.right("pfn") : Either.left('nodeSource "pfn" needs page frame numbers, which pagemap shows only with CAP_SYS_ADMIN (run as root)')
  }
  // A frame's memory block names its node at no cost; a query costs a system call per
  // batch (about 6x slower a sweep), so it is used where frames are not visible.
  if (pfnVisible) return Either.right("pfn")
  if (addon.available) return Either.right("move-pages")
  if (h.topology.nodes.length === 1) return Either.right("single")
  return Either.left(`cannot tell which node pages are on: ${addon.reason}; without it, page frame numbers are needed (run as root)`)
}

/**
 * Options of `make` beyond the configuration.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * Report what the source says on a target's first sweep too, for one-off looks such
   * as `Inspect`: with the idle page bitmap, pages no one marked idle read as accessed;
   * with soft-dirty, the bits set since the process's last clear. By default a first
   * sweep only arms the source.
   */
  readonly reportFirstSweep?: boolean
}

/**
 * Builds the backend in the current scope: detects the sources, chooses one, starts
 * DAMON if chosen (stopped when the scope closes), and closes every open pagemap at the
 * end.
 *
 * @since 0.1.0
 */
export const make = (
  input: LinuxConfigInput = {},
  options: Options = {}
): Effect.Effect<{ readonly backend: BackendService; readonly linux: Linux }, LinuxConfig.LinuxConfigError | BackendFailure | PermissionDenied, Scope.Scope> =>
  Effect.gen(function* () {
    const config = yield* LinuxConfig.decode(input)
    if (process.platform !== "linux") return yield* Effect.fail(startFailure(`this is ${process.platform}, not Linux`))
    const first = yield* HostTopology.read
    let latestHost: Host = first
    const pfnVisible = host.hasCap(host.Cap.SYS_ADMIN)
    const detected = Sources.detect()
    const source = yield* Either.mapLeft(Sources.choose(config.source, detected), (reason) => startFailure(reason))
    const nodeSource = yield* Either.mapLeft(chooseNodeSource(config.nodeSource, first, pfnVisible), (reason) => startFailure(reason))
    const migration = MovePages.status()

    const idle = source === "idle-page" ? yield* Effect.acquireRelease(IdlePage.open, IdlePage.close) : undefined
    const damon =
      source === "damon-paddr" || source === "damon-vaddr"
        ? yield* Damon.start(source === "damon-paddr" ? "paddr" : "vaddr", config.damon, first.memory)
        : undefined

    const engine = new Engine({
      pageShift: host.pageShift(),
      chunkPages: config.chunkPages,
      source,
      nodeSource,
      singleNode: first.topology.nodes[0]?.id ?? 0,
      reportPfn: config.reportPfn && pfnVisible,
      zero: pfnVisible ? Pagemap.zeroFrames() : { small: undefined, huge: undefined, hugePages: 0 },
      rules: { hugetlbMounts: Maps.hugetlbMounts() },
      host: () => latestHost,
      idle,
      damon,
      reportFirstSweep: options.reportFirstSweep === true
    })
    yield* Effect.addFinalizer(() => engine.retain(new Set()))
    const lock = yield* Effect.makeSemaphore(1)

    if (damon !== undefined) {
      // Regions are read every aggregation interval while scans run.
      const every = Duration.millis(Math.max(50, config.damon.aggregateUs / 1000))
      const loop = Effect.gen(function* () {
        while (true) {
          yield* Effect.sleep(every)
          if (engine.stepsSinceRefresh === 0) continue
          engine.stepsSinceRefresh = 0
          yield* damon.refresh.pipe(Effect.catchAll((e) => Effect.logWarning(`kmm: reading DAMON regions failed: ${e.message}`)))
        }
      })
      yield* Effect.forkScoped(Effect.withSpan(loop, "kmm.linux.damon"))
    }

    const topology = Effect.map(HostTopology.read, (h) => {
      latestHost = h
      return h.topology
    })

    const selection = config.targets
    const targets = Effect.gen(function* () {
      const procs = yield* Processes.list(selection)
      const shift = host.pageShift()
      const rules = engine.options.rules
      const out: Array<Target> = []
      for (const p of procs) {
        const areas = yield* Maps.read(p.pid, shift, rules).pipe(
          Effect.catchAll((e) =>
            // A process that exited since it was listed is simply not a target; one kmm
            // may not read is left out of "every process", and an error for a pid list.
            e._tag === "PermissionDenied" && selection.pids !== undefined ? Effect.fail(e) : Effect.succeed([] as Array<Maps.Area>)
          )
        )
        const pages = Maps.scannablePages(areas)
        if (pages > 0) out.push({ id: targetId(p.pid), name: p.comm, pages })
      }
      yield* engine.retain(new Set(out.map((t) => t.id as number)))
      return out as ReadonlyArray<Target>
    })

    const sources = Sources.capabilities(source, detected)
    // Demotion needs the addon and a lower tier, as the host is now (nodes come and go).
    const capabilities = Effect.sync(
      (): Capabilities => ({
        sources,
        canDemote: migration.available && new Set(latestHost.topology.nodes.map((n) => n.tier)).size > 1,
        reportsPfn: config.reportPfn && pfnVisible
      })
    )

    const migrate = (plan: MigrationPlan) =>
      Effect.gen(function* () {
        const known = engine.targets.get(plan.target)
        if (known !== undefined && Processes.stat(plan.target)?.startTime !== known.startTime) {
          yield* engine.drop(plan.target)
          return yield* Effect.fail(new TargetGone({ target: plan.target, operation: "migrate" }))
        }
        const status = yield* MovePages.move(plan.target, plan.pages, plan.count, plan.destination, { shared: config.moveShared })
        return { status }
      })

    const scanStep: BackendService["scan"] = (target, from, budget) => lock.withPermits(1)(engine.scan(target, from, budget))
    const backend: BackendService = {
      name: "linux",
      capabilities,
      topology,
      targets,
      scan: source === "none" ? (target, from, budget) => lock.withPermits(1)(engine.scan(target, from, budget, false)) : scanStep,
      migrate
    }
    const linux: Linux = {
      config,
      source,
      nodeSource,
      detected,
      pfnVisible,
      migration,
      host: Effect.map(HostTopology.read, (h) => (latestHost = h)),
      refreshRegions: damon === undefined ? Effect.void : damon.refresh,
      scan: scanStep,
      tracked: Effect.sync(() => [...engine.targets.keys()])
    }
    return { backend, linux }
  })

/**
 * The backend as a layer: core's `Backend` and this package's `Linux`.
 *
 * @since 0.1.0
 */
export const layer = (config: LinuxConfigInput = {}): Layer.Layer<Backend | Linux, LinuxConfig.LinuxConfigError | BackendFailure | PermissionDenied> =>
  Layer.scopedContext(Effect.map(make(config), ({ backend, linux }) => Context.make(Backend, backend).pipe(Context.add(Linux, linux))))

/**
 * `layer` with its configuration read from Effect's `Config`.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<LinuxConfigInput>
): Layer.Layer<Backend | Linux, LinuxConfig.LinuxConfigError | BackendFailure | PermissionDenied | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(config, layer))
