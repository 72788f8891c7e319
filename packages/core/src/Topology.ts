/**
 * Nodes and memory tiers of a machine, as a backend reports them.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * One memory node. `tier` is a rank: 0 is the top (fastest) tier, larger is slower.
 *
 * @since 0.1.0
 */
export const Node = Schema.Struct({
  id: Schema.Int.pipe(Schema.nonNegative()),
  tier: Schema.Int.pipe(Schema.nonNegative()),
  capacityPages: Schema.Number.pipe(Schema.nonNegative()),
  freePages: Schema.Number.pipe(Schema.nonNegative()),
  cpus: Schema.Array(Schema.Int),
  /** Distance to every node, by node id order of `nodes` (SLIT-style, 10 = local). */
  distances: Schema.Array(Schema.Number),
  /** Mean access latency in nanoseconds, where the backend knows it. */
  latencyNs: Schema.optional(Schema.Number),
  /** Bandwidth in bytes per second, where the backend knows it. */
  bandwidthBytesPerSec: Schema.optional(Schema.Number),
  /** Free-form label, e.g. "DRAM", "CXL", "memory_tier22". */
  label: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export interface Node extends Schema.Schema.Type<typeof Node> {}

/**
 * The whole machine: nodes and the page size in bytes.
 *
 * @since 0.1.0
 */
export const Topology = Schema.Struct({
  pageSize: Schema.Int.pipe(Schema.positive()),
  nodes: Schema.Array(Node)
})

/** @since 0.1.0 */
export interface Topology extends Schema.Schema.Type<typeof Topology> {}

/**
 * Nodes of the top tier (rank 0 or the smallest rank present), in id order.
 *
 * @since 0.1.0
 */
export const topTierNodes = (topology: Topology): ReadonlyArray<Node> => {
  const top = Math.min(...topology.nodes.map((n) => n.tier))
  return topology.nodes.filter((n) => n.tier === top)
}

/**
 * Whether `node` is in the top tier.
 *
 * @since 0.1.0
 */
export const isTopTier = (topology: Topology, node: number): boolean => {
  const top = Math.min(...topology.nodes.map((n) => n.tier))
  return topology.nodes.some((n) => n.id === node && n.tier === top)
}

/**
 * A lookup table from node id to tier rank (-1 for unknown ids), for hot loops.
 *
 * @since 0.1.0
 */
export const tierTable = (topology: Topology): Int16Array => {
  const max = topology.nodes.reduce((m, n) => Math.max(m, n.id), 0)
  const table = new Int16Array(max + 1).fill(-1)
  for (const n of topology.nodes) table[n.id] = n.tier
  return table
}

/**
 * The node with the given id, if any.
 *
 * @since 0.1.0
 */
export const node = (topology: Topology, id: number): Node | undefined => topology.nodes.find((n) => n.id === id)

/**
 * Number of pages in `bytes` (rounded down).
 *
 * @since 0.1.0
 */
export const pagesOf = (topology: Topology, bytes: number): number => Math.floor(bytes / topology.pageSize)
