/**
 * The simulator's configuration: a Schema (so a CLI or a config file can validate a
 * user's `backend: { name: "sim", options: {...} }` block) and its resolution into a
 * complete machine description, with clear errors naming the offending key.
 *
 * Every key is optional: a `preset` (default "default") supplies the rest. Top-level
 * keys replace the preset's; `costs`, `faults`, `observe` and `results` are merged key
 * by key. Sizes are bytes or strings such as "4GiB", "512 MiB", "4G" (K, M, G, T and
 * KiB... are binary; KB, MB... decimal). Times are ms of virtual time since the
 * simulation started.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { parseBytes } from "./internal/size.js"
import * as Preset from "./Preset.js"
import { Workload } from "./Workload.js"

/**
 * A size in bytes: a non-negative integer, or a string with a unit ("4GiB", "512 MiB", "4G").
 *
 * @since 0.1.0
 */
export const Bytes = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (input, _, ast) => {
    const bytes = typeof input === "number" ? (Number.isSafeInteger(input) && input >= 0 ? input : undefined) : parseBytes(input)
    return bytes === undefined
      ? ParseResult.fail(
          new ParseResult.Type(ast, input, `expected a size: bytes, or a number with a unit such as "512MiB", "4 GiB" or "4G"; found ${JSON.stringify(input)}`)
        )
      : ParseResult.succeed(bytes)
  },
  encode: (bytes) => ParseResult.succeed(bytes)
}).annotations({ identifier: "Bytes" })

const Ms = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const Ns = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())

/**
 * One memory node. Its id is its position in `nodes`.
 *
 * @since 0.1.0
 */
export const NodeConfig = Schema.Struct({
  /** e.g. "DRAM", "CXL". */
  label: Schema.optional(Schema.String),
  /** Tier rank: 0 is the top (fastest) tier. Default: the node's position. */
  tier: Schema.optional(Schema.NonNegativeInt),
  capacity: Bytes,
  /** Mean load latency, ns (default 90 in the top tier, 250 below). */
  latencyNs: Schema.optional(Ns.pipe(Schema.positive())),
  /** Mean store latency, ns (default: latencyNs). */
  writeLatencyNs: Schema.optional(Ns.pipe(Schema.positive())),
  /** Bandwidth in bytes per second (default 50 GiB/s in the top tier, 20 GiB/s below). */
  bandwidth: Schema.optional(Bytes),
  /** CPUs on the node (default 2 in the top tier, 0 below: a CPU-less memory node). */
  cpus: Schema.optional(Schema.NonNegativeInt)
})

/** @since 0.1.0 */
export type NodeConfig = Schema.Schema.Type<typeof NodeConfig>

/**
 * A mapping (VMA) of a task.
 *
 * @since 0.1.0
 */
export const MappingConfig = Schema.Struct({
  size: Bytes,
  label: Schema.optional(Schema.String)
})

/**
 * A change of workload at a time.
 *
 * @since 0.1.0
 */
export const PhaseConfig = Schema.Struct({
  /** When it starts, ms since the simulation started (after the task's start). */
  atMs: Ms,
  workload: Workload
})

/**
 * A simulated task (an address space the daemon scans).
 *
 * @since 0.1.0
 */
export const TaskConfig = Schema.Struct({
  /** Target id (default: position + 1). */
  id: Schema.optional(Schema.NonNegativeInt),
  name: Schema.optional(Schema.String),
  /** One mapping of this size; or give `mappings`. */
  size: Schema.optional(Bytes),
  mappings: Schema.optional(Schema.Array(MappingConfig)),
  /** Preferred node for first-touch allocation; other nodes are used when it is full (default: the first top-tier node). */
  node: Schema.optional(Schema.NonNegativeInt),
  /** Node of the CPUs the task runs on (default: the preferred node if it has CPUs, else the first node with CPUs). */
  cpuNode: Schema.optional(Schema.NonNegativeInt),
  /** When the task starts and touches its pages, ms (default 0). */
  startMs: Schema.optional(Ms),
  /** When the task exits, ms (default: never). */
  exitAtMs: Schema.optional(Ms),
  workload: Workload,
  /** Later workloads; a hot-set workload with another offset is a hot-set shift. */
  phases: Schema.optional(Schema.Array(PhaseConfig))
})

/** @since 0.1.0 */
export type TaskConfig = Schema.Schema.Type<typeof TaskConfig>

/** @since 0.1.0 */
export type TaskConfigInput = Schema.Schema.Encoded<typeof TaskConfig>

/**
 * The cost model.
 *
 * @since 0.1.0
 */
export const CostsConfig = Schema.Struct({
  /** CPU time to visit one page-table entry when scanning, ns (default 20). */
  scanNsPerPage: Schema.optional(Ns),
  /** Time to migrate one page besides the copy (unmap, TLB shootdown, remap), ns (default 1500). */
  migrateNsPerPage: Schema.optional(Ns),
  /** Fixed time of one migrate call, ns (default 5000). */
  migrateCallNs: Schema.optional(Ns),
  /** Latency of an access to a page that is not present (a fault), ns (default 2000). */
  faultLatencyNs: Schema.optional(Ns),
  /** `sleep` (default): scan and migrate take their cost in virtual time; `account`: they return at once and the cost is only counted. */
  charge: Schema.optional(Schema.Literal("sleep", "account"))
})

/**
 * A node whose capacity changes at a time.
 *
 * @since 0.1.0
 */
export const ShrinkConfig = Schema.Struct({
  atMs: Ms,
  node: Schema.NonNegativeInt,
  capacity: Bytes
})

/**
 * Injected faults.
 *
 * @since 0.1.0
 */
export const FaultsConfig = Schema.Struct({
  /** Share of page migrations that fail with busy (0..1, default 0). */
  migrateFailureRate: Schema.optional(Schema.Number.pipe(Schema.between(0, 1))),
  /** Node capacity changes; pages above a shrunk capacity move to other nodes, or out (not present). */
  capacity: Schema.optional(Schema.Array(ShrinkConfig))
})

/**
 * Observation sources beside the accessed bit.
 *
 * @since 0.1.0
 */
export const ObserveConfig = Schema.Struct({
  /** Also report soft-dirty (written) bits (default false). */
  softDirty: Schema.optional(Schema.Boolean),
  /** Sampled accesses (hint-fault model) per scan call, at most (default 256; 0 = none). */
  samplesPerScan: Schema.optional(Schema.NonNegativeInt)
})

/**
 * Result reporting.
 *
 * @since 0.1.0
 */
export const ResultsConfig = Schema.Struct({
  /** Length of a result interval, ms (default 1000). */
  intervalMs: Schema.optional(Ms.pipe(Schema.positive())),
  /** A page moved back to the tier it left within this time counts as ping-pong, ms (default 30000). */
  pingPongWindowMs: Schema.optional(Ms.pipe(Schema.positive())),
  /** Intervals kept for `history` and the summary (default 86400). */
  historyLimit: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/**
 * The whole configuration (`backend: { name: "sim", options: <this> }`).
 *
 * @since 0.1.0
 */
export const SimConfig = Schema.Struct({
  /** Base configuration (default "default"); see the Preset module. */
  preset: Schema.optional(Schema.Literal(...Preset.names)),
  /** Seed of every random draw (default 1). */
  seed: Schema.optional(Schema.Int),
  /** Bytes per page (a power of two, default 4096). */
  pageSize: Schema.optional(Schema.Int.pipe(Schema.between(512, 1 << 30))),
  nodes: Schema.optional(Schema.Array(NodeConfig)),
  tasks: Schema.optional(Schema.Array(TaskConfig)),
  costs: Schema.optional(CostsConfig),
  faults: Schema.optional(FaultsConfig),
  observe: Schema.optional(ObserveConfig),
  results: Schema.optional(ResultsConfig),
  /** Largest scan chunk, pages (a multiple of 512, default 65536). */
  chunkPages: Schema.optional(Schema.Int.pipe(Schema.positive()))
})

/** @since 0.1.0 */
export type SimConfig = Schema.Schema.Type<typeof SimConfig>

/**
 * The configuration as written (sizes may be strings).
 *
 * @since 0.1.0
 */
export type SimConfigInput = Schema.Schema.Encoded<typeof SimConfig>

/**
 * The configuration is invalid. `path` is where, e.g. "tasks.0.node".
 *
 * @since 0.1.0
 */
export class SimConfigError extends Schema.TaggedError<SimConfigError>()("SimConfigError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `sim config${this.path ? ` at ${this.path}` : ""}: ${this.reason}`
  }
}

/**
 * A node, resolved.
 *
 * @since 0.1.0
 */
export interface ResolvedNode {
  readonly id: number
  readonly label: string
  readonly tier: number
  readonly capacityPages: number
  readonly latencyNs: number
  readonly writeLatencyNs: number
  readonly bandwidthBytesPerSec: number
  readonly cpus: ReadonlyArray<number>
}

/**
 * A task, resolved: sizes in pages, phases in time order with the first at its start.
 *
 * @since 0.1.0
 */
export interface ResolvedTask {
  readonly id: number
  readonly name: string
  readonly mappings: ReadonlyArray<{ readonly pages: number; readonly label: string }>
  readonly pages: number
  readonly node: number
  readonly cpuNode: number
  readonly startMs: number
  readonly exitAtMs: number | undefined
  readonly phases: ReadonlyArray<{ readonly atMs: number; readonly workload: Workload }>
}

/**
 * A complete machine description.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly preset: Preset.Name
  readonly seed: number
  readonly pageSize: number
  readonly nodes: ReadonlyArray<ResolvedNode>
  readonly tasks: ReadonlyArray<ResolvedTask>
  readonly costs: {
    readonly scanNsPerPage: number
    readonly migrateNsPerPage: number
    readonly migrateCallNs: number
    readonly faultLatencyNs: number
    readonly charge: "sleep" | "account"
  }
  readonly faults: {
    readonly migrateFailureRate: number
    readonly capacity: ReadonlyArray<{ readonly atMs: number; readonly node: number; readonly capacityPages: number }>
  }
  readonly observe: { readonly softDirty: boolean; readonly samplesPerScan: number }
  readonly results: { readonly intervalMs: number; readonly pingPongWindowMs: number; readonly historyLimit: number }
  readonly chunkPages: number
}

/**
 * Largest node id + 1 (node ids are bytes, -1 marks a page not present).
 *
 * @since 0.1.0
 */
export const MAX_NODES = 127

/**
 * Mappings are placed on this alignment, in pages; scans harvest whole segments of it.
 *
 * @since 0.1.0
 */
export const SEGMENT_PAGES = 512

const decodeSchema = Schema.decodeUnknownEither(SimConfig, { onExcessProperty: "error", errors: "first" })

/**
 * Validates a configuration (as written) and resolves it against its preset.
 *
 * @since 0.1.0
 */
export const decode = (input: unknown): Either.Either<Resolved, SimConfigError> => {
  const decoded = decodeSchema(input ?? {})
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    return Either.left(new SimConfigError({ path: issue ? issue.path.map(String).join(".") : "", reason: issue?.message ?? "does not match the schema" }))
  }
  return resolve(decoded.right)
}

/**
 * Resolves a decoded configuration: merges it over its preset, fills defaults and
 * checks what the schema alone cannot (ids, references, ordering, limits).
 *
 * @since 0.1.0
 */
export const resolve = (config: SimConfig): Either.Either<Resolved, SimConfigError> => {
  const name = config.preset ?? "default"
  const base = Schema.decodeUnknownSync(SimConfig)(Preset.get(name))
  const merged: SimConfig = {
    ...base,
    ...config,
    costs: { ...base.costs, ...config.costs },
    faults: { ...base.faults, ...config.faults },
    observe: { ...base.observe, ...config.observe },
    results: { ...base.results, ...config.results }
  }
  try {
    return Either.right(complete(name, merged))
  } catch (e) {
    if (e instanceof SimConfigError) return Either.left(e)
    throw e
  }
}

const bad = (path: string, reason: string): never => {
  throw new SimConfigError({ path, reason })
}

const complete = (preset: Preset.Name, c: SimConfig): Resolved => {
  const pageSize = c.pageSize ?? 4096
  if ((pageSize & (pageSize - 1)) !== 0) bad("pageSize", `must be a power of two, found ${pageSize}`)
  const chunkPages = c.chunkPages ?? 65536
  if (chunkPages % SEGMENT_PAGES !== 0) bad("chunkPages", `must be a multiple of ${SEGMENT_PAGES}, found ${chunkPages}`)

  const nodeConfigs = c.nodes ?? []
  if (nodeConfigs.length === 0) bad("nodes", "at least one node is needed")
  if (nodeConfigs.length > MAX_NODES) bad("nodes", `at most ${MAX_NODES} nodes, found ${nodeConfigs.length}`)
  let cpu = 0
  const nodes: Array<ResolvedNode> = nodeConfigs.map((n, id) => {
    const tier = n.tier ?? id
    const top = tier === Math.min(...nodeConfigs.map((m, j) => m.tier ?? j))
    const capacityPages = Math.floor(n.capacity / pageSize)
    if (capacityPages < 1) bad(`nodes.${id}.capacity`, `must hold at least one page (${pageSize} bytes), found ${n.capacity} bytes`)
    const latencyNs = n.latencyNs ?? (top ? 90 : 250)
    const cpuCount = n.cpus ?? (top ? 2 : 0)
    const cpus = Array.from({ length: cpuCount }, () => cpu++)
    const bandwidth = n.bandwidth ?? (top ? 50 : 20) * 1024 ** 3
    if (bandwidth <= 0) bad(`nodes.${id}.bandwidth`, "must be positive")
    return {
      id,
      label: n.label ?? (top ? "DRAM" : `tier${tier}`),
      tier,
      capacityPages,
      latencyNs,
      writeLatencyNs: n.writeLatencyNs ?? latencyNs,
      bandwidthBytesPerSec: bandwidth,
      cpus
    }
  })
  const ids = new Set<number>()
  const tasks = (c.tasks ?? []).map((t, k) => resolveTask(t, k, { pageSize, nodes, ids }))

  const capacity = (c.faults?.capacity ?? []).map((s, k) => {
    if (s.node >= nodes.length) bad(`faults.capacity.${k}.node`, `no node ${s.node} (nodes are 0..${nodes.length - 1})`)
    return { atMs: s.atMs, node: s.node, capacityPages: Math.floor(s.capacity / pageSize) }
  })

  return {
    preset,
    seed: c.seed ?? 1,
    pageSize,
    nodes,
    tasks,
    costs: {
      scanNsPerPage: c.costs?.scanNsPerPage ?? 20,
      migrateNsPerPage: c.costs?.migrateNsPerPage ?? 1500,
      migrateCallNs: c.costs?.migrateCallNs ?? 5000,
      faultLatencyNs: c.costs?.faultLatencyNs ?? 2000,
      charge: c.costs?.charge ?? "sleep"
    },
    faults: { migrateFailureRate: c.faults?.migrateFailureRate ?? 0, capacity },
    observe: { softDirty: c.observe?.softDirty ?? false, samplesPerScan: c.observe?.samplesPerScan ?? 256 },
    results: {
      intervalMs: c.results?.intervalMs ?? 1000,
      pingPongWindowMs: c.results?.pingPongWindowMs ?? 30_000,
      historyLimit: c.results?.historyLimit ?? 86_400
    },
    chunkPages
  }
}

/**
 * Resolves one task. `k` is its position (for the default id); `at` is its path in errors.
 *
 * @since 0.1.0
 */
export const resolveTask = (
  t: TaskConfig,
  k: number,
  ctx: {
    readonly pageSize: number
    readonly nodes: ReadonlyArray<ResolvedNode>
    /** Ids taken so far; this task's is added. */
    readonly ids: Set<number>
  },
  at = `tasks.${k}`
): ResolvedTask => {
  const id = t.id ?? k + 1
  if (ctx.ids.has(id)) bad(`${at}.id`, `task id ${id} is used twice`)
  ctx.ids.add(id)
  if ((t.size === undefined) === (t.mappings === undefined)) bad(at, "give either size or mappings")
  const sizes = t.mappings ?? [{ size: t.size!, label: "[heap]" }]
  if (sizes.length === 0) bad(`${at}.mappings`, "at least one mapping is needed")
  const mappings = sizes.map((m, j) => {
    const pages = Math.floor(m.size / ctx.pageSize)
    if (pages < 1) bad(t.mappings ? `${at}.mappings.${j}.size` : `${at}.size`, `must be at least one page (${ctx.pageSize} bytes), found ${m.size} bytes`)
    return { pages, label: m.label ?? `map${j}` }
  })
  const pages = mappings.reduce((s, m) => s + m.pages, 0)
  if (pages > 2 ** 31) bad(at, `at most 2^31 pages per task, found ${pages}`)
  const byTier = [...ctx.nodes].sort((a, b) => a.tier - b.tier || a.id - b.id)
  const node = t.node ?? byTier[0].id
  if (node >= ctx.nodes.length) bad(`${at}.node`, `no node ${node} (nodes are 0..${ctx.nodes.length - 1})`)
  const cpuNode = t.cpuNode ?? (ctx.nodes[node].cpus.length > 0 ? node : (byTier.find((n) => n.cpus.length > 0)?.id ?? node))
  if (cpuNode >= ctx.nodes.length) bad(`${at}.cpuNode`, `no node ${cpuNode} (nodes are 0..${ctx.nodes.length - 1})`)
  const startMs = t.startMs ?? 0
  if (t.exitAtMs !== undefined && t.exitAtMs <= startMs) bad(`${at}.exitAtMs`, `must be after startMs (${startMs}), found ${t.exitAtMs}`)
  const phases = [{ atMs: startMs, workload: t.workload }]
  for (const [j, p] of (t.phases ?? []).entries()) {
    const prev = phases[phases.length - 1].atMs
    if (p.atMs <= prev) bad(`${at}.phases.${j}.atMs`, `phases must start after the task's start and each other (after ${prev} ms), found ${p.atMs}`)
    phases.push({ atMs: p.atMs, workload: p.workload })
  }
  for (const [j, p] of phases.entries()) {
    const w = p.workload
    if (w.kind === "trace" && (w.file === undefined) === (w.text === undefined)) {
      bad(j === 0 ? `${at}.workload` : `${at}.phases.${j - 1}.workload`, "a trace workload needs either file or text")
    }
  }
  return { id, name: t.name ?? `task-${id}`, mappings, pages, node, cpuNode, startMs, exitAtMs: t.exitAtMs, phases }
}
