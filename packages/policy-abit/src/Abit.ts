/**
 * The accessed-bit policy: kmmscand's decisions. A slow-tier page that a scan finds
 * accessed is promoted to a top-tier node, either on the first scan that finds it
 * accessed (the series' V0) or only when two consecutive scans of the page find it
 * accessed (V3, the default). It never demotes: the series left that to the kernel's
 * reclaim.
 *
 * State: three bits per page, in one Uint32Array per mapping (core's PageStateStore):
 * - `prev`: the previous scan of the page found it accessed (for the second-access rule);
 * - `cand`: the page is a promotion candidate;
 * - `skip`: a migration of the page was refused (denied, invalid); it is not proposed
 *   again until a scan finds it idle.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MigrationOutcome, MigrationPlan } from "@kmm/core/MigrationPlan"
import { Status } from "@kmm/core/MigrationPlan"
import type { Observation } from "@kmm/core/Observation"
import type { PlanBudget, Policy as PolicyService } from "@kmm/core/Policy"
import { destinationsFor, Policy } from "@kmm/core/Policy"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import type { TargetId } from "@kmm/core/Target"
import type { Topology } from "@kmm/core/Topology"
import { get32, popcount32, set32, validMask } from "@kmm/core/Bitset"
import { InFlight } from "@kmm/core/InFlight"
import { Regions } from "@kmm/core/Regions"

/**
 * When a slow-tier page found accessed is promoted.
 * - `first-access`: on the first scan that finds it accessed (kmmscand V0).
 * - `second-access`: on the second consecutive scan that finds it accessed (kmmscand V3).
 *
 * @since 0.1.0
 */
export const Rule = Schema.Literal("first-access", "second-access")

/** @since 0.1.0 */
export type Rule = Schema.Schema.Type<typeof Rule>

/**
 * The policy's options, with defaults: `{ rule: "second-access", targetNode: "auto", fallback: true }`.
 *
 * - `rule`: see `Rule`.
 * - `targetNode`: `"auto"` takes the daemon's destinations (the node set by the daemon's
 *   `targetNode` tunable, else the top-tier node where the target's accessed pages
 *   mostly sit, kmmscand V1); a node id promotes to that node first.
 * - `fallback`: when the first destination is full, use the next top-tier node
 *   (kmmscand V3); when false, a full first destination stops promotions.
 *
 * @since 0.1.0
 */
export const Config = Schema.Struct({
  rule: Schema.optionalWith(Rule, { default: () => "second-access" as const }),
  targetNode: Schema.optionalWith(Schema.Union(Schema.Literal("auto"), Schema.Int.pipe(Schema.between(0, 1023))), {
    default: () => "auto" as const
  }),
  fallback: Schema.optionalWith(Schema.Boolean, { default: () => true })
})

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
 * Validates options, filling in defaults. Throws a ParseError on invalid input (use
 * `Schema.decodeUnknownEither(Config)` to get the error as a value).
 *
 * @since 0.1.0
 */
export const decodeConfig = (input: unknown): Config => Schema.decodeUnknownSync(Config)(input ?? {})

interface Meta {
  /** Words per bitset (one bitset per segment: prev, cand, skip). */
  readonly words: number
  /** Candidate bits set. */
  cand: number
  /** No candidate bit below this word. */
  lo: number
}

/** Bitset segments of a mapping's array. */
const PREV = 0
const CAND = 1
const SKIP = 2

/**
 * Builds the policy.
 *
 * @since 0.1.0
 */
export const make = (input: ConfigInput = {}): PolicyService => {
  const config = decodeConfig(input)
  const secondAccess = config.rule === "second-access"
  const regions = new Regions<Uint32Array, Meta>(
    (pages) => new Uint32Array(3 * ((pages + 31) >>> 5)),
    (region) => ({ words: (region.pages + 31) >>> 5, cand: 0, lo: (region.pages + 31) >>> 5 })
  )
  const inflight = new InFlight()
  /** Node id -> 1 when the node is in the top tier (learned from the last plan's topology). */
  let topOf = new Uint8Array(0)
  let lastNow = 0
  let rr = 0

  const learnTopology = (topology: Topology) => {
    const top = Math.min(...topology.nodes.map((n) => n.tier))
    const max = topology.nodes.reduce((m, n) => Math.max(m, n.id), 0)
    const table = new Uint8Array(max + 1)
    for (const n of topology.nodes) if (n.tier === top) table[n.id] = 1
    topOf = table
  }

  /**
   * Applies one chunk: per 32-page word, the accessed pages' nodes are looked at one by
   * one, the mapping's bits word by word. O(words + accessed pages).
   */
  const applyChunk = (chunk: ScanChunk) => {
    const { region, meta } = regions.forChunk(chunk)
    const d = region.data
    const W = meta.words
    const off = chunk.start - chunk.mappingStart
    const acc = chunk.accessed
    const node = chunk.node
    const top = topOf
    const known = top.length > 0
    const nw = (chunk.length + 31) >>> 5
    let delta = 0
    let lo = meta.lo
    for (let w = 0; w < nw; w++) {
      const m = validMask(w, chunk.length)
      const a = acc[w] & m
      const o = off + (w << 5)
      // Accessed and present, and of those, on a slow tier. O(accessed bits of the word).
      let present = a
      let slow = 0
      let bits = a
      while (bits !== 0) {
        const low = bits & -bits
        const nd = node[(w << 5) + 31 - Math.clz32(low)]
        if (nd < 0) present ^= low
        else if (known && top[nd] !== 1) slow |= low
        bits ^= low
      }
      const prev = get32(d, PREV * W, W, o)
      const cand = get32(d, CAND * W, W, o)
      const skip = get32(d, SKIP * W, W, o)
      const fresh = secondAccess ? present & prev : present
      // A candidate stays one while scans keep finding it accessed on a slow tier.
      const nextCand = (cand | fresh) & slow & ~skip
      set32(d, PREV * W, W, o, present, m)
      set32(d, CAND * W, W, o, nextCand, m)
      if (skip !== 0) set32(d, SKIP * W, W, o, skip & present, m)
      delta += popcount32(nextCand & m) - popcount32(cand & m)
      if (nextCand !== 0 && o >>> 5 < lo) lo = o >>> 5
    }
    meta.cand += delta
    meta.lo = meta.cand === 0 ? W : lo
  }

  /**
   * Takes up to `want` candidates of a target, lowest addresses first, clearing their
   * bits. O(words from the lowest candidate + pages taken).
   */
  const take = (target: TargetId, want: number, out: Float64Array): number => {
    let got = 0
    for (const { region, meta } of regions.entriesOf(target)) {
      if (got >= want) break
      if (meta.cand === 0) continue
      const d = region.data
      const W = meta.words
      const base = CAND * W
      let w = meta.lo
      for (; w < W && got < want; w++) {
        let c = d[base + w]
        if (c === 0) continue
        while (c !== 0 && got < want) {
          const low = c & -c
          out[got++] = region.start + (w << 5) + 31 - Math.clz32(low)
          c ^= low
          meta.cand--
        }
        d[base + w] = c
        if (c !== 0) break
      }
      meta.lo = meta.cand === 0 ? W : Math.min(w, W)
    }
    return got
  }

  const candidatesOf = (target: TargetId): number => {
    let n = 0
    for (const e of regions.entriesOf(target)) n += e.meta.cand
    return n
  }

  /** Destinations for a target, best first, per the options. */
  const destinationsOf = (target: TargetId, budget: PlanBudget): ReadonlyArray<number> =>
    destinationsFor(budget, target, config)

  /**
   * Proposes candidates, target by target (round-robin start), to the first destination
   * with room, then the fallbacks. Room on a node is its free pages less the pages in
   * flight to it and those planned in this call. O(targets + candidate words scanned).
   */
  const plan = (budget: PlanBudget) =>
    Effect.sync((): ReadonlyArray<MigrationPlan> => {
      learnTopology(budget.topology)
      lastNow = budget.now
      inflight.expire(budget.now)
      const free = new Map(budget.topology.nodes.map((n) => [n.id, n.freePages]))
      const planned = new Map<number, number>()
      const plans: Array<MigrationPlan> = []
      const targets = regions.targets()
      let left = budget.maxPages
      for (let k = 0; k < targets.length && left > 0; k++) {
        const target = targets[(rr + k) % targets.length]
        let want = Math.min(left, candidatesOf(target))
        if (want === 0) continue
        for (const dest of destinationsOf(target, budget)) {
          const room = (free.get(dest) ?? 0) - inflight.to(dest) - (planned.get(dest) ?? 0)
          if (room <= 0) continue
          const n = Math.min(room, want)
          const pages = new Float64Array(n)
          const got = take(target, n, pages)
          if (got === 0) break
          const p: MigrationPlan = { target, destination: dest, pages, count: got, direction: "promote" }
          plans.push(p)
          inflight.add(p, budget.now)
          planned.set(dest, (planned.get(dest) ?? 0) + got)
          left -= got
          want -= got
          if (want === 0) break
        }
      }
      rr = targets.length === 0 ? 0 : (rr + 1) % targets.length
      return plans
    })

  /** Marks page `vpn` of a target in a segment; returns whether the bit was clear. */
  const mark = (target: TargetId, vpn: number, seg: number): void => {
    const e = regions.find(target, vpn)
    if (e === undefined) return
    const i = vpn - e.region.start
    const W = e.meta.words
    const idx = seg * W + (i >>> 5)
    const bit = 1 << (i & 31)
    if ((e.region.data[idx] & bit) !== 0) return
    e.region.data[idx] |= bit
    if (seg === CAND) {
      e.meta.cand++
      if (i >>> 5 < e.meta.lo) e.meta.lo = i >>> 5
    }
  }

  /**
   * Busy or skipped pages become candidates again; denied or invalid ones are skipped
   * until a scan finds them idle; no-memory and gone ones wait for the next scan. O(count).
   */
  const feedback = (p: MigrationPlan, outcome: MigrationOutcome) =>
    Effect.sync(() => {
      inflight.done(p)
      if (p.direction !== "promote") return
      const status = outcome.status
      for (let i = 0; i < p.count; i++) {
        const s = status[i]
        if (s >= 0) continue
        if (s === Status.BUSY || s === Status.SKIPPED) mark(p.target, p.pages[i], CAND)
        else if (s === Status.DENIED || s === Status.INVALID) mark(p.target, p.pages[i], SKIP)
      }
    })

  return {
    name: "abit",
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
      }),
    stateBytes: Effect.sync(() => regions.store.byteLength + regions.count * 48 + inflight.bytes)
  }
}

/**
 * A layer providing the policy as core's `Policy`.
 *
 * @since 0.1.0
 */
export const layer = (input: ConfigInput = {}): Layer.Layer<Policy> => Layer.sync(Policy, () => make(input))
