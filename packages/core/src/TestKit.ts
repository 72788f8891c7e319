/**
 * Helpers for testing a policy on small crafted inputs: a three-node topology, plan
 * budgets, scan chunks with chosen nodes and accessed pages, and a seeded generator.
 * Policy packages (built in or third-party) use them in their own tests.
 *
 * @since 0.1.0
 */
import type { MigrationPlan } from "./MigrationPlan.js"
import type { PlanBudget } from "./Policy.js"
import * as ScanChunk from "./ScanChunk.js"
import type { TargetId } from "./Target.js"
import { targetId } from "./Target.js"
import type { Topology } from "./Topology.js"

/** @since 0.1.0 */
export const T1: TargetId = targetId(1)
/** @since 0.1.0 */
export const T2: TargetId = targetId(2)
/** Virtual page number where the crafted chunks' mapping starts. @since 0.1.0 */
export const MAP = 0x1000

/** A machine: node 0 and node 2 in the top tier, node 1 slow. */
export const topology = (
  free: { readonly n0?: number; readonly n1?: number; readonly n2?: number } = {},
  options: { readonly node2?: boolean } = {}
): Topology => ({
  pageSize: 4096,
  nodes: [
    { id: 0, tier: 0, capacityPages: 1000, freePages: free.n0 ?? 1000, cpus: [0], distances: [10, 20, 12] },
    { id: 1, tier: 1, capacityPages: 4000, freePages: free.n1 ?? 4000, cpus: [], distances: [20, 10, 20] },
    ...(options.node2 === false ? [] : [{ id: 2, tier: 0, capacityPages: 1000, freePages: free.n2 ?? 1000, cpus: [1], distances: [12, 20, 10] }])
  ]
})

/** Node 0 (top, 1000 pages) and node 1 (slow) only. */
export const twoNodes = (free0: number): Topology => topology({ n0: free0 }, { node2: false })

/** A plan budget with generous defaults. @since 0.1.0 */
export const budget = (options: {
  readonly maxPages?: number
  readonly topology?: Topology
  readonly destinations?: ReadonlyArray<number>
  readonly unavailable?: ReadonlyArray<number>
  readonly now?: number
} = {}): PlanBudget => ({
  maxPages: options.maxPages ?? 1_000_000,
  topology: options.topology ?? topology(),
  destinations: () => options.destinations ?? [0, 2],
  unavailable: new Set(options.unavailable ?? []),
  now: options.now ?? 0
})

/**
 * A chunk of mapping MAP (of `mappingPages`) from page offset `offset`, `length` pages on
 * `node`, with the listed offsets (relative to the chunk) accessed.
 */
export const chunk = (options: {
  readonly target?: TargetId
  readonly offset?: number
  readonly length: number
  readonly mappingPages?: number
  readonly node?: number | ((i: number) => number)
  readonly accessed?: Iterable<number>
}): ScanChunk.ScanChunk => {
  const c = ScanChunk.alloc({
    target: options.target ?? T1,
    mappingStart: MAP,
    mappingPages: options.mappingPages ?? 4096,
    start: MAP + (options.offset ?? 0),
    length: options.length
  })
  const node = options.node ?? 1
  for (let i = 0; i < options.length; i++) c.node[i] = typeof node === "number" ? node : node(i)
  for (let i = 0; i < options.length; i++) if (c.node[i] >= 0) c.present++
  for (const i of options.accessed ?? []) ScanChunk.setAccessed(c, i)
  return c
}

/** The integers [from, to). @since 0.1.0 */
export const range = (from: number, to: number): Array<number> => Array.from({ length: to - from }, (_, i) => from + i)

/** Page numbers of a plan, relative to MAP. */
export const offsets = (p: MigrationPlan): Array<number> => Array.from(p.pages.subarray(0, p.count), (v) => v - MAP)

/** Pages over a list of plans. @since 0.1.0 */
export const total = (plans: ReadonlyArray<MigrationPlan>): number => plans.reduce((s, p) => s + p.count, 0)

/** A small seeded generator (xorshift32), for repeatable random scans. */
export const rng = (seed: number) => {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 4294967296
  }
}
