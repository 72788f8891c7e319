/**
 * A model of the kernel's NUMA balancing in tiering mode (numa_balancing=2, "NUMAB2"),
 * the baseline the kmmscand series measured against.
 *
 * Scanning: like the kernel's task_numa_work, the model arms `scanSizeMB` of each task's
 * pages every `scanPeriodMs` (a window moving over the span of pages it has seen, and
 * wrapping); only accesses to armed pages fault. A backend reports sampled accesses
 * of its own (the simulator: pages accessed since its last accessed-bit harvest);
 * the model keeps those that fall in a window armed in the last four periods, and
 * takes the time since that window was armed as the hint-fault latency.
 *
 * Promotion: a hint fault on a slow-tier page whose latency is below `hotThresholdMs`
 * is a promotion candidate. Candidates are rate limited to
 * `rateLimitMBps` per second; the excess is not promoted. Every `adjustPeriodMs` the
 * threshold moves by a sixteenth of twice its default towards matching the rate limit:
 * down when candidates exceeded 110 % of what the limit allows over the period, up when
 * they were under 90 % (between one step and twice the default). A candidate goes to
 * the node of the faulting CPU when that node is in the top tier, else to the daemon's
 * first destination.
 *
 * Demotion (when `demotion` is on), as kernel reclaim does it: when the top tier's free
 * pages fall below `reclaimLow` of its capacity, a clock hand walks the top-tier pages
 * and demotes the inactive ones, those whose accessed bit was clear at their last two
 * scans (an active page needs two idle scans to age onto the inactive list), until
 * free pages reach `reclaimHigh`. For that it takes accessed-bit scans too, and keeps
 * three bits per page.
 *
 * The cost of the hint faults falls on the faulting task in the kernel; a backend that
 * models it (the simulator) charges it there, not to this policy.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MigrationOutcome, MigrationPlan } from "@kmm/core/MigrationPlan"
import type { Observation, SampledAccesses } from "@kmm/core/Observation"
import type { PlanBudget, Policy as PolicyService } from "@kmm/core/Policy"
import { Policy } from "@kmm/core/Policy"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import type { TargetId } from "@kmm/core/Target"
import type { Topology } from "@kmm/core/Topology"
import { get32, set32, validMask } from "@kmm/core/Bitset"
import { InFlight } from "@kmm/core/InFlight"
import { Regions } from "@kmm/core/Regions"

const Ms = Schema.Int.pipe(Schema.between(1, 3_600_000))

/** Windows armed and remembered per task. */
const WINDOWS = 4

/**
 * The model's options, with the kernel's defaults: `{ scanSizeMB: 256, scanPeriodMs: 1000,
 * hotThresholdMs: 1000, rateLimitMBps: 65536, adjustThreshold: true, adjustPeriodMs:
 * 60000, demotion: true, reclaimLow: 0.02, reclaimHigh: 0.05, queueLimit: 65536 }`.
 *
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  /** Pages armed per period, in MiB (kernel: numa_balancing_scan_size_mb). */
  scanSizeMB: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1 << 20)), { default: () => 256 }),
  /** How often a window is armed (kernel: numa_balancing_scan_period_min_ms). */
  scanPeriodMs: Schema.optionalWith(Ms, { default: () => 1000 }),
  /** Hint-fault latency below which a page is hot (kernel: hot_threshold_ms). */
  hotThresholdMs: Schema.optionalWith(Ms, { default: () => 1000 }),
  /** Promotion candidates per second, in MiB (kernel: numa_balancing_promote_rate_limit_MBps). */
  rateLimitMBps: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1 << 30)), { default: () => 65536 }),
  /** Adjust the threshold to the rate limit. */
  adjustThreshold: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** How often the threshold is adjusted (kernel: the scan period max, 60 s). */
  adjustPeriodMs: Schema.optionalWith(Ms, { default: () => 60_000 }),
  /** Demote unreferenced top-tier pages when the top tier runs short (kernel: demotion_enabled). */
  demotion: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  /** Reclaim starts when free top-tier pages fall below this share of its capacity... */
  reclaimLow: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.02 }),
  /** ...and stops when they reach this share. */
  reclaimHigh: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 1)), { default: () => 0.05 }),
  /** Promotion candidates waiting for a plan, at most (the excess is dropped). */
  queueLimit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1 << 24)), { default: () => 65536 })
}).pipe(Schema.filter((c) => c.reclaimLow <= c.reclaimHigh || "reclaimLow must not be above reclaimHigh"))

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

/**
 * What the model did so far, for tests and reports.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** The hot threshold now, ms. */
  readonly thresholdMs: number
  /** Samples seen; of them, hint faults (in an armed window); of those: promotion candidates, rate-limited, queued. */
  readonly samples: number
  readonly faults: number
  readonly candidates: number
  readonly rateLimited: number
  readonly queued: number
}

/**
 * The NUMA-balancing model: core's Policy, plus its counters.
 *
 * @since 0.1.0
 */
export interface NumaBalancingPolicy extends PolicyService {
  readonly stats: Effect.Effect<Stats>
}

interface Meta {
  readonly words: number
}

const TOP = 0
const REF = 1
const REF2 = 2

/**
 * Builds the model.
 *
 * @since 0.1.0
 */
export const make = (input: ConfigInput = {}): NumaBalancingPolicy => {
  const config = Schema.decodeUnknownSync(Config)(input ?? {})
  let topOf = new Uint8Array(0)
  let known = false
  let pageSize = 4096
  let lastNow = 0

  // Promotion queue: a ring of (target, page, cpu node).
  const qTarget = new Float64Array(config.queueLimit)
  const qPage = new Float64Array(config.queueLimit)
  const qNode = new Int16Array(config.queueLimit)
  let qHead = 0
  let qSize = 0

  // Threshold and rate limit.
  let threshold = config.hotThresholdMs
  let windowStart = -Infinity
  let windowCandidates = 0
  let periodStart = NaN
  let periodCandidates = 0
  const counts = { samples: 0, faults: 0, candidates: 0, rateLimited: 0, queued: 0 }

  /** Per task: the span of pages seen, and the windows armed (start page, time), newest first. */
  interface Scanner {
    lo: number
    hi: number
    readonly start: Float64Array
    readonly at: Float64Array
    count: number
  }
  const scanners = new Map<TargetId, Scanner>()

  /**
   * Arms windows up to `time`: one every scanPeriodMs, each scanSizeMB further along the
   * span seen (wrapping). The first is armed at the task's first sample. O(periods elapsed, at most WINDOWS).
   */
  const arm = (target: TargetId, page: number, time: number): Scanner => {
    let sc = scanners.get(target)
    if (sc === undefined) {
      sc = { lo: page, hi: page + 1, start: new Float64Array(WINDOWS), at: new Float64Array(WINDOWS), count: 0 }
      scanners.set(target, sc)
    }
    if (page < sc.lo) sc.lo = page
    if (page + 1 > sc.hi) sc.hi = page + 1
    const size = Math.max(1, Math.floor((config.scanSizeMB * 1024 * 1024) / pageSize))
    if (sc.count === 0) {
      sc.start[0] = sc.lo
      sc.at[0] = time
      sc.count = 1
      return sc
    }
    const periods = Math.floor((time - sc.at[0]) / config.scanPeriodMs)
    for (let k = 0; k < Math.min(periods, WINDOWS); k++) {
      for (let j = WINDOWS - 1; j > 0; j--) {
        sc.start[j] = sc.start[j - 1]
        sc.at[j] = sc.at[j - 1]
      }
      let next = sc.start[0] + size
      if (next >= sc.hi) next = sc.lo
      sc.start[0] = next
      sc.at[0] = sc.at[1] + config.scanPeriodMs
      sc.count = Math.min(WINDOWS, sc.count + 1)
    }
    if (periods > WINDOWS) {
      // A long gap: the scanner went on meanwhile; skip the windows nobody saw.
      const perPass = Math.max(1, Math.ceil((sc.hi - sc.lo) / size))
      for (let k = 0; k < (periods - WINDOWS) % perPass; k++) {
        const next = sc.start[0] + size
        sc.start[0] = next >= sc.hi ? sc.lo : next
      }
      sc.at[0] += (periods - WINDOWS) * config.scanPeriodMs
    }
    return sc
  }

  /** When the window holding `page` was armed (the newest such window), or NaN when none holds it. */
  const armedAt = (sc: Scanner, page: number, time: number): number => {
    const size = Math.max(1, Math.floor((config.scanSizeMB * 1024 * 1024) / pageSize))
    for (let j = 0; j < sc.count; j++) {
      if (sc.at[j] > time) continue
      const from = sc.start[j]
      if (page >= from && page < Math.min(sc.hi, from + size)) return sc.at[j]
    }
    return NaN
  }

  // Reclaim: top-tier and referenced bits per page, and the clock hand.
  const regions = new Regions<Uint32Array, Meta>(
    (pages) => new Uint32Array(3 * ((pages + 31) >>> 5)),
    (r) => ({ words: (r.pages + 31) >>> 5 })
  )
  let hand = { target: 0, region: 0, word: 0 }
  const inflight = new InFlight()

  const learnTopology = (topology: Topology) => {
    const top = Math.min(...topology.nodes.map((n) => n.tier))
    const max = topology.nodes.reduce((m, n) => Math.max(m, n.id), 0)
    topOf = new Uint8Array(max + 1)
    for (const n of topology.nodes) if (n.tier === top) topOf[n.id] = 1
    known = true
    pageSize = topology.pageSize
  }
  const isTop = (nd: number) => nd >= 0 && nd < topOf.length && topOf[nd] === 1

  /** Hint faults: threshold test, rate limit, queue. O(samples). */
  const applySamples = (s: SampledAccesses) => {
    if (!known) return
    const ratePages = Math.max(1, Math.floor((config.rateLimitMBps * 1024 * 1024) / pageSize))
    for (let i = 0; i < s.count; i++) {
      counts.samples++
      const time = s.time[i]
      const sc = arm(s.target, s.page[i], time)
      const armed = armedAt(sc, s.page[i], time)
      if (Number.isNaN(armed)) continue
      counts.faults++
      const nd = s.pageNode[i]
      if (nd < 0 || isTop(nd)) continue
      adjust(time, ratePages)
      const latency = time - armed
      if (latency >= threshold) continue
      counts.candidates++
      periodCandidates++
      if (time - windowStart > 1000) {
        windowStart = time
        windowCandidates = 0
      }
      windowCandidates++
      if (windowCandidates > ratePages) {
        counts.rateLimited++
        continue
      }
      if (qSize === config.queueLimit) continue
      const k = (qHead + qSize) % config.queueLimit
      qTarget[k] = s.target
      qPage[k] = s.page[i]
      qNode[k] = s.cpuNode[i]
      qSize++
      counts.queued++
    }
  }

  /** Every adjustPeriodMs: one step towards candidates matching the rate limit. */
  const adjust = (time: number, ratePages: number) => {
    if (Number.isNaN(periodStart)) periodStart = time
    if (time - periodStart <= config.adjustPeriodMs) return
    if (config.adjustThreshold) {
      const reference = (ratePages * config.adjustPeriodMs) / 1000
      const step = Math.max(1, Math.floor((2 * config.hotThresholdMs) / 16))
      if (periodCandidates > reference * 1.1) threshold = Math.max(threshold - step, step)
      else if (periodCandidates < reference * 0.9) threshold = Math.min(threshold + step, 2 * config.hotThresholdMs)
    }
    periodStart = time
    periodCandidates = 0
  }

  /** Top-tier and referenced bits (this scan's and the one before's) of a chunk's pages. O(pages). */
  const applyChunk = (chunk: ScanChunk) => {
    if (!config.demotion || !known) return
    const { region, meta } = regions.forChunk(chunk)
    const d = region.data
    const W = meta.words
    const off = chunk.start - chunk.mappingStart
    const nw = (chunk.length + 31) >>> 5
    for (let w = 0; w < nw; w++) {
      const m = validMask(w, chunk.length)
      let top = 0
      const base = w << 5
      const n = Math.min(32, chunk.length - base)
      for (let b = 0; b < n; b++) if (isTop(chunk.node[base + b])) top |= 1 << b
      set32(d, TOP * W, W, off + base, top, m)
      set32(d, REF2 * W, W, off + base, get32(d, REF * W, W, off + base), m)
      set32(d, REF * W, W, off + base, chunk.accessed[w], m)
    }
  }

  /**
   * The clock hand: demotes top-tier pages idle in their last two scans. At most one
   * turn. O(words passed + pages taken).
   */
  const reclaim = (want: number, out: Map<TargetId, Array<number>>): number => {
    const targets = regions.targets()
    if (targets.length === 0 || want <= 0) return 0
    let got = 0
    let words = 0
    let total = 0
    for (const t of targets) for (const e of regions.entriesOf(t)) total += e.meta.words
    while (got < want && words < total) {
      const target = targets[hand.target % targets.length]
      const entries = regions.entriesOf(target)
      if (hand.region >= entries.length) {
        hand = { target: (hand.target + 1) % targets.length, region: 0, word: 0 }
        continue
      }
      const { region, meta } = entries[hand.region]
      if (hand.word >= meta.words) {
        hand = { target: hand.target, region: hand.region + 1, word: 0 }
        continue
      }
      const d = region.data
      const W = meta.words
      const w = hand.word
      const top = d[TOP * W + w]
      let victims = top & ~d[REF * W + w] & ~d[REF2 * W + w]
      let taken = 0
      while (victims !== 0 && got < want) {
        const low = victims & -victims
        const page = region.start + (w << 5) + 31 - Math.clz32(low)
        let list = out.get(target)
        if (list === undefined) out.set(target, (list = []))
        list.push(page)
        taken |= low
        got++
        victims ^= low
      }
      d[TOP * W + w] = top & ~taken
      if (victims === 0) hand.word++
      words++
    }
    return got
  }

  const plan = (budget: PlanBudget) =>
    Effect.sync((): ReadonlyArray<MigrationPlan> => {
      learnTopology(budget.topology)
      lastNow = budget.now
      inflight.expire(budget.now)
      const nodes = budget.topology.nodes
      const free = new Map(nodes.map((n) => [n.id, n.freePages]))
      const room = (id: number, planned: Map<number, number>) => (free.get(id) ?? 0) - inflight.to(id) - (planned.get(id) ?? 0)
      const plans: Array<MigrationPlan> = []
      let left = budget.maxPages

      // Reclaim (demotion) when the top tier runs short of free pages.
      if (config.demotion) {
        const topNodes = nodes.filter((n) => isTop(n.id))
        let capacity = 0
        let freeTop = 0
        for (const n of topNodes) {
          capacity += n.capacityPages
          freeTop += n.freePages - inflight.to(n.id)
        }
        freeTop += inflight.demoting
        const top = Math.min(...nodes.map((n) => n.tier))
        const lower = nodes.filter((n) => n.tier > top && !budget.unavailable.has(n.id))
        const next = lower.length === 0 ? undefined : Math.min(...lower.map((n) => n.tier))
        const dest = lower.filter((n) => n.tier === next).sort((a, b) => room(b.id, new Map()) - room(a.id, new Map()) || a.id - b.id)[0]
        if (capacity > 0 && dest !== undefined && freeTop < config.reclaimLow * capacity) {
          const want = Math.min(left, Math.ceil(config.reclaimHigh * capacity - freeTop), Math.max(0, room(dest.id, new Map())))
          const victims = new Map<TargetId, Array<number>>()
          left -= reclaim(want, victims)
          for (const [target, pages] of victims) {
            const p: MigrationPlan = { target, destination: dest.id, pages: Float64Array.from(pages), count: pages.length, direction: "demote" }
            plans.push(p)
            inflight.add(p, budget.now)
          }
        }
      }

      // Promotions: the queue, first in first out, to the faulting CPU's node when it is top tier.
      const groups = new Map<string, { target: TargetId; destination: number; pages: Array<number> }>()
      const planned = new Map<number, number>()
      while (qSize > 0 && left > 0) {
        const target = qTarget[qHead] as TargetId
        const page = qPage[qHead]
        const cpu = qNode[qHead]
        qHead = (qHead + 1) % config.queueLimit
        qSize--
        const options = isTop(cpu) && !budget.unavailable.has(cpu) ? [cpu, ...budget.destinations(target)] : budget.destinations(target)
        const dest = options.find((n) => room(n, planned) > 0)
        if (dest === undefined) continue // no room: the page stays where it is
        const key = `${target}:${dest}`
        let g = groups.get(key)
        if (g === undefined) groups.set(key, (g = { target, destination: dest, pages: [] }))
        g.pages.push(page)
        planned.set(dest, (planned.get(dest) ?? 0) + 1)
        left--
      }
      for (const g of groups.values()) {
        // A page faulted twice before this plan is queued twice: propose it once.
        const pages = Float64Array.from(g.pages).sort()
        let n = 0
        for (let i = 0; i < pages.length; i++) if (i === 0 || pages[i] !== pages[i - 1]) pages[n++] = pages[i]
        const p: MigrationPlan = { target: g.target, destination: g.destination, pages: pages.slice(0, n), count: n, direction: "promote" }
        plans.push(p)
        inflight.add(p, budget.now)
      }
      return plans
    })

  /** Moved pages update the top-tier bits: promoted ones count as just referenced. O(count). */
  const feedback = (p: MigrationPlan, outcome: MigrationOutcome) =>
    Effect.sync(() => {
      inflight.done(p)
      if (!config.demotion) return
      for (let i = 0; i < p.count; i++) {
        const s = outcome.status[i]
        if (s < 0) continue
        const e = regions.find(p.target, p.pages[i])
        if (e === undefined) continue
        const off = p.pages[i] - e.region.start
        const W = e.meta.words
        const bit = 1 << (off & 31)
        const w = off >>> 5
        if (isTop(s)) {
          e.region.data[TOP * W + w] |= bit
          e.region.data[REF * W + w] |= bit
          e.region.data[REF2 * W + w] |= bit
        } else {
          e.region.data[TOP * W + w] &= ~bit
        }
      }
    })

  const forget = (target: TargetId) =>
    Effect.sync(() => {
      regions.forget(target)
      scanners.delete(target)
      inflight.expire(lastNow, target)
      // Drop the target's queued candidates.
      let n = 0
      for (let i = 0; i < qSize; i++) {
        const k = (qHead + i) % config.queueLimit
        if (qTarget[k] === target) continue
        const j = (qHead + n) % config.queueLimit
        qTarget[j] = qTarget[k]
        qPage[j] = qPage[k]
        qNode[j] = qNode[k]
        n++
      }
      qSize = n
    })

  return {
    name: "numa-balancing",
    accepts: config.demotion ? ["sampled-access", "accessed-bit"] : ["sampled-access"],
    observe: (obs: Observation) =>
      Effect.sync(() => {
        if (obs._tag === "SampledAccesses") applySamples(obs)
        else if (obs._tag === "AccessedBits" && obs.kind === "accessed-bit") applyChunk(obs.chunk)
      }),
    plan,
    feedback,
    forget,
    stateBytes: Effect.sync(
      () => regions.store.byteLength + regions.count * 32 + qTarget.byteLength + qPage.byteLength + qNode.byteLength + inflight.bytes
    ),
    stats: Effect.sync(() => ({ thresholdMs: threshold, ...counts }))
  }
}

/**
 * A layer providing the model as core's `Policy`.
 *
 * @since 0.1.0
 */
export const layer = (config: ConfigInput = {}): Layer.Layer<Policy> => Layer.sync(Policy, () => make(config))
