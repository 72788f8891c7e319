/**
 * An in-memory backend for tests of the core and of plug-ins: a few nodes, targets
 * with mappings, accessed bits that tests set, and migrations that update occupancy.
 * It is a test double with controls (touch, kill, inject failures), not a simulator;
 * the simulated machine is `@kmm/backend-sim`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Backend as BackendService, Capabilities, ScanResult } from "./Backend.js"
import { Backend } from "./Backend.js"
import { BackendFailure, TargetGone } from "./Errors.js"
import type { MigrationOutcome, MigrationPlan } from "./MigrationPlan.js"
import { Status } from "./MigrationPlan.js"
import { accessedBits } from "./Observation.js"
import type { ScanChunk } from "./ScanChunk.js"
import { bitsetWords } from "./ScanChunk.js"
import type { Target, TargetId } from "./Target.js"
import { targetId } from "./Target.js"
import type { Topology } from "./Topology.js"

/**
 * A node of the test machine.
 *
 * @since 0.1.0
 */
export interface NodeSpec {
  readonly id: number
  readonly tier: number
  readonly capacityPages: number
}

/**
 * A target of the test machine: mappings (pages each) placed on `node`.
 *
 * @since 0.1.0
 */
export interface TargetSpec {
  readonly id?: number
  readonly name?: string
  /** Pages per mapping; a single number is one mapping. */
  readonly pages: number | ReadonlyArray<number>
  /** Node all pages start on (default: the first slow-tier node). */
  readonly node?: number
  /** Page ranges [from, to) (offsets in the target's page order) found accessed on every scan. */
  readonly hot?: ReadonlyArray<readonly [number, number]>
}

/**
 * @since 0.1.0
 */
export interface Options {
  /** Default: node 0 (top tier, 1M pages) and node 1 (tier 1, 4M pages). */
  readonly nodes?: ReadonlyArray<NodeSpec>
  readonly targets?: ReadonlyArray<TargetSpec>
  readonly pageSize?: number
  /** Largest chunk a scan returns (default 65536 pages). */
  readonly chunkPages?: number
}

/** Virtual page number where mapping k of a test target starts (gaps between mappings). */
export const mappingStart = (k: number): number => 0x100000 * (k + 1)

interface MappingState {
  readonly start: number
  readonly pages: number
  /** Offset of the mapping in the target's page order. */
  readonly offset: number
  readonly node: Int16Array
  readonly accessed: Uint32Array
  readonly hot: Uint32Array
}

interface TargetState {
  readonly id: TargetId
  readonly name: string
  readonly pages: number
  readonly mappings: Array<MappingState>
}

/**
 * The controls a test has over the test machine.
 *
 * @since 0.1.0
 */
export interface TestBackend {
  readonly backend: BackendService
  /** Marks pages [from, to) (in the target's page order) accessed until the next scan. */
  readonly touch: (target: number, from: number, to: number) => void
  /** Sets the pages found accessed on every scan. */
  readonly setHot: (target: number, ranges: ReadonlyArray<readonly [number, number]>) => void
  /** Makes a target vanish (scan and migrate then fail with TargetGone). */
  readonly kill: (target: number) => void
  /** Adds a target; returns its id. */
  readonly addTarget: (spec: TargetSpec) => number
  /** The node of page `index` (target page order), or -1. */
  readonly nodeOf: (target: number, index: number) => number
  /** Virtual page number of page `index` (target page order). */
  readonly vpnOf: (target: number, index: number) => number
  /** Pages in use per node. */
  readonly used: () => ReadonlyArray<number>
  /** The next `count` migrated pages fail with `status`. */
  readonly failNext: (status: number, count: number) => void
  /** The next scan call fails with a BackendFailure. */
  readonly failNextScan: () => void
  /** Changes a node's capacity. */
  readonly setCapacity: (node: number, pages: number) => void
  /** Scan and migrate calls made so far. */
  readonly calls: { scans: number; migrations: number }
}

/**
 * The controls' tag, provided by `layerTest` next to `Backend`.
 *
 * @since 0.1.0
 */
export const TestBackend: Context.Tag<TestBackend, TestBackend> = Context.GenericTag<TestBackend>("@kmm/core/TestBackend")

/**
 * Builds a test machine.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): TestBackend => {
  const pageSize = options.pageSize ?? 4096
  const chunkPages = options.chunkPages ?? 65536
  const nodes = [...(options.nodes ?? [{ id: 0, tier: 0, capacityPages: 1 << 20 }, { id: 1, tier: 1, capacityPages: 1 << 22 }])]
  const capacity = new Map(nodes.map((n) => [n.id, n.capacityPages]))
  const used = new Map(nodes.map((n) => [n.id, 0]))
  const slowNode = nodes.find((n) => n.tier > Math.min(...nodes.map((x) => x.tier)))?.id ?? nodes[0].id
  const targets = new Map<TargetId, TargetState>()
  const calls = { scans: 0, migrations: 0 }
  let failStatus = 0
  let failCount = 0
  let scanFailures = 0
  let nextId = 1

  const addTarget = (spec: TargetSpec): number => {
    const id = targetId(spec.id ?? nextId)
    nextId = Math.max(nextId, id + 1)
    const sizes = typeof spec.pages === "number" ? [spec.pages] : spec.pages
    const node = spec.node ?? slowNode
    let offset = 0
    const mappings = sizes.map((pages, k) => {
      const m: MappingState = {
        start: mappingStart(k),
        pages,
        offset,
        node: new Int16Array(pages).fill(node),
        accessed: new Uint32Array(bitsetWords(pages)),
        hot: new Uint32Array(bitsetWords(pages))
      }
      offset += pages
      return m
    })
    used.set(node, (used.get(node) ?? 0) + offset)
    const target: TargetState = { id, name: spec.name ?? `task-${id}`, pages: offset, mappings }
    targets.set(id, target)
    if (spec.hot) setHot(id, spec.hot)
    return id
  }

  const forRange = (target: number, from: number, to: number, f: (m: MappingState, i: number) => void) => {
    const t = targets.get(targetId(target))
    if (t === undefined) return
    for (const m of t.mappings) {
      const lo = Math.max(from, m.offset)
      const hi = Math.min(to, m.offset + m.pages)
      for (let p = lo; p < hi; p++) f(m, p - m.offset)
    }
  }

  const setBits = (words: Uint32Array, from: number, to: number) => {
    for (let i = from; i < to; ) {
      if ((i & 31) === 0 && i + 32 <= to) {
        words[i >>> 5] = 0xffffffff
        i += 32
      } else {
        words[i >>> 5] |= 1 << (i & 31)
        i++
      }
    }
  }

  const setHot = (target: number, ranges: ReadonlyArray<readonly [number, number]>) => {
    const t = targets.get(targetId(target))
    if (t === undefined) return
    for (const m of t.mappings) m.hot.fill(0)
    for (const [from, to] of ranges) {
      for (const m of t.mappings) {
        const lo = Math.max(from, m.offset) - m.offset
        const hi = Math.min(to, m.offset + m.pages) - m.offset
        if (hi > lo) setBits(m.hot, lo, hi)
      }
    }
  }

  const topology: Effect.Effect<Topology> = Effect.sync(() => ({
    pageSize,
    nodes: nodes.map((n) => ({
      id: n.id,
      tier: n.tier,
      capacityPages: capacity.get(n.id) ?? 0,
      freePages: Math.max(0, (capacity.get(n.id) ?? 0) - (used.get(n.id) ?? 0)),
      cpus: n.tier === 0 ? [n.id] : [],
      distances: nodes.map((o) => (o.id === n.id ? 10 : 20 + 10 * Math.abs(o.tier - n.tier))),
      label: n.tier === 0 ? "DRAM" : "slow"
    }))
  }))

  const capabilities: Capabilities = {
    sources: [
      { kind: "accessed-bit", name: "test", available: true },
      { kind: "soft-dirty", name: "test", available: false, reason: "the test backend has accessed bits only" },
      { kind: "sampled-access", name: "test", available: false, reason: "the test backend has accessed bits only" },
      { kind: "region-sample", name: "test", available: false, reason: "the test backend has accessed bits only" }
    ],
    canDemote: true,
    reportsPfn: false
  }

  /**
   * Harvests one chunk: copies accessed | hot bits and clears accessed. Chunks start
   * on 32-page boundaries of their mapping, so whole words are copied. O(length / 32 + length).
   */
  const harvest = (t: TargetState, m: MappingState, offset: number, length: number): ScanChunk => {
    const w0 = offset >>> 5
    const words = bitsetWords(length)
    const accessed = new Uint32Array(words)
    const touched = m.accessed
    const hot = m.hot
    for (let w = 0; w < words; w++) {
      accessed[w] = touched[w0 + w] | hot[w0 + w]
      touched[w0 + w] = 0
    }
    const tail = length & 31
    if (tail !== 0) accessed[words - 1] &= (1 << tail) - 1
    const node = m.node.slice(offset, offset + length)
    let present = 0
    for (let i = 0; i < length; i++) if (node[i] >= 0) present++
    return { target: t.id, mappingStart: m.start, mappingPages: m.pages, start: m.start + offset, length, accessed, node, present }
  }

  const scan = (id: TargetId, from: number, budget: number): Effect.Effect<ScanResult, TargetGone | BackendFailure> =>
    Effect.suspend((): Effect.Effect<ScanResult, TargetGone | BackendFailure> => {
      calls.scans++
      if (scanFailures > 0) {
        scanFailures--
        return Effect.fail(new BackendFailure({ operation: "scan", reason: "injected failure" }))
      }
      const t = targets.get(id)
      if (t === undefined) return Effect.fail(new TargetGone({ target: id, operation: "scan" }))
      const observations = []
      let scanned = 0
      let cursor: number | null = from
      for (const m of t.mappings) {
        if (cursor === null || scanned >= budget) break
        if (cursor >= m.start + m.pages) continue
        let offset = Math.max(0, cursor - m.start)
        offset -= offset & 31 // chunks start on word boundaries of the mapping
        while (offset < m.pages && scanned < budget) {
          let length = Math.min(m.pages - offset, chunkPages, budget - scanned)
          if (offset + length < m.pages) length = Math.max(32, length - (length & 31))
          length = Math.min(length, m.pages - offset)
          observations.push(accessedBits(harvest(t, m, offset, length)))
          scanned += length
          offset += length
        }
        cursor = offset < m.pages ? m.start + offset : m.start + m.pages
      }
      const last = t.mappings[t.mappings.length - 1]
      const done = last === undefined || (cursor !== null && cursor >= last.start + last.pages)
      return Effect.succeed({ observations, scanned, next: done ? null : cursor })
    })

  const locate = (t: TargetState, vpn: number): [MappingState, number] | undefined => {
    for (const m of t.mappings) if (vpn >= m.start && vpn < m.start + m.pages) return [m, vpn - m.start]
    return undefined
  }

  const migrate = (plan: MigrationPlan): Effect.Effect<MigrationOutcome, TargetGone> =>
    Effect.suspend(() => {
      calls.migrations++
      const t = targets.get(plan.target)
      if (t === undefined) return Effect.fail(new TargetGone({ target: plan.target, operation: "migrate" }))
      const status = new Int16Array(plan.count)
      for (let i = 0; i < plan.count; i++) {
        const where = locate(t, plan.pages[i])
        if (where === undefined) {
          status[i] = Status.GONE
          continue
        }
        const [m, idx] = where
        const from = m.node[idx]
        if (failCount > 0) {
          failCount--
          status[i] = failStatus
          continue
        }
        if (!capacity.has(plan.destination)) {
          status[i] = Status.INVALID
          continue
        }
        if (from !== plan.destination) {
          if ((used.get(plan.destination) ?? 0) >= (capacity.get(plan.destination) ?? 0)) {
            status[i] = Status.NO_MEMORY
            continue
          }
          used.set(from, (used.get(from) ?? 0) - 1)
          used.set(plan.destination, (used.get(plan.destination) ?? 0) + 1)
          m.node[idx] = plan.destination
        }
        status[i] = plan.destination
      }
      return Effect.succeed({ status })
    })

  for (const spec of options.targets ?? []) addTarget(spec)

  const backend: BackendService = {
    name: "test",
    capabilities: Effect.succeed(capabilities),
    topology,
    targets: Effect.sync((): ReadonlyArray<Target> => [...targets.values()].map((t) => ({ id: t.id, name: t.name, pages: t.pages }))),
    scan,
    migrate
  }

  return {
    backend,
    touch: (target, from, to) =>
      forRange(target, from, to, (m, i) => {
        m.accessed[i >>> 5] |= 1 << (i & 31)
      }),
    setHot,
    kill: (target) => {
      const t = targets.get(targetId(target))
      if (t === undefined) return
      for (const m of t.mappings) for (let i = 0; i < m.pages; i++) used.set(m.node[i], (used.get(m.node[i]) ?? 0) - 1)
      targets.delete(targetId(target))
    },
    addTarget,
    nodeOf: (target, index) => {
      let node = -1
      forRange(target, index, index + 1, (m, i) => {
        node = m.node[i]
      })
      return node
    },
    vpnOf: (target, index) => {
      let vpn = -1
      forRange(target, index, index + 1, (m, i) => {
        vpn = m.start + i
      })
      return vpn
    },
    used: () => nodes.map((n) => used.get(n.id) ?? 0),
    failNext: (status, count) => {
      failStatus = status
      failCount = count
    },
    failNextScan: () => {
      scanFailures++
    },
    setCapacity: (node, pages) => {
      capacity.set(node, pages)
    },
    calls
  }
}

/**
 * A layer providing both `Backend` and the `TestBackend` controls.
 *
 * @since 0.1.0
 */
export const layerTest = (options: Options = {}): Layer.Layer<Backend | TestBackend> =>
  Layer.effectContext(
    Effect.sync(() => {
      const tb = make(options)
      return Context.make(Backend, tb.backend).pipe(Context.add(TestBackend, tb))
    })
  )
