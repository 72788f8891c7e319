/**
 * The oracle baseline: it reads the machine's true per-page access rates (core's
 * `GroundTruth`, which only a simulated backend provides) and moves towards the best
 * placement: the hottest pages that fit on the top tier. It still pays for every
 * migration within the daemon's budget and rate limit, so it is the upper bound of what
 * a policy can reach on the same machine, not an instant placement.
 *
 * Every `refreshMs` it reads the rates. When they changed (or its lists ran out) it
 * computes the cutoff rate `c`: the (N+1)-th highest rate of the targets' pages, where
 * N is the top tier's capacity less the pages of others on it (less `headroom`): every
 * page above `c` fits. Pages above `c` belong on the top tier, pages below it do not;
 * pages at `c` stay where they are and fill free room. It lists the slow-tier pages at
 * or above `c` hottest first and the top-tier pages at or below `c` coldest first; each
 * plan demotes only as many as the promotions of pages above `c` need room for, then
 * promotes, within the budget.
 *
 * Placement (which page sits on the top tier) comes from accessed-bit scans (their
 * node per page) and from migration outcomes: one byte per page.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MappingRates } from "@kmm/core/GroundTruth"
import { GroundTruth } from "@kmm/core/GroundTruth"
import type { MigrationOutcome, MigrationPlan } from "@kmm/core/MigrationPlan"
import { Status } from "@kmm/core/MigrationPlan"
import type { Observation } from "@kmm/core/Observation"
import type { PlanBudget, Policy as PolicyService } from "@kmm/core/Policy"
import { Policy } from "@kmm/core/Policy"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import type { TargetId } from "@kmm/core/Target"
import type { Topology } from "@kmm/core/Topology"
import { InFlight } from "@kmm/core/InFlight"
import { kthLargest } from "./internal/select.js"
import type { Entry } from "@kmm/core/Regions"
import { Regions } from "@kmm/core/Regions"

/**
 * The oracle's options, with defaults: `{ refreshMs: 250, headroom: 0, demotionNode: "auto" }`.
 *
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  /** How often the true rates are read, ms. */
  refreshMs: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3_600_000)), { default: () => 250 }),
  /** Share of the top tier left free. */
  headroom: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 0.5)), { default: () => 0 }),
  /** Demotion destination: "auto" (the next tier's node with the most free pages) or a node id. */
  demotionNode: Schema.optionalWith(Schema.Union(Schema.Literal("auto"), Schema.Int.pipe(Schema.between(0, 1023))), {
    default: () => "auto" as const
  })
})

/** @since 0.1.0 */
export type Config = Schema.Schema.Type<typeof Config>

/** @since 0.1.0 */
export type ConfigInput = Schema.Schema.Encoded<typeof Config>

/**
 * The defaults.
 *
 * @since 0.1.0
 */
export const defaults: Config = Schema.decodeSync(Config)({})

/** Page states (one byte per page). */
const UNKNOWN = 0
const SLOW = 1
const TOP = 2
const IN_FLIGHT = 4

interface Meta {
  rates: Float32Array | undefined
}

type E = Entry<Uint8Array, Meta>

/** Quantised log2 rate: 1/1024 steps over 2^-40 .. 2^40 accesses per second. */
const quantize = (rate: number): number => Math.max(0, Math.min((1 << 21) - 1, Math.round((Math.log2(rate) + 40) * 1024)))
const SHIFT = 2 ** 31

/**
 * What the oracle decided last, for tests and reports.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** Cutoff rate, accesses per second (pages above it belong on the top tier). */
  readonly cutoff: number
  /** Pages it wants on the top tier, and those it knows. */
  readonly fits: number
  readonly known: number
  /** Pages listed to promote and to demote at the last refresh. */
  readonly toPromote: number
  readonly toDemote: number
}

/**
 * The oracle: core's Policy, plus its last decision.
 *
 * @since 0.1.0
 */
export interface OraclePolicy extends PolicyService {
  readonly stats: Effect.Effect<Stats>
}

/**
 * Builds the oracle; it needs `GroundTruth`.
 *
 * @since 0.1.0
 */
export const make = (input: ConfigInput = {}): Effect.Effect<OraclePolicy, never, GroundTruth> =>
  Effect.map(GroundTruth, (truth) => makeWith(truth, input))

/**
 * Builds the oracle over a given truth.
 *
 * @since 0.1.0
 */
export const makeWith = (truth: GroundTruth, input: ConfigInput = {}): OraclePolicy => {
  const config = Schema.decodeUnknownSync(Config)(input ?? {})
  const regions = new Regions<Uint8Array, Meta>((pages) => new Uint8Array(pages), () => ({ rates: undefined }))
  const inflight = new InFlight()
  let topOf = new Uint8Array(0)
  let lastNow = 0
  let lastRefresh = -Infinity
  let stale = true
  let stats: Stats = { cutoff: Infinity, fits: 0, known: 0, toPromote: 0, toDemote: 0 }

  // The lists: entries and their page bases, keys (quantised rate * 2^31 + global index).
  let entries: Array<E> = []
  let bases = new Float64Array(0)
  let promoteKeys = new Float64Array(0)
  let demoteKeys = new Float64Array(0)
  let promoteAt = 0
  let demoteAt = 0
  let cutoff = Infinity
  let scratch = new Float32Array(0)

  const learnTopology = (topology: Topology) => {
    const top = Math.min(...topology.nodes.map((n) => n.tier))
    const max = topology.nodes.reduce((m, n) => Math.max(m, n.id), 0)
    topOf = new Uint8Array(max + 1)
    for (const n of topology.nodes) if (n.tier === top) topOf[n.id] = 1
  }
  const isTop = (nd: number) => nd >= 0 && nd < topOf.length && topOf[nd] === 1

  /** Placement from a chunk's nodes. O(pages). */
  const applyChunk = (chunk: ScanChunk) => {
    const { region } = regions.forChunk(chunk)
    const d = region.data
    const off = chunk.start - chunk.mappingStart
    const node = chunk.node
    for (let i = 0; i < chunk.length; i++) {
      const nd = node[i]
      d[off + i] = nd < 0 ? UNKNOWN : (d[off + i] & IN_FLIGHT) | (isTop(nd) ? TOP : SLOW)
    }
  }

  /** Every target's true rates, as last read. */
  let truthRates: ReadonlyArray<ReadonlyArray<MappingRates>> = []

  /** Whether two readings of the truth differ. O(pages). */
  const differs = (a: ReadonlyArray<ReadonlyArray<MappingRates>>, b: ReadonlyArray<ReadonlyArray<MappingRates>>): boolean => {
    if (a.length !== b.length) return true
    for (let t = 0; t < a.length; t++) {
      if (a[t].length !== b[t].length) return true
      for (let k = 0; k < a[t].length; k++) {
        const x = a[t][k]
        const y = b[t][k]
        if (x.start !== y.start || x.rates.length !== y.rates.length) return true
        for (let i = 0; i < x.rates.length; i++) if (x.rates[i] !== y.rates[i]) return true
      }
    }
    return false
  }

  /**
   * Reads the rates of every target the truth knows and hands each known mapping its
   * array; returns whether they changed since the last reading. O(mappings + pages).
   */
  const readRates = Effect.gen(function* () {
    const all: Array<ReadonlyArray<MappingRates>> = []
    for (const target of yield* truth.targets) {
      const list = yield* truth.rates(target)
      all.push(list)
      const byStart = new Map(list.map((m) => [m.start, m.rates]))
      for (const e of regions.entriesOf(target)) {
        const rates = byStart.get(e.region.start)
        e.meta.rates = rates !== undefined && rates.length >= e.region.pages ? rates : undefined
      }
    }
    const changed = differs(all, truthRates)
    truthRates = all
    return changed
  })

  /** The cutoff and both lists. O(known pages + listed log listed). */
  const rebuild = (topology: Topology) => {
    entries = []
    for (const target of regions.targets()) for (const e of regions.entriesOf(target)) if (e.meta.rates !== undefined) entries.push(e)
    bases = new Float64Array(entries.length + 1)
    for (let k = 0; k < entries.length; k++) bases[k + 1] = bases[k] + entries[k].region.pages

    // Every page the truth knows (placed or not yet seen) competes for the top tier;
    // pages of ours seen on it are not "others".
    let known = 0
    for (const list of truthRates) for (const m of list) known += m.rates.length
    let ours = 0
    for (const e of entries) {
      const d = e.region.data
      for (let i = 0; i < d.length; i++) if ((d[i] & 3) === TOP) ours++
    }
    if (scratch.length < known) scratch = new Float32Array(known)
    let n = 0
    for (const list of truthRates) for (const m of list) {
      scratch.set(m.rates, n)
      n += m.rates.length
    }
    const top = topology.nodes.filter((x) => isTop(x.id))
    let capacity = 0
    let used = 0
    for (const x of top) {
      capacity += x.capacityPages
      used += x.capacityPages - x.freePages
    }
    const fits = Math.max(0, Math.floor(capacity * (1 - config.headroom)) - (used - ours))
    // The rate of the first page that does not fit: pages above it all fit.
    cutoff = fits >= known ? -Infinity : kthLargest(scratch.subarray(0, known), fits + 1)

    // Slow pages above the cutoff (and at it, after, as many as there is free room),
    // hottest first; top pages at or below it, coldest first.
    let free = 0
    for (const x of top) free += x.freePages
    let ties = free
    let up = 0
    let down = 0
    for (const e of entries) {
      const d = e.region.data
      const r = e.meta.rates!
      for (let i = 0; i < d.length; i++) {
        const s = d[i] & 3
        if (s === SLOW && r[i] > 0 && (r[i] > cutoff || (r[i] === cutoff && ties-- > 0))) up++
        else if (s === TOP && r[i] <= cutoff) down++
      }
    }
    ties = free
    promoteKeys = new Float64Array(up)
    demoteKeys = new Float64Array(down)
    up = 0
    down = 0
    for (let k = 0; k < entries.length; k++) {
      const d = entries[k].region.data
      const r = entries[k].meta.rates!
      const base = bases[k]
      for (let i = 0; i < d.length; i++) {
        const s = d[i] & 3
        if (s === SLOW && r[i] > 0 && (r[i] > cutoff || (r[i] === cutoff && ties-- > 0))) promoteKeys[up++] = ((1 << 21) - 1 - quantize(r[i])) * SHIFT + base + i
        else if (s === TOP && r[i] <= cutoff) demoteKeys[down++] = quantize(r[i]) * SHIFT + base + i
      }
    }
    promoteKeys.sort()
    demoteKeys.sort()
    promoteAt = 0
    demoteAt = 0
    stats = { cutoff, fits, known, toPromote: up, toDemote: down }
  }

  /** The entry and offset of a key's global index. O(log entries). */
  const locateKey = (key: number): [E, number] => {
    const g = key % SHIFT
    let lo = 0
    let hi = entries.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1
      if (bases[mid] <= g) lo = mid
      else hi = mid - 1
    }
    return [entries[lo], g - bases[lo]]
  }

  /**
   * Takes up to `want` pages from a list, skipping those no longer where the list
   * expects them. Marks them in flight. O(taken + skipped).
   */
  const takeFrom = (
    keys: Float64Array,
    at: number,
    want: number,
    expect: number,
    strictOnly: boolean,
    out: Map<TargetId, Array<number>>
  ): { at: number; got: number } => {
    let got = 0
    while (at < keys.length && got < want) {
      const [e, i] = locateKey(keys[at])
      const d = e.region.data
      const r = e.meta.rates![i]
      if (strictOnly && !(r > cutoff)) break
      at++
      if (d[i] !== expect) continue
      d[i] |= IN_FLIGHT
      let list = out.get(e.region.target)
      if (list === undefined) out.set(e.region.target, (list = []))
      list.push(e.region.start + i)
      got++
    }
    return { at, got }
  }

  const demotionNodeOf = (budget: PlanBudget): number | undefined => {
    const nodes = budget.topology.nodes
    const room = (id: number) => (nodes.find((x) => x.id === id)?.freePages ?? 0) - inflight.to(id)
    if (config.demotionNode !== "auto") return room(config.demotionNode) > 0 ? config.demotionNode : undefined
    const top = Math.min(...nodes.map((x) => x.tier))
    const lower = nodes.filter((x) => x.tier > top && !budget.unavailable.has(x.id) && room(x.id) > 0)
    if (lower.length === 0) return undefined
    const next = Math.min(...lower.map((x) => x.tier))
    return lower.filter((x) => x.tier === next).sort((a, b) => room(b.id) - room(a.id) || a.id - b.id)[0].id
  }

  const plan = (budget: PlanBudget): Effect.Effect<ReadonlyArray<MigrationPlan>> =>
    Effect.gen(function* () {
      learnTopology(budget.topology)
      lastNow = budget.now
      inflight.expire(budget.now)
      const exhausted = promoteAt >= promoteKeys.length && demoteAt >= demoteKeys.length
      if (budget.now - lastRefresh >= config.refreshMs) {
        lastRefresh = budget.now
        const changed = yield* readRates
        if (changed || exhausted || stale) {
          stale = false
          rebuild(budget.topology)
        }
      }
      const nodes = budget.topology.nodes
      // Room on the top tier: free pages less promotions in flight, plus demotions in
      // flight (queued before any promotion planned now, they make room first).
      let room = inflight.demoting
      for (const x of nodes) if (isTop(x.id) && !budget.unavailable.has(x.id)) room += x.freePages - inflight.to(x.id)
      room = Math.max(0, room)

      // Strict promotions left (above the cutoff); demote only to make room for them.
      let strictLeft = 0
      for (let k = promoteAt; k < promoteKeys.length && strictLeft <= budget.maxPages; k++) {
        const [e, i] = locateKey(promoteKeys[k])
        if (!(e.meta.rates![i] > cutoff)) break
        if (e.region.data[i] === SLOW) strictLeft++
      }
      const strictWant = Math.min(strictLeft, budget.maxPages)
      const demoteTo = demotionNodeOf(budget)
      let D = 0
      if (strictWant > room && demoteTo !== undefined) {
        D = Math.min(demoteKeys.length - demoteAt, strictWant - room, Math.floor(Math.max(0, budget.maxPages - room) / 2))
      }
      const down = new Map<TargetId, Array<number>>()
      const taken = takeFrom(demoteKeys, demoteAt, D, TOP, false, down)
      demoteAt = taken.at
      const P = Math.min(budget.maxPages - taken.got, room + taken.got)
      const upPages = new Map<TargetId, Array<number>>()
      const up = takeFrom(promoteKeys, promoteAt, P, SLOW, false, upPages)
      promoteAt = up.at

      const plans: Array<MigrationPlan> = []
      for (const [target, pages] of down) {
        const p: MigrationPlan = { target, destination: demoteTo!, pages: Float64Array.from(pages), count: pages.length, direction: "demote" }
        plans.push(p)
        inflight.add(p, budget.now)
      }
      const planned = new Map<number, number>()
      // The room demotions make is counted on the first destination.
      let credit = inflight.demoting
      for (const [target, pages] of upPages) {
        let k = 0
        for (const dest of budget.destinations(target)) {
          const r = (budget.topology.nodes.find((x) => x.id === dest)?.freePages ?? 0) - inflight.to(dest) - (planned.get(dest) ?? 0) + credit
          const n = Math.min(Math.max(0, r), pages.length - k)
          credit = Math.max(0, Math.min(credit, r - n))
          if (n <= 0) continue
          const p: MigrationPlan = { target, destination: dest, pages: Float64Array.from(pages.slice(k, k + n)), count: n, direction: "promote" }
          plans.push(p)
          inflight.add(p, budget.now)
          planned.set(dest, (planned.get(dest) ?? 0) + n)
          k += n
          if (k >= pages.length) break
        }
        // No destination had room: release the rest.
        for (; k < pages.length; k++) release(target, pages[k])
      }
      return plans
    })

  /** A page taken from the list but not proposed: free it, and list again at the next refresh. */
  const release = (target: TargetId, page: number) => {
    const e = regions.find(target, page)
    if (e !== undefined) e.region.data[page - e.region.start] &= ~IN_FLIGHT
    stale = true
  }

  /** Outcomes set the placement; failed pages are listed again at the next refresh. O(count). */
  const feedback = (p: MigrationPlan, outcome: MigrationOutcome) =>
    Effect.sync(() => {
      inflight.done(p)
      for (let i = 0; i < p.count; i++) {
        const e = regions.find(p.target, p.pages[i])
        if (e === undefined) continue
        const off = p.pages[i] - e.region.start
        const s = outcome.status[i]
        const d = e.region.data
        if (s >= 0) d[off] = isTop(s) ? TOP : SLOW
        else {
          d[off] = s === Status.GONE ? UNKNOWN : d[off] & ~IN_FLIGHT
          // The lists have moved past it: list again at the next refresh.
          stale = true
        }
      }
    })

  return {
    name: "oracle",
    accepts: ["accessed-bit"],
    observe: (obs: Observation) =>
      Effect.sync(() => {
        if (obs._tag === "AccessedBits" && obs.kind === "accessed-bit") applyChunk(obs.chunk)
      }),
    plan,
    feedback,
    forget: (target: TargetId) =>
      Effect.sync(() => {
        regions.forget(target)
        inflight.expire(lastNow, target)
        // Lists may point into the dropped arrays: rebuild at the next refresh.
        entries = []
        promoteKeys = new Float64Array(0)
        demoteKeys = new Float64Array(0)
        promoteAt = 0
        demoteAt = 0
        stale = true
        lastRefresh = -Infinity
      }),
    stateBytes: Effect.sync(
      () => regions.store.byteLength + regions.count * 32 + promoteKeys.byteLength + demoteKeys.byteLength + scratch.byteLength + inflight.bytes
    ),
    stats: Effect.sync(() => stats)
  }
}

/**
 * A layer providing the oracle as core's `Policy`; it needs `GroundTruth` (the simulated
 * backend provides it).
 *
 * @since 0.1.0
 */
export const layer = (config: ConfigInput = {}): Layer.Layer<Policy, never, GroundTruth> => Layer.effect(Policy, make(config))
