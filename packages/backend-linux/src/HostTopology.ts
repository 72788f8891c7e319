/**
 * Nodes and memory tiers of the host, from sysfs:
 * - nodes with memory: /sys/devices/system/node/has_memory; per node its CPUs
 *   (cpulist), distances (distance), capacity and free memory (meminfo), and, where
 *   the firmware describes them (ACPI HMAT), read latency and bandwidth
 *   (access0/initiators/read_latency, read_bandwidth);
 * - tiers: /sys/devices/virtual/memory_tiering/memory_tierN/nodelist. A smaller N is
 *   a faster tier; ranks are given in that order, 0 for the top tier. On kernels
 *   without memory tiering, nodes with CPUs rank 0 and CPU-less nodes rank 1;
 * - which node each physical memory block belongs to (nodeN/memoryM and
 *   /sys/devices/system/memory/block_size_bytes), to map page frame numbers to nodes.
 *
 * Everything is re-read on each call (a few small files per node), so topology changes
 * (memory onlined, a node added, free memory) are seen at the next call.
 *
 * @since 0.1.0
 */
import { BackendFailure } from "@kmm/core/Errors"
import type { Node, Topology } from "@kmm/core/Topology"
import * as Effect from "effect/Effect"
import * as host from "./internal/host.js"
import * as sys from "./internal/sys.js"

/**
 * The physical memory of one node: runs of page frame numbers [start, end).
 *
 * @since 0.1.0
 */
export interface NodeMemory {
  readonly node: number
  readonly ranges: ReadonlyArray<readonly [number, number]>
}

/**
 * What the host says of its memory.
 *
 * @since 0.1.0
 */
export interface Host {
  readonly topology: Topology
  /** Pages per memory block. */
  readonly blockPages: number
  /** Node of each memory block (by block number), -1 where none. */
  readonly nodeOfBlock: Int16Array
  /** Physical memory of each node. */
  readonly memory: ReadonlyArray<NodeMemory>
}

const NODE = "/sys/devices/system/node"
const TIERS = "/sys/devices/virtual/memory_tiering"

const kib = (meminfo: string, key: string): number => {
  const m = new RegExp(`\\b${key}:\\s+(\\d+) kB`).exec(meminfo)
  return m === null ? 0 : Number(m[1])
}

const numberFile = (path: string): number | undefined => {
  const text = sys.readTextOr(path)
  if (text === undefined) return undefined
  const n = Number(text.trim())
  return Number.isFinite(n) ? n : undefined
}

/** Tier id of each node from memory_tiering, or an empty map without it. */
const tierIds = (): Map<number, number> => {
  const tiers = new Map<number, number>()
  for (const entry of sys.listDir(TIERS)) {
    const m = /^memory_tier(\d+)$/.exec(entry)
    if (m === null) continue
    const list = sys.readTextOr(`${TIERS}/${entry}/nodelist`)
    if (list === undefined) continue
    for (const node of host.parseList(list)) tiers.set(node, Number(m[1]))
  }
  return tiers
}

/**
 * Reads the host's nodes, tiers and memory blocks.
 *
 * @since 0.1.0
 */
export const read: Effect.Effect<Host, BackendFailure> = Effect.suspend(() => {
  const pageSize = host.pageSize()
  const hasMemory = sys.readTextOr(`${NODE}/has_memory`)
  if (hasMemory === undefined) {
    return Effect.fail(
      new BackendFailure({
        operation: "topology",
        reason: `${NODE}/has_memory is not readable`,
        hint: "kmm needs sysfs mounted at /sys and a kernel with NUMA support (CONFIG_NUMA)"
      })
    )
  }
  const ids = host.parseList(hasMemory)
  const online = host.parseList(sys.readTextOr(`${NODE}/online`) ?? hasMemory)
  const tierOf = tierIds()
  const blockBytes = parseInt((sys.readTextOr("/sys/devices/system/memory/block_size_bytes") ?? "8000000").trim(), 16)
  const blockPages = Math.max(1, Math.floor(blockBytes / pageSize))

  const blocksOf = new Map<number, Array<number>>()
  let maxBlock = -1
  for (const id of ids) {
    const blocks: Array<number> = []
    for (const entry of sys.listDir(`${NODE}/node${id}`)) {
      const m = /^memory(\d+)$/.exec(entry)
      if (m === null) continue
      const block = Number(m[1])
      if (sys.readTextOr(`/sys/devices/system/memory/${entry}/online`)?.trim() === "0") continue
      blocks.push(block)
      if (block > maxBlock) maxBlock = block
    }
    blocks.sort((a, b) => a - b)
    blocksOf.set(id, blocks)
  }
  const nodeOfBlock = new Int16Array(maxBlock + 1).fill(-1)
  const memory: Array<NodeMemory> = []
  for (const [node, blocks] of blocksOf) {
    const ranges: Array<[number, number]> = []
    for (const b of blocks) {
      nodeOfBlock[b] = node
      const last = ranges[ranges.length - 1]
      if (last !== undefined && last[1] === b * blockPages) last[1] = (b + 1) * blockPages
      else ranges.push([b * blockPages, (b + 1) * blockPages])
    }
    memory.push({ node, ranges })
  }

  // Tier ranks: distinct tier ids in ascending order (smaller id = faster tier).
  const rankOfTier = new Map([...new Set(ids.map((id) => tierOf.get(id) ?? -1))].filter((t) => t >= 0).sort((a, b) => a - b).map((t, i) => [t, i]))
  const nodes: Array<Node> = ids.map((id) => {
    const dir = `${NODE}/node${id}`
    const meminfo = sys.readTextOr(`${dir}/meminfo`) ?? ""
    const cpus = host.parseList(sys.readTextOr(`${dir}/cpulist`) ?? "")
    const distanceRow = (sys.readTextOr(`${dir}/distance`) ?? "").trim().split(/\s+/).map(Number)
    const distances = ids.map((other) => {
      const d = distanceRow[online.indexOf(other)]
      return d !== undefined && Number.isFinite(d) ? d : other === id ? 10 : 20
    })
    const tierId = tierOf.get(id)
    const tier = tierId !== undefined ? (rankOfTier.get(tierId) ?? 0) : cpus.length > 0 ? 0 : 1
    const latency = numberFile(`${dir}/access0/initiators/read_latency`)
    const bandwidth = numberFile(`${dir}/access0/initiators/read_bandwidth`)
    return {
      id,
      tier,
      capacityPages: Math.floor((kib(meminfo, "MemTotal") * 1024) / pageSize),
      freePages: Math.floor((kib(meminfo, "MemFree") * 1024) / pageSize),
      cpus,
      distances,
      ...(latency !== undefined && latency > 0 ? { latencyNs: latency } : {}),
      ...(bandwidth !== undefined && bandwidth > 0 ? { bandwidthBytesPerSec: bandwidth * 1e6 } : {}),
      label: tierId !== undefined ? `memory_tier${tierId}` : cpus.length > 0 ? "DRAM" : "CPU-less"
    }
  })
  return Effect.succeed({ topology: { pageSize, nodes }, blockPages, nodeOfBlock, memory })
})

/**
 * The node of a page frame number, or -1 when no online memory block of a node holds it.
 *
 * @since 0.1.0
 */
export const nodeOfPfn = (h: Host, pfn: number): number => {
  const block = Math.floor(pfn / h.blockPages)
  return block < h.nodeOfBlock.length ? h.nodeOfBlock[block] : -1
}
