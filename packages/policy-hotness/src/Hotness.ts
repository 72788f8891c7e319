/**
 * The hotness policy: a one-byte record per page (see `Record`), promotion of slow-tier
 * pages at or above a threshold that adapts to the migration budget, demotion of the
 * coldest top-tier pages between watermarks, and hysteresis against ping-pong.
 *
 * Each plan looks at the pages scanned (or sampled) since the previous plan, whose
 * records the scans just brought up to date, never at all state:
 *
 * 1. Demotion. With `U` the top tier's used pages (capacity - free, plus promotions in
 *    flight, less demotions in flight) and `C` its capacity: when `U > high * C`, demote
 *    `D = ceil(U - low * C)` pages (at most the budget), the coldest first, among
 *    top-tier pages with hotness < `coldThreshold` and no cooldown.
 * 2. Promotion. `P = min(maxPages - D, room, candidates)` where room is the top-tier
 *    destinations' free pages less what is in flight to them. With `n(h)` the slow-tier
 *    pages of hotness h (no cooldown) seen since the last plan, the threshold is
 *    `T = max(floor, max{ h : n(h) + ... + n(31) >= P })`: the highest hotness whose
 *    candidates fill the budget, so candidates match the budget. The floor is
 *    `minThreshold`, or `fillThreshold` while the top tier is used below
 *    `fillWatermark` (and then at most the room below it goes to pages under
 *    `minThreshold`). Pages above T go first, then pages at T until P.
 * 3. Hysteresis. A page that moved gets cooldown `hysteresisScans` and is not moved
 *    again (either way) until that many scans of it have passed.
 * 4. Swaps must pay. Demoting to make room is a swap; a sample of moved pages is
 *    followed, and while promoted pages do not turn out hotter after their move than
 *    demoted ones (by `swapGain` of their scans), demotions are held to a probe rate.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MigrationOutcome, MigrationPlan } from "@kmm/core/MigrationPlan"
import { Status } from "@kmm/core/MigrationPlan"
import type { Observation, SampledAccesses } from "@kmm/core/Observation"
import type { PlanBudget, Policy as PolicyService } from "@kmm/core/Policy"
import { destinationsFor, Policy } from "@kmm/core/Policy"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import type { TargetId } from "@kmm/core/Target"
import type { Topology } from "@kmm/core/Topology"
import type { Entry } from "@kmm/core/Regions"
import { Regions } from "@kmm/core/Regions"
import { Governor } from "./internal/governor.js"
import { InFlight } from "@kmm/core/InFlight"
import { age, applyScan, demotable, nodeTable, promotable } from "./internal/update.js"
import { MAX_COOLDOWN } from "./Record.js"

const Hotness = Schema.Int.pipe(Schema.between(0, 31))
const Fraction = Schema.Number.pipe(Schema.between(0, 1))
const NodeChoice = Schema.Union(Schema.Literal("auto"), Schema.Int.pipe(Schema.between(0, 1023)))

/**
 * The policy's options, with defaults (see the README for what each does):
 * `{ minThreshold: 24, coldThreshold: 8, highWatermark: 0.98, lowWatermark: 0.95,
 * hysteresisScans: 2, demotion: true, targetNode: "auto", fallback: true,
 * demotionNode: "auto", agingMs: 1000, swapGain: 0.15 }`.
 *
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  /** Lowest hotness promoted (24 = accessed in the page's last two scans). */
  minThreshold: Schema.optionalWith(Hotness.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 24 }),
  /**
   * Lowest hotness promoted while the top tier is used below `fillWatermark` (16 =
   * accessed in the last scan): free room is filled faster. Equal to minThreshold: off.
   */
  fillThreshold: Schema.optionalWith(Hotness.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 16 }),
  /** Share of the top tier that pages below minThreshold may fill. */
  fillWatermark: Schema.optionalWith(Fraction, { default: () => 0.6 }),
  /** Top-tier pages with hotness below this may be demoted (8 = idle in the last two scans). */
  coldThreshold: Schema.optionalWith(Hotness, { default: () => 8 }),
  /** Demote when the top tier's used share is above this... */
  highWatermark: Schema.optionalWith(Fraction, { default: () => 0.98 }),
  /** ...down to this. */
  lowWatermark: Schema.optionalWith(Fraction, { default: () => 0.95 }),
  /** Scans of a page after it moved before it may move again, 0..3. */
  hysteresisScans: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, MAX_COOLDOWN)), { default: () => 2 }),
  /** Whether to demote at all. */
  demotion: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** Promotion destination: "auto" (the daemon's order) or a node id first. */
  targetNode: Schema.optionalWith(NodeChoice, { default: () => "auto" as const }),
  /** Fall back to the next top-tier node when the first is full. */
  fallback: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** Demotion destination: "auto" (the next tier's node with the most free pages) or a node id. */
  demotionNode: Schema.optionalWith(NodeChoice, { default: () => "auto" as const }),
  /** For pages known from sampled accesses only (no scans): the interval that ages their records. */
  agingMs: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 3_600_000)), { default: () => 1000 }),
  /**
   * Demote at the watermarks' pace only while promoted pages prove hotter after their
   * move than demoted ones by this share of their scans (0..1; 0 turns the check off).
   */
  swapGain: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.15 })
}).pipe(
  Schema.filter((c) => c.lowWatermark < c.highWatermark || "lowWatermark must be below highWatermark"),
  Schema.filter((c) => c.coldThreshold <= c.minThreshold || "coldThreshold must not be above minThreshold (a page could be both)"),
  Schema.filter((c) => c.coldThreshold <= c.fillThreshold || "coldThreshold must not be above fillThreshold (a page could be both)")
)

/** @since 0.1.0 */
export type Config = Schema.Schema.Type<typeof Config>

/**
 * What a user may write: any subset of the options.
 *
 * @since 0.1.0
 */
export type ConfigInput = Schema.Schema.Encoded<typeof Config>

/**
 * The defaults.
 *
 * @since 0.1.0
 */
export const defaults: Config = Schema.decodeSync(Config)({})

/**
 * Validates options, filling in defaults. Throws a ParseError on invalid input.
 *
 * @since 0.1.0
 */
export const decodeConfig = (input: unknown): Config => Schema.decodeUnknownSync(Config)(input ?? {})

/**
 * What the last plan decided, for tests, dashboards and tuning.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** The promotion threshold of the last plan (32 when it had no room to promote). */
  readonly threshold: number
  /** Promotion candidates (slow tier, hotness >= minThreshold, no cooldown) it saw. */
  readonly candidates: number
  /** Pages it proposed to promote and to demote. */
  readonly promoted: number
  readonly demoted: number
  /** Pages it wanted to demote (watermarks). */
  readonly demotionWanted: number
  /** Plans made so far. */
  readonly plans: number
  /** Post-move hit rate of promoted pages less that of demoted ones (NaN: too little evidence yet). */
  readonly swapGain: number
  /** Demotions allowed per second while swaps do not pay. */
  readonly probeRate: number
}

/**
 * The hotness policy: core's Policy, plus a look at its decisions.
 *
 * @since 0.1.0
 */
export interface HotnessPolicy extends PolicyService {
  /** What the last plan decided. */
  readonly stats: Effect.Effect<Stats>
  /** The record of a page (undefined when the policy has none). */
  readonly record: (target: TargetId, page: number) => Effect.Effect<number | undefined>
}

interface Meta {
  readonly id: number
  readonly d32: Uint32Array
  /** Pages [lo, hi) were scanned since the last plan (lo > hi: none). */
  lo: number
  hi: number
  /** For sample-only blocks: when they were last aged. */
  agedAt: number
}

/** Pages per state block for sampled pages of mappings no scan has reported. */
const BLOCK = 4096
/** Sampled pages remembered between two plans, at most. */
const MAX_SAMPLES = 1 << 16

/**
 * Builds the policy.
 *
 * @since 0.1.0
 */
export const make = (input: ConfigInput = {}): HotnessPolicy => {
  const config = decodeConfig(input)
  let table = nodeTable([])
  let topOf = new Uint8Array(0)
  let lastNow = 0
  let plans = 0
  let demotionPausedUntil = -Infinity
  let stats: Stats = { threshold: 32, candidates: 0, promoted: 0, demoted: 0, demotionWanted: 0, plans: 0, swapGain: NaN, probeRate: 0 }
  const governor = new Governor({
    capacity: 1024,
    minGain: config.swapGain,
    minSamples: 64,
    bits: Math.min(2, config.hysteresisScans)
  })
  let nextId = 0
  const byId: Array<Entry<Uint8Array, Meta>> = []
  const newMeta = (data: Uint8Array): Meta => ({
    id: nextId++,
    d32: new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2),
    lo: Infinity,
    hi: -Infinity,
    agedAt: lastNow
  })
  const alloc = (pages: number) => new Uint8Array((pages + 3) & ~3)
  /** Records of mappings reported by scans. */
  const mapped = new Regions<Uint8Array, Meta>(alloc, (r) => newMeta(r.data))
  /** Records of sampled pages outside any scanned mapping, in aligned blocks. */
  const blocks = new Regions<Uint8Array, Meta>(alloc, (r) => newMeta(r.data))
  const inflight = new InFlight()
  /** The lowest hotness this plan promotes (minThreshold, or fillThreshold with room to fill), as the SWAR addend. */
  let floor = config.minThreshold
  let addFloor = (32 - floor) * 0x01010101
  const addCold = (32 - config.coldThreshold) * 0x01010101

  // Sampled pages since the last plan: entry id and offset (grown on demand).
  let sampleCount = 0
  let sampleEntry = new Uint32Array(0)
  let sampleOffset = new Float64Array(0)
  const remember = (id: number, off: number): boolean => {
    if (sampleCount === sampleEntry.length) {
      if (sampleCount >= MAX_SAMPLES) return false
      const size = Math.min(MAX_SAMPLES, Math.max(1024, sampleCount * 2))
      const entry = new Uint32Array(size)
      const offset = new Float64Array(size)
      entry.set(sampleEntry)
      offset.set(sampleOffset)
      sampleEntry = entry
      sampleOffset = offset
    }
    sampleEntry[sampleCount] = id
    sampleOffset[sampleCount++] = off
    return true
  }

  const register = (e: Entry<Uint8Array, Meta>) => {
    byId[e.meta.id] = e
    return e
  }

  const learnTopology = (topology: Topology) => {
    const top = Math.min(...topology.nodes.map((n) => n.tier))
    const ids = topology.nodes.filter((n) => n.tier === top).map((n) => n.id)
    table = nodeTable(ids)
    const max = topology.nodes.reduce((m, n) => Math.max(m, n.id), 0)
    topOf = new Uint8Array(max + 1)
    for (const id of ids) topOf[id] = 1
  }

  /** One chunk of accessed bits. O(pages), four at a time. */
  const applyChunk = (chunk: ScanChunk) => {
    const e = register(mapped.forChunk(chunk))
    const off = chunk.start - chunk.mappingStart
    applyScan(e.region.data, e.meta.d32, off, chunk.length, chunk.accessed, chunk.node, table)
    if (off < e.meta.lo) e.meta.lo = off
    if (off + chunk.length > e.meta.hi) e.meta.hi = off + chunk.length
  }

  /** The entry and offset holding a page: a scanned mapping, else a sample block (created when `create`). */
  const locate = (target: TargetId, page: number, create: boolean): Entry<Uint8Array, Meta> | undefined => {
    const m = mapped.find(target, page)
    if (m !== undefined) return m
    const b = blocks.find(target, page)
    if (b !== undefined || !create) return b
    return register(blocks.entry(target, page - (page % BLOCK), BLOCK))
  }

  /** Sampled accesses: set the newest history bit and the tier. O(samples * log mappings). */
  const applySamples = (s: SampledAccesses) => {
    for (let i = 0; i < s.count; i++) {
      const page = s.page[i]
      const e = locate(s.target, page, true)
      if (e === undefined) continue
      const off = page - e.region.start
      const nd = s.pageNode[i]
      const top = nd >= 0 && nd < topOf.length && topOf[nd] === 1
      e.region.data[off] = (e.region.data[off] & 0x7f) | 0x10 | (top ? 0x80 : 0)
      // Pages in a range scanned since the last plan are looked at anyway.
      if (off >= e.meta.lo && off < e.meta.hi) continue
      if (!remember(e.meta.id, off)) {
        // Too many samples to list: widen the mapping's range of pages to look at.
        if (off < e.meta.lo) e.meta.lo = off
        if (off + 1 > e.meta.hi) e.meta.hi = off + 1
      }
    }
  }

  /** Ages sample-only blocks once per agingMs; a block aged becomes fully dirty. O(block pages / 4). */
  const ageBlocks = (now: number) => {
    for (const target of blocks.targets()) {
      for (const e of blocks.entriesOf(target)) {
        const elapsed = Math.floor((now - e.meta.agedAt) / config.agingMs)
        if (elapsed <= 0) continue
        for (let k = 0; k < Math.min(elapsed, 5); k++) age(e.meta.d32)
        e.meta.agedAt += elapsed * config.agingMs
        e.meta.lo = 0
        e.meta.hi = e.region.pages
      }
    }
  }

  /** Every entry with pages seen since the last plan, grouped by target. */
  const dirtyByTarget = (): Map<TargetId, Set<Entry<Uint8Array, Meta>>> => {
    const out = new Map<TargetId, Set<Entry<Uint8Array, Meta>>>()
    const add = (e: Entry<Uint8Array, Meta>) => {
      let set = out.get(e.region.target)
      if (set === undefined) out.set(e.region.target, (set = new Set()))
      set.add(e)
    }
    for (const regions of [mapped, blocks]) {
      for (const target of regions.targets()) for (const e of regions.entriesOf(target)) if (e.meta.lo < e.meta.hi) add(e)
    }
    for (let i = 0; i < sampleCount; i++) {
      const e = byId[sampleEntry[i]]
      if (e !== undefined) add(e)
    }
    return out
  }

  /**
   * Counts candidates by hotness over the dirty ranges. O(dirty pages / 4 + candidates).
   */
  const histogram = (entries: Iterable<Entry<Uint8Array, Meta>>, promo: Float64Array, demo: Float64Array) => {
    for (const e of entries) {
      const { lo, hi } = e.meta
      if (lo >= hi) continue
      const d32 = e.meta.d32
      const d = e.region.data
      for (let w = lo >>> 2; w < (hi + 3) >>> 2; w++) {
        const s = d32[w]
        if (s === 0) continue
        let p = promotable(s, addFloor)
        let q = demotable(s, addCold)
        while (p !== 0) {
          const j = (31 - Math.clz32(p & -p)) >>> 3
          promo[d[(w << 2) + j] & 0x1f]++
          p &= p - 1
        }
        while (q !== 0) {
          const j = (31 - Math.clz32(q & -q)) >>> 3
          demo[d[(w << 2) + j] & 0x1f]++
          q &= q - 1
        }
      }
    }
  }

  /** Counts the sampled pages' candidates (a page sampled twice counts twice). O(samples). */
  const sampleHistogram = (promo: Float64Array) => {
    for (let i = 0; i < sampleCount; i++) {
      const e = byId[sampleEntry[i]]
      if (e === undefined) continue
      const r = e.region.data[sampleOffset[i]]
      const h = r & 0x1f
      if ((r & 0xe0) === 0 && h >= floor) promo[h]++
    }
  }

  /**
   * Takes candidates of one target: promotions with hotness > T, then = T while
   * `quota.atT` lasts; demotions with hotness < K, then = K while `quota.atK` lasts.
   * Marks each taken record with the in-flight cooldown. O(dirty pages / 4 + taken).
   */
  const collect = (
    entries: Iterable<Entry<Uint8Array, Meta>>,
    target: TargetId,
    T: number,
    K: number,
    quota: { promote: number; atT: number; demote: number; atK: number },
    promoteOut: Array<number>,
    demoteOut: Array<number>
  ) => {
    const take = (e: Entry<Uint8Array, Meta>, p: number): void => {
      const d = e.region.data
      const r = d[p]
      const h = r & 0x1f
      if ((r & 0xe0) === 0) {
        if (quota.promote <= 0 || h < T) return
        if (h === T) {
          if (quota.atT <= 0) return
          quota.atT--
        }
        quota.promote--
        promoteOut.push(e.region.start + p)
      } else if ((r & 0xe0) === 0x80) {
        if (quota.demote <= 0 || h > K || h >= config.coldThreshold) return
        if (h === K) {
          if (quota.atK <= 0) return
          quota.atK--
        }
        quota.demote--
        demoteOut.push(e.region.start + p)
      } else return
      d[p] = r | (MAX_COOLDOWN << 5)
    }
    for (const e of entries) {
      const { lo, hi } = e.meta
      const d32 = e.meta.d32
      for (let w = lo >>> 2; w < (hi + 3) >>> 2 && (quota.promote > 0 || quota.demote > 0); w++) {
        const s = d32[w]
        if (s === 0) continue
        let f = (quota.promote > 0 ? promotable(s, addFloor) : 0) | (quota.demote > 0 ? demotable(s, addCold) : 0)
        while (f !== 0) {
          take(e, (w << 2) + ((31 - Math.clz32(f & -f)) >>> 3))
          f &= f - 1
        }
      }
    }
    for (let i = 0; i < sampleCount && quota.promote > 0; i++) {
      const e = byId[sampleEntry[i]]
      if (e !== undefined && e.region.target === target) take(e, sampleOffset[i])
    }
  }

  /** Promotion destinations of a target, best first, per the options. */
  const destinationsOf = (target: TargetId, budget: PlanBudget): ReadonlyArray<number> =>
    destinationsFor(budget, target, config)

  /** The demotion destination: the fixed node, or the next tier's node with the most room. */
  const demotionNodeOf = (budget: PlanBudget): number | undefined => {
    const nodes = budget.topology.nodes
    const room = (id: number) => (nodes.find((n) => n.id === id)?.freePages ?? 0) - inflight.to(id)
    if (config.demotionNode !== "auto") {
      const fixed = config.demotionNode
      return !budget.unavailable.has(fixed) && room(fixed) > 0 ? fixed : undefined
    }
    const top = Math.min(...nodes.map((n) => n.tier))
    const lower = nodes.filter((n) => n.tier > top && !budget.unavailable.has(n.id) && room(n.id) > 0)
    if (lower.length === 0) return undefined
    const next = Math.min(...lower.map((n) => n.tier))
    return lower.filter((n) => n.tier === next).sort((a, b) => room(b.id) - room(a.id) || a.id - b.id)[0].id
  }

  const plan = (budget: PlanBudget) =>
    Effect.sync((): ReadonlyArray<MigrationPlan> => {
      learnTopology(budget.topology)
      lastNow = budget.now
      plans++
      inflight.expire(budget.now)
      ageBlocks(budget.now)
      governor.evaluate((target, page) => {
        const e = locate(target as TargetId, page, false)
        return e === undefined ? undefined : e.region.data[page - e.region.start]
      })
      const nodes = budget.topology.nodes
      const topTier = Math.min(...nodes.map((n) => n.tier))
      const topNodes = nodes.filter((n) => n.tier === topTier)
      const free = new Map(nodes.map((n) => [n.id, n.freePages]))

      // 1. How many to demote (watermarks).
      const demoteTo = config.demotion && budget.now >= demotionPausedUntil ? demotionNodeOf(budget) : undefined
      let capacity = 0
      let used = 0
      for (const n of topNodes) {
        capacity += n.capacityPages
        used += n.capacityPages - n.freePages + inflight.to(n.id)
      }
      used -= inflight.demoting
      let D = 0
      if (demoteTo !== undefined && capacity > 0 && used > config.highWatermark * capacity) {
        D = Math.ceil(used - config.lowWatermark * capacity)
        D = Math.min(D, budget.maxPages, (free.get(demoteTo) ?? 0) - inflight.to(demoteTo))
      }
      const wantDemote = D
      // Room below fillWatermark (and the low watermark) may be filled with pages seen accessed once.
      const fillRoom = Math.max(0, Math.floor(Math.min(config.fillWatermark, config.lowWatermark) * capacity) - used)
      floor = fillRoom > 0 ? Math.min(config.minThreshold, config.fillThreshold) : config.minThreshold
      addFloor = (32 - floor) * 0x01010101

      // 2. How many to promote: the room on top-tier destinations, within the budget.
      let room = 0
      for (const n of topNodes) if (!budget.unavailable.has(n.id)) room += Math.max(0, n.freePages - inflight.to(n.id))

      // 3. Histograms of the pages seen since the last plan; threshold and demotion cut.
      const dirty = dirtyByTarget()
      const promo = new Float64Array(32)
      const demo = new Float64Array(32)
      for (const list of dirty.values()) histogram(list, promo, demo)
      sampleHistogram(promo)
      let candidates = 0
      for (let h = config.minThreshold; h < 32; h++) candidates += promo[h]
      let fillers = 0
      for (let h = floor; h < config.minThreshold; h++) fillers += promo[h]
      let victims = 0
      for (let h = 0; h < 32; h++) victims += demo[h]
      D = governor.allowance(Math.min(D, victims), budget.now, capacity)
      const P = Math.max(0, Math.min(budget.maxPages - D, room, candidates + Math.min(fillers, fillRoom)))
      let T = 32
      let atT = 0
      if (P > 0) {
        let cum = 0
        for (T = 31; T > floor; T--) {
          if (cum + promo[T] >= P) break
          cum += promo[T]
        }
        atT = P - cum
      }
      let K = -1
      let atK = 0
      if (D > 0) {
        let cum = 0
        for (K = 0; K < 31; K++) {
          if (cum + demo[K] >= D) break
          cum += demo[K]
        }
        atK = D - cum
      }

      // 4. Collect, target by target; demotions first in the returned order.
      const out: Array<MigrationPlan> = []
      const promotions: Array<MigrationPlan> = []
      const quota = { promote: P, atT, demote: D, atK }
      const planned = new Map<number, number>()
      let promoted = 0
      let demoted = 0
      for (const [target, entries] of dirty) {
        if (quota.promote <= 0 && quota.demote <= 0) break
        const dests = destinationsOf(target, budget)
        let targetRoom = 0
        for (const dst of dests) targetRoom += Math.max(0, (free.get(dst) ?? 0) - inflight.to(dst) - (planned.get(dst) ?? 0))
        const promoteQuota = quota.promote
        quota.promote = Math.min(quota.promote, targetRoom)
        const up: Array<number> = []
        const down: Array<number> = []
        collect(entries, target, T, K, quota, up, down)
        quota.promote = promoteQuota - up.length
        if (down.length > 0 && demoteTo !== undefined) {
          const p: MigrationPlan = { target, destination: demoteTo, pages: Float64Array.from(down), count: down.length, direction: "demote" }
          out.push(p)
          inflight.add(p, budget.now)
          demoted += p.count
        }
        let k = 0
        for (const dst of dests) {
          if (k >= up.length) break
          const r = (free.get(dst) ?? 0) - inflight.to(dst) - (planned.get(dst) ?? 0)
          if (r <= 0) continue
          const n = Math.min(r, up.length - k)
          const p: MigrationPlan = { target, destination: dst, pages: Float64Array.from(up.slice(k, k + n)), count: n, direction: "promote" }
          promotions.push(p)
          inflight.add(p, budget.now)
          planned.set(dst, (planned.get(dst) ?? 0) + n)
          k += n
          promoted += n
        }
        // Pages collected without a destination left (cannot happen: quota <= room) are released.
        for (; k < up.length; k++) release(target, up[k])
      }

      // 5. Everything seen has been considered.
      for (const regions of [mapped, blocks]) {
        for (const target of regions.targets()) {
          for (const e of regions.entriesOf(target)) {
            e.meta.lo = Infinity
            e.meta.hi = -Infinity
          }
        }
      }
      sampleCount = 0
      stats = {
        threshold: P > 0 ? T : 32,
        candidates,
        promoted,
        demoted,
        demotionWanted: wantDemote,
        plans,
        swapGain: governor.gain,
        probeRate: governor.probeRate
      }
      return [...out, ...promotions]
    })

  const release = (target: TargetId, page: number) => {
    const e = locate(target, page, false)
    if (e === undefined) return
    const off = page - e.region.start
    e.region.data[off] &= 0x9f
  }

  /**
   * Records each page's outcome: moved pages take the tier of their node and the
   * hysteresis cooldown; busy, no-memory or skipped ones are free to be proposed again;
   * denied or invalid ones wait the longest cooldown; gone ones are cleared. O(count).
   */
  const feedback = (p: MigrationPlan, outcome: MigrationOutcome) =>
    Effect.sync(() => {
      inflight.done(p)
      const status = outcome.status
      let moved = 0
      let refused = 0
      for (let i = 0; i < p.count; i++) {
        const e = locate(p.target, p.pages[i], false)
        if (e === undefined) continue
        const off = p.pages[i] - e.region.start
        const d = e.region.data
        const s = status[i]
        if (s >= 0) {
          const top = s < topOf.length && topOf[s] === 1
          const cool = s === p.destination ? config.hysteresisScans : 0
          if (s === p.destination) {
            moved++
            governor.record(p.direction, p.target, p.pages[i])
          }
          d[off] = (d[off] & 0x1f) | (cool << 5) | (top ? 0x80 : 0)
        } else if (s === Status.GONE) {
          d[off] = 0
        } else if (s === Status.DENIED || s === Status.INVALID) {
          d[off] = (d[off] & 0x9f) | (MAX_COOLDOWN << 5)
          refused++
        } else {
          d[off] &= 0x9f
        }
      }
      // A backend that refuses every demotion (it cannot demote): stop asking for a while.
      if (p.direction === "demote" && moved === 0 && refused === p.count && p.count > 0) {
        demotionPausedUntil = lastNow + 60_000
      }
    })

  const forget = (target: TargetId) =>
    Effect.sync(() => {
      for (const regions of [mapped, blocks]) for (const e of regions.entriesOf(target)) delete byId[e.meta.id]
      mapped.forget(target)
      blocks.forget(target)
      inflight.expire(lastNow, target)
    })

  return {
    name: "hotness",
    accepts: ["accessed-bit", "sampled-access"],
    observe: (obs: Observation) =>
      Effect.sync(() => {
        if (obs._tag === "AccessedBits") {
          if (obs.kind === "accessed-bit") applyChunk(obs.chunk)
        } else if (obs._tag === "SampledAccesses") applySamples(obs)
      }),
    plan,
    feedback,
    forget,
    stateBytes: Effect.sync(
      () =>
        mapped.store.byteLength +
        blocks.store.byteLength +
        (mapped.count + blocks.count) * 64 +
        inflight.bytes +
        governor.bytes +
        sampleEntry.byteLength +
        sampleOffset.byteLength
    ),
    stats: Effect.sync(() => stats),
    record: (target, page) =>
      Effect.sync(() => {
        const e = locate(target, page, false)
        return e === undefined ? undefined : e.region.data[page - e.region.start]
      })
  }
}

/**
 * A layer providing the policy as core's `Policy`.
 *
 * @since 0.1.0
 */
export const layer = (input: ConfigInput = {}): Layer.Layer<Policy> => Layer.sync(Policy, () => make(input))
