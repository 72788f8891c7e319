/**
 * The policy-update microbenchmark: how fast each policy applies accessed-bit scans
 * (pages per second) over a large address space, next to a bare typed-array loop
 * doing the same update in the same process; how long the plan after a full sweep
 * takes (candidate selection); and the bytes of state per page.
 *
 * The scan: one mapping of `pages` pages in chunks of 65536 (the daemon's and the
 * simulator's chunk size); a quarter of the pages on the top tier (node 0), the rest on
 * node 1; the first eighth accessed (a hot set) plus 2 % of the rest at random.
 */
import * as Effect from "effect/Effect"
import { accessedBits } from "@kmm/core/Observation"
import type { Observation } from "@kmm/core/Observation"
import type { PlanBudget, Policy } from "@kmm/core/Policy"
import * as ScanChunk from "@kmm/core/ScanChunk"
import { targetId } from "@kmm/core/Target"
import type { Topology } from "@kmm/core/Topology"
import * as Abit from "@kmm/policy-abit/Abit"
import * as NumaBalancing from "@kmm/policy-baselines/NumaBalancing"
import * as Oracle from "@kmm/policy-baselines/Oracle"
import * as Hotness from "@kmm/policy-hotness/Hotness"
import { median } from "./Quality.js"

const CHUNK = 65_536
const START = 0x10_0000

/** The chunks of one full sweep. */
export const sweep = (pages: number, seed = 1): ReadonlyArray<ScanChunk.ScanChunk> => {
  let x = seed >>> 0 || 1
  const random = () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 4294967296
  }
  const chunks: Array<ScanChunk.ScanChunk> = []
  for (let off = 0; off < pages; off += CHUNK) {
    const length = Math.min(CHUNK, pages - off)
    const c = ScanChunk.alloc({ target: targetId(1), mappingStart: START, mappingPages: pages, start: START + off, length })
    for (let i = 0; i < length; i++) {
      const g = off + i
      c.node[i] = g < pages / 4 ? 0 : 1
      if (g < pages / 8 || random() < 0.02) ScanChunk.setAccessed(c, i)
    }
    c.present = length
    chunks.push(c)
  }
  return chunks
}

const topology = (pages: number): Topology => ({
  pageSize: 4096,
  nodes: [
    { id: 0, tier: 0, capacityPages: pages / 2, freePages: pages / 4, cpus: [0], distances: [10, 20] },
    { id: 1, tier: 1, capacityPages: 2 * pages, freePages: pages, cpus: [], distances: [20, 10] }
  ]
})

const budget = (pages: number, maxPages: number, now: number): PlanBudget => ({
  maxPages,
  topology: topology(pages),
  destinations: () => [0],
  unavailable: new Set(),
  now
})

/** A policy-update measurement. */
export interface Measure {
  readonly name: string
  /** Median pages per second applying a full sweep. */
  readonly pagesPerSec: number
  /** The bare loop doing the same update, pages per second (median). */
  readonly barePagesPerSec: number
  /** Median ms of the plan after a full sweep (maxPages = 1 s of migration at 1 GiB/s). */
  readonly planMs: number
  /** Bytes of state per page after the sweeps, and in all. */
  readonly bytesPerPage: number
  readonly stateBytes: number
  readonly pages: number
}

/** Times `f` once, ms. */
const time = (f: () => void): number => {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}

/**
 * The hotness record update, page by page, on a plain byte array: what the policy's
 * four-pages-at-a-time loop computes. O(pages).
 */
const bareHotness = (chunks: ReadonlyArray<ScanChunk.ScanChunk>, d: Uint8Array): void => {
  for (const c of chunks) {
    const off = c.start - START
    const acc = c.accessed
    const node = c.node
    for (let i = 0; i < c.length; i++) {
      const nd = node[i]
      const p = off + i
      if (nd < 0) {
        d[p] = 0
        continue
      }
      const s = d[p]
      const a = (acc[i >>> 5] >>> (i & 31)) & 1
      const cool = (s >>> 5) & 3
      d[p] = ((s & 0x1e) >>> 1) | (a << 4) | ((cool > 0 ? cool - 1 : 0) << 5) | (nd === 0 ? 0x80 : 0)
    }
  }
}

/**
 * The abit update (second-access rule), page by page, with one byte per page for the
 * previous-access and candidate flags: what the policy does word by word. O(pages).
 */
const bareAbit = (chunks: ReadonlyArray<ScanChunk.ScanChunk>, prev: Uint8Array, cand: Uint8Array): void => {
  for (const c of chunks) {
    const off = c.start - START
    const acc = c.accessed
    const node = c.node
    for (let i = 0; i < c.length; i++) {
      const p = off + i
      const nd = node[i]
      const a = nd >= 0 && ((acc[i >>> 5] >>> (i & 31)) & 1) === 1 ? 1 : 0
      cand[p] = a === 1 && nd !== 0 && (cand[p] === 1 || prev[p] === 1) ? 1 : 0
      prev[p] = a
    }
  }
}

/** The simplest one-byte update from an accessed bitset (the figure ENVIRONMENT.md quotes). */
const bareMinimal = (chunks: ReadonlyArray<ScanChunk.ScanChunk>, d: Uint8Array): void => {
  for (const c of chunks) {
    const off = c.start - START
    const acc = c.accessed
    for (let i = 0; i < c.length; i++) d[off + i] = (d[off + i] >>> 1) | (((acc[i >>> 5] >>> (i & 31)) & 1) << 7)
  }
}

/** Measures one policy over `runs` sweeps (after one warm-up sweep). */
const measure = (
  name: string,
  policy: Policy,
  chunks: ReadonlyArray<ScanChunk.ScanChunk>,
  pages: number,
  runs: number,
  bare: (() => void) | undefined
): Measure => {
  const observations: ReadonlyArray<Observation> = chunks.map((c) => accessedBits(c))
  const apply = () => {
    for (const o of observations) Effect.runSync(policy.observe(o))
  }
  // Learn the tiers and warm up.
  Effect.runSync(policy.plan(budget(pages, 0, 0)))
  apply()
  bare?.()
  const ours: Array<number> = []
  const theirs: Array<number> = []
  const plans: Array<number> = []
  for (let r = 0; r < runs; r++) {
    ours.push(time(apply))
    if (bare !== undefined) theirs.push(time(bare))
    plans.push(time(() => Effect.runSync(policy.plan(budget(pages, 262_144, (r + 1) * 1000)))))
  }
  return {
    name,
    pagesPerSec: pages / (median(ours) / 1000),
    barePagesPerSec: bare === undefined ? NaN : pages / (median(theirs) / 1000),
    planMs: median(plans),
    bytesPerPage: Effect.runSync(policy.stateBytes) / pages,
    stateBytes: Effect.runSync(policy.stateBytes),
    pages
  }
}

/** A truth for the oracle's measurement: rates by the same pattern as the scan. */
const truthFor = (pages: number) => {
  const rates = new Float32Array(pages)
  for (let i = 0; i < pages; i++) rates[i] = i < pages / 8 ? 10 : 0.05
  return {
    rates: () => Effect.succeed([{ start: START, rates }]),
    targets: Effect.succeed([targetId(1)])
  }
}

/** Every measurement, at `pages` pages, `runs` timed sweeps each. */
export const run = (pages: number, runs: number): ReadonlyArray<Measure> => {
  const chunks = sweep(pages)
  const bytes = new Uint8Array(pages)
  const prev = new Uint8Array(pages)
  const cand = new Uint8Array(pages)
  const out: Array<Measure> = []
  out.push(measure("hotness", Hotness.make(), chunks, pages, runs, () => bareHotness(chunks, bytes)))
  out.push(measure("abit", Abit.make(), chunks, pages, runs, () => bareAbit(chunks, prev, cand)))
  // The baselines' updates have no page-by-page twin here; compare them with the minimal loop below.
  out.push(measure("numa-balancing (accessed-bit side)", NumaBalancing.make(), chunks, pages, runs, undefined))
  out.push(measure("oracle (placement side)", Oracle.makeWith(truthFor(pages)), chunks, pages, runs, undefined))
  const minimal: Array<number> = []
  for (let r = 0; r < runs; r++) minimal.push(time(() => bareMinimal(chunks, bytes)))
  out.push({ name: "bare minimal loop (1 byte per page from the bitset)", pagesPerSec: pages / (median(minimal) / 1000), barePagesPerSec: NaN, planMs: NaN, bytesPerPage: 1, stateBytes: pages, pages })
  return out
}
