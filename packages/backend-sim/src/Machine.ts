/**
 * The simulated machine, synchronous: nodes, tasks with page tables in typed arrays,
 * workloads, the scan and migrate operations, costs, faults, and result accounting.
 * Every operation takes the current time (ms of the caller's clock); `SimBackend`
 * wraps it in Effect with the time from `Clock`.
 *
 * State per page, in page order of each task (bytes): node (Int8, -1 = not present) 1,
 * heat class (Uint8) 1, last migration (Uint8: direction and a time bucket, for
 * ping-pong) 1; plus the last-harvest time per 512-page segment (8 / 512) and, for
 * trace replay only, a touched bitset (1/8). About 3.02 bytes a page.
 *
 * Results are exact integrals: pages per (task, class, node) are counted as pages
 * move, so the expected accesses served by each tier are rate x pages x time, summed
 * between changes, without a pass over the pages.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { ScanResult } from "@kmm/core/Backend"
import type { MigrationOutcome, MigrationPlan } from "@kmm/core/MigrationPlan"
import { Status } from "@kmm/core/MigrationPlan"
import type { Observation } from "@kmm/core/Observation"
import { accessedBits } from "@kmm/core/Observation"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import type { Target, TargetId } from "@kmm/core/Target"
import { targetId } from "@kmm/core/Target"
import type { Topology } from "@kmm/core/Topology"
import { Accumulator } from "./internal/accumulator.js"
import { drawBits, drawBitsDirty, drawBitsUniform, popcount32, setRange } from "./internal/harvest.js"
import { Rng, seedState, threshold31 } from "./internal/prng.js"
import type { IntervalResult, NodeOccupancy, SimEvent, Summary } from "./Results.js"
import { recoveries } from "./Results.js"
import type { Resolved, ResolvedNode, ResolvedTask } from "./SimConfig.js"
import { SEGMENT_PAGES } from "./SimConfig.js"
import * as Trace from "./Trace.js"
import type { Classes, Workload } from "./Workload.js"
import { classify, describe, MAX_CLASSES } from "./Workload.js"

const SEG = SEGMENT_PAGES
const MOVE_PROMOTED = 0x40
const MOVE_DEMOTED = 0x80

/**
 * A scan step: the backend's result and the virtual CPU time it cost.
 *
 * @since 0.1.0
 */
export interface ScanStep {
  readonly result: ScanResult
  readonly costNs: number
}

/**
 * A migrate step: the per-page outcome and the virtual time it cost.
 *
 * @since 0.1.0
 */
export interface MigrateStep {
  readonly outcome: MigrationOutcome
  readonly costNs: number
}

/**
 * The oracle now: the best static placement of the current rates.
 *
 * @since 0.1.0
 */
export interface Oracle {
  /** Share of accesses it serves from the top tier. */
  readonly share: number
  /** Its mean access latency, ns. */
  readonly latencyNs: number
  /** Pages it puts on each node. */
  readonly pagesOnNode: ReadonlyArray<number>
}

/**
 * True access rates of one mapping (accesses per second of each page).
 *
 * @since 0.1.0
 */
export interface MappingRates {
  readonly start: number
  readonly rates: Float32Array
}

interface MappingState {
  /** First virtual page number. */
  readonly start: number
  readonly pages: number
  /** Offset in the task's page order. */
  readonly offset: number
  /** Index of the mapping's first segment. */
  readonly seg0: number
}

type Mode = "rate" | "stream" | "trace"

interface TraceReplay {
  readonly events: Trace.TaskEvents
  readonly loop: boolean
  /** Absolute time of the current loop's start. */
  base: number
  next: number
}

/** One task: page tables and workload state. */
class TaskState {
  readonly id: TargetId
  readonly name: string
  readonly pages: number
  readonly mappings: ReadonlyArray<MappingState>
  readonly node: Int8Array
  readonly heat: Uint8Array
  readonly move: Uint8Array
  readonly segTime: Float64Array
  /** Pages per (class, node slot); slot `nodes` is "not present". */
  readonly cn: Float64Array
  /** Nodes tried for first touch, best first. */
  readonly fallback: ReadonlyArray<number>
  readonly cpuNode: number
  readonly spec: ResolvedTask
  touched: Uint32Array | undefined
  classes: Classes = { rates: new Float64Array(MAX_CLASSES), counts: new Float64Array(MAX_CLASSES), size: 1 }
  workload: Workload = { kind: "idle", writeFraction: 0 }
  mode: Mode = "rate"
  writeFraction = 0
  phaseStart = 0
  notPresent = 0
  replay: TraceReplay | undefined
  /** Latency per node slot for this task's read/write mix, ns. */
  latency: Float64Array
  /** Threshold cache, valid for `thrDt`. */
  thrDt = Number.NaN
  readonly thr = new Int32Array(MAX_CLASSES)
  readonly thrW = new Int32Array(MAX_CLASSES)
  /** Oracle pages per (class, node slot). */
  oracleFill: Float64Array

  constructor(spec: ResolvedTask, slots: number, fallback: ReadonlyArray<number>) {
    this.spec = spec
    this.id = targetId(spec.id)
    this.name = spec.name
    this.pages = spec.pages
    let offset = 0
    let seg = 0
    let vpn = 0x400
    this.mappings = spec.mappings.map((m) => {
      const state = { start: vpn, pages: m.pages, offset, seg0: seg }
      offset += m.pages
      seg += Math.ceil(m.pages / SEG)
      // The next mapping starts on a segment boundary, 1 GiB of 4 KiB pages further (a gap between VMAs).
      vpn = Math.ceil((vpn + m.pages) / SEG) * SEG + 262_144
      return state
    })
    this.node = new Int8Array(this.pages).fill(-1)
    this.notPresent = this.pages
    this.heat = new Uint8Array(this.pages)
    this.move = new Uint8Array(this.pages)
    this.segTime = new Float64Array(seg)
    this.cn = new Float64Array(MAX_CLASSES * slots)
    this.oracleFill = new Float64Array(MAX_CLASSES * slots)
    this.latency = new Float64Array(slots)
    this.fallback = fallback
    this.cpuNode = spec.cpuNode
  }

  /** The mapping holding page-order index `p`. O(log mappings). */
  mappingOfIndex(p: number): MappingState {
    const ms = this.mappings
    let lo = 0
    let hi = ms.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (ms[mid].offset <= p) lo = mid
      else hi = mid - 1
    }
    return ms[lo]
  }

  /** Page-order index of virtual page `vpn`, or -1 when no mapping holds it. O(log mappings). */
  indexOf(vpn: number): number {
    const ms = this.mappings
    let lo = 0
    let hi = ms.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (ms[mid].start <= vpn) lo = mid
      else hi = mid - 1
    }
    const m = ms[lo]
    return vpn >= m.start && vpn < m.start + m.pages && Number.isInteger(vpn) ? m.offset + (vpn - m.start) : -1
  }

  bytes(): number {
    return (
      this.node.byteLength +
      this.heat.byteLength +
      this.move.byteLength +
      this.segTime.byteLength +
      (this.touched?.byteLength ?? 0) +
      this.cn.byteLength +
      this.oracleFill.byteLength
    )
  }
}

interface Scheduled {
  readonly at: number
  readonly seq: number
  readonly apply: () => void
}

/** Growable buffers for sampled accesses of one scan call. */
class Samples {
  count = 0
  readonly page: Float64Array
  readonly time: Float64Array
  readonly cpuNode: Int16Array
  readonly pageNode: Int16Array
  readonly sampledAt: Float64Array
  constructor(readonly limit: number) {
    this.page = new Float64Array(limit)
    this.time = new Float64Array(limit)
    this.cpuNode = new Int16Array(limit)
    this.pageNode = new Int16Array(limit)
    this.sampledAt = new Float64Array(limit)
  }
}

/**
 * The machine.
 *
 * @since 0.1.0
 */
export class Machine {
  /** The configuration it was built from. */
  readonly config: Resolved
  /** Clock time at which the simulation started, ms. */
  readonly startMs: number
  readonly pageSize: number

  private readonly nodes: ReadonlyArray<ResolvedNode>
  private readonly slots: number
  private readonly capacity: Float64Array
  private readonly used: Float64Array
  private readonly isTop: Uint8Array
  private readonly tierOf: Int16Array
  private readonly distance: ReadonlyArray<ReadonlyArray<number>>
  /** Node ids by rising latency (the oracle's fill order). */
  private readonly byLatency: ReadonlyArray<number>
  private readonly tasks = new Map<number, TaskState>()
  private readonly traces: Map<string, Trace.Trace>
  private readonly schedule: Array<Scheduled> = []
  private seq = 0
  private scanState: number
  private readonly aux: Rng
  private failureRate: number

  // Rates now (accesses per second) and their integrals.
  private rateTotal = 0
  private rateTop = 0
  private rateLatency = 0
  private oracleTotal = 0
  private oracleTop = 0
  private oracleLatency = 0
  private oraclePages: Array<number> = []
  private lastIntegrate: number
  private interval = new Accumulator()
  private readonly total = new Accumulator()
  private intervalStart: number
  private intervalIndex = 0
  private readonly past: Array<IntervalResult> = []
  private readonly log: Array<SimEvent> = []
  private intervalEvents: Array<SimEvent> = []

  // Ping-pong: time buckets of window / 16, swept every 16 buckets.
  private readonly bucketMs: number
  private lastSweep = 0

  private constructor(config: Resolved, startMs: number, traces: ReadonlyMap<string, Trace.Trace>) {
    this.config = config
    this.startMs = startMs
    this.pageSize = config.pageSize
    this.nodes = config.nodes
    this.slots = config.nodes.length + 1
    this.capacity = Float64Array.from(config.nodes, (n) => n.capacityPages)
    this.used = new Float64Array(config.nodes.length)
    const topTier = Math.min(...config.nodes.map((n) => n.tier))
    this.isTop = Uint8Array.from(config.nodes, (n) => (n.tier === topTier ? 1 : 0))
    this.tierOf = Int16Array.from(config.nodes, (n) => n.tier)
    this.distance = config.nodes.map((a) =>
      config.nodes.map((b) => (a.id === b.id ? 10 : Math.max(11, Math.round((10 * Math.max(a.latencyNs, b.latencyNs)) / Math.min(a.latencyNs, b.latencyNs)))))
    )
    this.byLatency = [...config.nodes].sort((a, b) => a.latencyNs - b.latencyNs || a.tier - b.tier || a.id - b.id).map((n) => n.id)
    this.traces = new Map(traces)
    this.scanState = seedState(config.seed, 1)
    this.aux = new Rng(seedState(config.seed, 2))
    this.failureRate = config.faults.migrateFailureRate
    this.lastIntegrate = startMs
    this.intervalStart = startMs
    this.bucketMs = config.results.pingPongWindowMs / 16
  }

  /**
   * Builds a machine starting at clock time `startMs`. Trace files named by trace
   * workloads must be in `traces` (by file name); inline traces are parsed here.
   *
   * @since 0.1.0
   */
  static make(
    config: Resolved,
    options: { readonly startMs?: number; readonly traces?: ReadonlyMap<string, Trace.Trace> } = {}
  ): Either.Either<Machine, Trace.TraceError> {
    const machine = new Machine(config, options.startMs ?? 0, options.traces ?? new Map())
    for (const t of config.tasks) {
      const checked = machine.checkTraces(t)
      if (Either.isLeft(checked)) return Either.left(checked.left)
    }
    for (const t of config.tasks) machine.scheduleTask(t)
    for (const c of config.faults.capacity) {
      machine.at(machine.startMs + c.atMs, () => machine.applyCapacity(c.node, c.capacityPages, machine.startMs + c.atMs))
    }
    machine.advance(machine.startMs)
    return Either.right(machine)
  }

  // ---------------------------------------------------------------- time and events

  /**
   * Brings the machine to time `now`: applies scheduled starts, phase changes, exits,
   * capacity changes and trace events due by then, and integrates the results.
   *
   * @since 0.1.0
   */
  advance(now: number): void {
    while (this.schedule.length > 0 && this.schedule[0].at <= now) {
      const ev = this.schedule.shift()!
      this.replayTraces(ev.at)
      this.integrate(ev.at)
      ev.apply()
    }
    this.replayTraces(now)
    this.integrate(now)
    this.maybeSweep(now)
  }

  private at(time: number, apply: () => void): void {
    const ev = { at: time, seq: this.seq++, apply }
    let i = this.schedule.length
    while (i > 0 && this.schedule[i - 1].at > time) i--
    this.schedule.splice(i, 0, ev)
  }

  private event(now: number, kind: SimEvent["kind"], subject: number, detail: string): void {
    const e: SimEvent = { atMs: now - this.startMs, kind, subject, detail }
    this.log.push(e)
    this.intervalEvents.push(e)
  }

  /** Adds rate x time since the last call to the interval's sums. O(1). */
  private integrate(now: number): void {
    const dt = (now - this.lastIntegrate) / 1000
    if (!(dt > 0)) return
    const a = this.interval
    a.accesses += this.rateTotal * dt
    a.top += this.rateTop * dt
    a.latency += this.rateLatency * dt
    a.oAccesses += this.oracleTotal * dt
    a.oTop += this.oracleTop * dt
    a.oLatency += this.oracleLatency * dt
    this.lastIntegrate = now
  }

  /** Recomputes the rate sums from the per-class page counts. O(tasks x classes x nodes). */
  private rebuildRates(): void {
    const S = this.slots
    const N = S - 1
    let total = 0
    let top = 0
    let latency = 0
    for (const t of this.tasks.values()) {
      if (t.mode === "trace") continue // replayed accesses are counted one by one
      const rates = t.classes.rates
      for (let c = 0; c < t.classes.size; c++) {
        const r = rates[c]
        if (r === 0) continue
        for (let s = 0; s < S; s++) {
          const pages = t.cn[c * S + s]
          if (pages === 0) continue
          const a = r * pages
          total += a
          if (s < N && this.isTop[s] === 1) top += a
          latency += a * t.latency[s]
        }
      }
    }
    this.rateTotal = total
    this.rateTop = top
    this.rateLatency = latency
  }

  /**
   * The oracle: every (task, class) group by falling rate, onto nodes by rising
   * latency, up to each node's capacity. O(groups log groups + groups x nodes).
   */
  private rebuildOracle(): void {
    const S = this.slots
    const N = S - 1
    const groups: Array<{ t: TaskState; c: number; r: number; pages: number }> = []
    for (const t of this.tasks.values()) {
      t.oracleFill.fill(0)
      for (let c = 0; c < t.classes.size; c++) if (t.classes.counts[c] > 0) groups.push({ t, c, r: t.classes.rates[c], pages: t.classes.counts[c] })
    }
    groups.sort((a, b) => b.r - a.r || a.t.id - b.t.id || a.c - b.c)
    const order = this.byLatency
    const room = Array.from(this.capacity)
    const onNode = new Array<number>(N).fill(0)
    let total = 0
    let top = 0
    let latency = 0
    for (const g of groups) {
      let left = g.pages
      total += g.r * g.pages
      for (const n of order) {
        if (left === 0) break
        const take = Math.min(left, room[n])
        if (take <= 0) continue
        room[n] -= take
        left -= take
        onNode[n] += take
        g.t.oracleFill[g.c * S + n] += take
        if (this.isTop[n] === 1) top += g.r * take
        latency += g.r * take * g.t.latency[n]
      }
      if (left > 0) {
        g.t.oracleFill[g.c * S + N] += left
        latency += g.r * left * g.t.latency[N]
      }
    }
    this.oracleTotal = total
    this.oracleTop = top
    this.oracleLatency = latency
    this.oraclePages = onNode
  }

  // ---------------------------------------------------------------- tasks

  private checkTraces(t: ResolvedTask): Either.Either<void, Trace.TraceError> {
    for (const p of t.phases) {
      const w = p.workload
      if (w.kind !== "trace") continue
      const trace = this.traceOf(w)
      if (Either.isLeft(trace)) return trace
      const col = w.task ?? t.id
      const events = Trace.forTask(trace.right, col)
      if (events.count === 0) {
        return Either.left(new Trace.TraceError({ source: trace.right.source, line: 0, reason: `no events for task ${col} (task "${t.name}")` }))
      }
      for (let i = 0; i < events.count; i++) {
        if (events.page[i] >= t.pages) {
          return Either.left(
            new Trace.TraceError({
              source: trace.right.source,
              line: events.line[i],
              reason: `page ${events.page[i]} is beyond task ${col} ("${t.name}"), which has ${t.pages} pages`
            })
          )
        }
      }
    }
    return Either.right(undefined)
  }

  private traceOf(w: Extract<Workload, { kind: "trace" }>): Either.Either<Trace.Trace, Trace.TraceError> {
    if (w.text !== undefined) return Trace.parse(w.text)
    const found = this.traces.get(w.file ?? "")
    return found !== undefined
      ? Either.right(found)
      : Either.left(new Trace.TraceError({ source: w.file ?? "", line: 0, reason: "the trace file was not loaded" }))
  }

  private scheduleTask(spec: ResolvedTask): void {
    const start = this.startMs + spec.startMs
    this.at(start, () => this.startTask(spec, start))
    for (let k = 1; k < spec.phases.length; k++) {
      const at = this.startMs + spec.phases[k].atMs
      const phase = spec.phases[k]
      this.at(at, () => {
        const t = this.tasks.get(spec.id)
        if (t !== undefined) this.applyPhase(t, phase.workload, at)
      })
    }
    if (spec.exitAtMs !== undefined) {
      const at = this.startMs + spec.exitAtMs
      this.at(at, () => {
        if (this.tasks.has(spec.id)) this.removeTask(spec.id, at, "exited")
      })
    }
  }

  private fallbackOf(preferred: number): ReadonlyArray<number> {
    return [...this.nodes]
      .sort((a, b) => this.distance[preferred][a.id] - this.distance[preferred][b.id] || a.tier - b.tier || a.id - b.id)
      .map((n) => n.id)
  }

  /** The task starts: classify its first phase, then first-touch every page in order. O(pages). */
  private startTask(spec: ResolvedTask, now: number): void {
    const t = new TaskState(spec, this.slots, this.fallbackOf(spec.node))
    this.tasks.set(spec.id, t)
    t.segTime.fill(now)
    this.setWorkload(t, spec.phases[0].workload, now)
    // First touch, in page order: each node in fallback order takes what fits. O(pages).
    let p = 0
    for (const n of t.fallback) {
      if (p >= t.pages) break
      const take = Math.min(t.pages - p, Math.max(0, this.capacity[n] - this.used[n]))
      if (take === 0) continue
      t.node.fill(n, p, p + take)
      this.used[n] += take
      p += take
    }
    t.notPresent = t.pages - p
    this.countClasses(t)
    this.event(now, "start", spec.id, `${spec.name}: ${spec.pages} pages, ${describe(t.workload)}`)
    this.rebuildRates()
    this.rebuildOracle()
  }

  /** Sets a workload: heat classes, rates, mode, latencies, trace replay. O(pages). */
  private setWorkload(t: TaskState, w: Workload, now: number): void {
    let options: { seed: number; traceCounts?: Uint32Array; traceSeconds?: number } = { seed: this.config.seed * 7919 + t.id }
    t.replay = undefined
    t.touched = undefined
    if (w.kind === "trace") {
      const trace = Either.getOrThrow(this.traceOf(w))
      const events = Trace.forTask(trace, w.task ?? t.id)
      const counts = new Uint32Array(t.pages)
      for (let i = 0; i < events.count; i++) counts[events.page[i]] += events.accesses[i]
      options = { ...options, traceCounts: counts, traceSeconds: events.spanMs / 1000 }
      t.replay = { events, loop: w.loop, base: now, next: 0 }
      t.touched = new Uint32Array(t.segTime.length * (SEG / 32))
    }
    t.workload = w
    t.classes = classify(w, t.heat, options)
    t.mode = w.kind === "trace" ? "trace" : w.kind === "stream" ? "stream" : "rate"
    t.writeFraction = w.writeFraction
    t.phaseStart = now
    t.thrDt = Number.NaN
    const N = this.slots - 1
    for (let n = 0; n < N; n++) t.latency[n] = (1 - t.writeFraction) * this.nodes[n].latencyNs + t.writeFraction * this.nodes[n].writeLatencyNs
    t.latency[N] = this.config.costs.faultLatencyNs
  }

  /** Recounts pages per (class, node). O(pages). */
  private countClasses(t: TaskState): void {
    const S = this.slots
    const N = S - 1
    const cn = t.cn
    cn.fill(0)
    const heat = t.heat
    const node = t.node
    for (let i = 0; i < t.pages; i++) {
      const n = node[i]
      cn[heat[i] * S + (n < 0 ? N : n)]++
    }
  }

  private applyPhase(t: TaskState, w: Workload, now: number): void {
    this.setWorkload(t, w, now)
    this.countClasses(t)
    this.event(now, "phase", t.id, describe(w))
    this.rebuildRates()
    this.rebuildOracle()
  }

  private removeTask(id: number, now: number, why: string): void {
    const t = this.tasks.get(id)
    if (t === undefined) return
    const S = this.slots
    for (let n = 0; n < S - 1; n++) {
      let pages = 0
      for (let c = 0; c < t.classes.size; c++) pages += t.cn[c * S + n]
      this.used[n] -= pages
    }
    this.tasks.delete(id)
    this.event(now, "exit", id, `${t.name} ${why}`)
    this.rebuildRates()
    this.rebuildOracle()
  }

  /**
   * A node's capacity changes. Pages above a smaller capacity are moved to the nearest
   * nodes with room, or out of memory (not present), latest task and page first. O(pages).
   */
  private applyCapacity(node: number, pages: number, now: number): void {
    this.capacity[node] = pages
    let excess = this.used[node] - pages
    let moved = 0
    let out = 0
    const S = this.slots
    const N = S - 1
    const order = this.fallbackOf(node).filter((n) => n !== node)
    const tasks = [...this.tasks.values()].sort((a, b) => b.id - a.id)
    for (const t of tasks) {
      for (let i = t.pages - 1; i >= 0 && excess > 0; i--) {
        if (t.node[i] !== node) continue
        let to = -1
        for (const n of order) {
          if (this.used[n] < this.capacity[n]) {
            to = n
            break
          }
        }
        const c = t.heat[i] * S
        t.cn[c + node]--
        this.used[node]--
        if (to >= 0) {
          t.node[i] = to
          t.cn[c + to]++
          this.used[to]++
          moved++
        } else {
          t.node[i] = -1
          t.cn[c + N]++
          t.notPresent++
          out++
        }
        excess--
      }
    }
    this.interval.evicted += moved + out
    const label = this.nodes[node].label
    this.event(now, "capacity", node, `${label} capacity ${pages} pages${moved + out > 0 ? `; ${moved} pages moved off, ${out} swapped out` : ""}`)
    this.rebuildRates()
    this.rebuildOracle()
  }

  /** Replays trace events due by `now`: touched bits and counted accesses. O(events). */
  private replayTraces(now: number): void {
    for (const t of this.tasks.values()) {
      const r = t.replay
      if (r === undefined) continue
      const ev = r.events
      const touched = t.touched!
      const a = this.interval
      const N = this.slots - 1
      while (true) {
        if (r.next >= ev.count) {
          if (!r.loop || ev.count === 0) break
          r.base += ev.spanMs
          r.next = 0
        }
        if (r.base + ev.time[r.next] > now) break
        const p = ev.page[r.next]
        const count = ev.accesses[r.next]
        r.next++
        const m = t.mappingOfIndex(p)
        const bit = m.seg0 * SEG + (p - m.offset)
        touched[bit >>> 5] |= 1 << (bit & 31)
        const n = t.node[p]
        a.accesses += count
        if (n >= 0 && this.isTop[n] === 1) a.top += count
        a.latency += count * t.latency[n < 0 ? N : n]
      }
    }
  }

  // ---------------------------------------------------------------- Backend operations

  /**
   * The topology now.
   *
   * @since 0.1.0
   */
  topology(now: number): Topology {
    this.advance(now)
    return {
      pageSize: this.pageSize,
      nodes: this.nodes.map((n) => ({
        id: n.id,
        tier: n.tier,
        capacityPages: this.capacity[n.id],
        freePages: Math.max(0, this.capacity[n.id] - this.used[n.id]),
        cpus: n.cpus,
        distances: this.distance[n.id],
        latencyNs: n.latencyNs,
        bandwidthBytesPerSec: n.bandwidthBytesPerSec,
        label: n.label
      }))
    }
  }

  /**
   * The running tasks now, by id.
   *
   * @since 0.1.0
   */
  targets(now: number): ReadonlyArray<Target> {
    this.advance(now)
    return [...this.tasks.values()].sort((a, b) => a.id - b.id).map((t) => ({ id: t.id, name: t.name, pages: t.pages }))
  }

  /**
   * Harvests and clears accessed bits of up to `budget` pages of a task from virtual
   * page `from`, in chunks that never cross a mapping. Scans cover whole 512-page
   * segments: a chunk starts on a segment boundary, and a budget above 0 but smaller
   * than one segment still scans one. Undefined when the task is gone.
   * O(pages scanned) plus O(classes) per distinct harvest interval.
   *
   * @since 0.1.0
   */
  scan(target: number, from: number, budget: number, now: number): ScanStep | undefined {
    this.advance(now)
    const t = this.tasks.get(target)
    if (t === undefined) return undefined
    if (!(budget > 0)) return { result: { observations: [], scanned: 0, next: from }, costNs: 0 }
    const ms = t.mappings
    let k = 0
    while (k < ms.length && ms[k].start + ms[k].pages <= from) k++
    if (k === ms.length) return { result: { observations: [], scanned: 0, next: null }, costNs: 0 }
    let offset = from > ms[k].start ? Math.floor((from - ms[k].start) / SEG) * SEG : 0
    const observations: Array<Observation> = []
    const limit = this.config.observe.samplesPerScan
    const samples = limit > 0 ? new Samples(limit) : undefined
    // Pages this call will scan (for sharing the sample quota out over its chunks).
    let left = ms[k].pages - offset
    for (let j = k + 1; j < ms.length; j++) left += ms[j].pages
    const span = Math.min(left, Math.max(SEG, budget))
    let scanned = 0
    while (k < ms.length) {
      const m = ms[k]
      let room = Math.floor((budget - scanned) / SEG) * SEG
      if (room <= 0) {
        if (scanned > 0) break
        room = SEG
      }
      const length = Math.min(m.pages - offset, this.config.chunkPages, room)
      this.harvest(t, m, offset, length, now, observations, samples, Math.ceil((limit * length) / span))
      scanned += length
      offset += length
      if (offset >= m.pages) {
        k++
        offset = 0
      }
    }
    if (samples !== undefined && samples.count > 0) {
      const n = samples.count
      observations.push({
        _tag: "SampledAccesses",
        kind: "sampled-access",
        target: t.id,
        count: n,
        page: samples.page.slice(0, n),
        time: samples.time.slice(0, n),
        cpuNode: samples.cpuNode.slice(0, n),
        pageNode: samples.pageNode.slice(0, n),
        sampledAt: samples.sampledAt.slice(0, n)
      })
      this.interval.samples += n
    }
    const costNs = scanned * this.config.costs.scanNsPerPage
    this.interval.scanned += scanned
    this.interval.scanNs += costNs
    const next = k < ms.length ? ms[k].start + offset : null
    return { result: { observations, scanned, next }, costNs }
  }

  /** Accessed probabilities for a harvest `dt` ms after the last one, as thresholds per class. O(classes). */
  private thresholds(t: TaskState, dt: number): void {
    if (t.thrDt === dt) return
    t.thrDt = dt
    const rates = t.classes.rates
    const s = dt / 1000
    const w = t.writeFraction
    for (let c = 0; c < t.classes.size; c++) {
      t.thr[c] = threshold31(-Math.expm1(-rates[c] * s))
      t.thrW[c] = threshold31(-Math.expm1(-rates[c] * w * s))
    }
  }

  /** Harvests one chunk: pages [offset, offset + length) of mapping m. O(length). */
  private harvest(
    t: TaskState,
    m: MappingState,
    offset: number,
    length: number,
    now: number,
    out: Array<Observation>,
    samples: Samples | undefined,
    quota: number
  ): void {
    const words = (length + 31) >>> 5
    const accessed = new Uint32Array(words)
    const dirty = this.config.observe.softDirty ? new Uint32Array(words) : undefined
    const base = m.offset + offset
    const seg0 = m.seg0 + offset / SEG
    const segs = Math.ceil(length / SEG)
    const since = new Float64Array(segs)
    let x = this.scanState
    for (let s = 0; s < segs; s++) {
      const from = s * SEG
      const count = Math.min(SEG, length - from)
      const t1 = t.segTime[seg0 + s]
      t.segTime[seg0 + s] = now
      since[s] = t1
      const dt = now - t1
      if (!(dt > 0)) continue
      const word0 = from >>> 5
      if (t.mode === "rate") {
        this.thresholds(t, dt)
        if (dirty !== undefined) x = drawBitsDirty(t.heat, base + from, count, t.thr, t.thrW, accessed, dirty, word0, x)
        else if (t.classes.size === 1) x = drawBitsUniform(count, t.thr[0], accessed, word0, x)
        else x = drawBits(t.heat, base + from, count, t.thr, accessed, word0, x)
      } else if (t.mode === "stream") {
        this.streamBits(t, base + from, count, Math.max(t1, t.phaseStart), now, accessed, from, dirty)
      }
    }
    this.scanState = x
    if (t.touched !== undefined) {
      // Trace replay: OR the touched bits in (word-aligned: segments start on words) and clear them.
      const tw = (seg0 * SEG) >>> 5
      const touched = t.touched
      for (let w = 0; w < words; w++) {
        const bits = touched[tw + w]
        if (bits === 0) continue
        accessed[w] |= bits
        touched[tw + w] = 0
        if (dirty !== undefined && t.writeFraction > 0) {
          for (let b = bits; b !== 0; b &= b - 1) if (this.aux.next() < t.writeFraction) dirty[w] |= b & -b
        }
      }
    }
    if (length & 31) {
      accessed[words - 1] &= (1 << (length & 31)) - 1
      if (dirty !== undefined) dirty[words - 1] &= (1 << (length & 31)) - 1
    }
    // A page that is not present and found accessed is faulted in (first touch again).
    if (t.notPresent > 0) this.faultIn(t, base, length, accessed, dirty)
    const node = new Int16Array(length)
    node.set(t.node.subarray(base, base + length))
    let present = length
    if (t.notPresent > 0) for (let i = 0; i < length; i++) if (node[i] < 0) present--
    const chunk: ScanChunk = { target: t.id, mappingStart: m.start, mappingPages: m.pages, start: m.start + offset, length, accessed, node, present }
    out.push(accessedBits(chunk))
    if (dirty !== undefined) out.push(accessedBits({ ...chunk, accessed: dirty }, "soft-dirty"))
    if (samples !== undefined && quota > 0) this.sample(t, m, offset, accessed, node, since, now, samples, quota)
  }

  /** Stream mode: pages the sweep passed between t1 and t2. O(length / 32). */
  private streamBits(t: TaskState, p0: number, count: number, t1: number, t2: number, acc: Uint32Array, bit0: number, dirty: Uint32Array | undefined): void {
    if (t.workload.kind !== "stream") return
    const pps = t.workload.pagesPerSec
    const n = t.pages
    const a = Math.floor(((t1 - t.phaseStart) * pps) / 1000)
    const b = Math.floor(((t2 - t.phaseStart) * pps) / 1000)
    const swept = b - a
    if (swept <= 0) return
    // A visited page was written when any of its accessesPerPage accesses was a write.
    const pw = -Math.expm1(-t.writeFraction * t.workload.accessesPerPage)
    const mark = (lo: number, hi: number) => {
      // Intersect page-order run [lo, hi) with [p0, p0 + count).
      const from = Math.max(lo, p0)
      const to = Math.min(hi, p0 + count)
      if (to <= from) return
      setRange(acc, bit0 + from - p0, bit0 + to - p0)
      if (dirty !== undefined && pw > 0) {
        for (let i = bit0 + from - p0; i < bit0 + to - p0; i++) if (this.aux.next() < pw) dirty[i >>> 5] |= 1 << (i & 31)
      }
    }
    if (swept >= n) {
      mark(0, n)
      return
    }
    const start = a % n
    const end = start + swept
    mark(start, Math.min(n, end))
    if (end > n) mark(0, end - n)
  }

  /** Faults in accessed pages that are not present (first touch, preferred node then fallback). O(length). */
  private faultIn(t: TaskState, base: number, length: number, accessed: Uint32Array, dirty: Uint32Array | undefined): void {
    const S = this.slots
    const N = S - 1
    let changed = false
    for (let i = 0; i < length; i++) {
      if (t.node[base + i] >= 0 || (accessed[i >>> 5] & (1 << (i & 31))) === 0) continue
      let to = -1
      for (const n of t.fallback) {
        if (this.used[n] < this.capacity[n]) {
          to = n
          break
        }
      }
      if (to < 0) {
        // Nowhere to put it: the access did not complete, so no accessed bit.
        accessed[i >>> 5] &= ~(1 << (i & 31))
        if (dirty !== undefined) dirty[i >>> 5] &= ~(1 << (i & 31))
        continue
      }
      const c = t.heat[base + i] * S
      t.node[base + i] = to
      t.cn[c + N]--
      t.cn[c + to]++
      this.used[to]++
      t.notPresent--
      changed = true
    }
    if (changed) this.rebuildRates()
  }

  /**
   * Sampled accesses (hint-fault model): the harvest armed each page at its last
   * harvest; an accessed page faulted at its first access since. Up to `quota`
   * accessed pages of the chunk are picked at random; the fault time is drawn from
   * the first-arrival time given at least one arrival. O(accessed pages).
   */
  private sample(
    t: TaskState,
    m: MappingState,
    offset: number,
    accessed: Uint32Array,
    node: Int16Array,
    since: Float64Array,
    now: number,
    out: Samples,
    quota: number
  ): void {
    let total = 0
    for (let w = 0; w < accessed.length; w++) total += popcount32(accessed[w])
    if (total === 0) return
    const take = Math.min(quota, out.limit - out.count)
    if (take <= 0) return
    const q = Math.min(1, take / total)
    let taken = 0
    const base = m.offset + offset
    for (let w = 0; w < accessed.length && taken < take; w++) {
      for (let bits = accessed[w]; bits !== 0 && taken < take; bits &= bits - 1) {
        if (q < 1 && this.aux.next() >= q) continue
        const i = (w << 5) + 31 - Math.clz32(bits & -bits)
        const t1 = since[(i / SEG) | 0]
        const dt = now - t1
        let at: number
        if (t.mode === "rate") {
          const r = t.classes.rates[t.heat[base + i]]
          const p = -Math.expm1((-r * dt) / 1000)
          at = r > 0 ? t1 + (-Math.log1p(-this.aux.next() * p) / r) * 1000 : t1 + this.aux.next() * dt
        } else if (t.mode === "stream" && t.workload.kind === "stream") {
          const pps = t.workload.pagesPerSec
          const a = Math.floor(((Math.max(t1, t.phaseStart) - t.phaseStart) * pps) / 1000)
          const d = (((base + i - (a % t.pages)) % t.pages) + t.pages) % t.pages
          at = Math.min(now, t.phaseStart + ((a + d) / pps) * 1000)
        } else {
          at = t1 + this.aux.next() * dt
        }
        const k = out.count++
        out.page[k] = m.start + offset + i
        out.time[k] = at
        out.cpuNode[k] = t.cpuNode
        out.pageNode[k] = node[i]
        out.sampledAt[k] = t1
        taken++
      }
    }
  }

  /**
   * Migrates a plan's pages, like move_pages(2): per page the node it now sits on, or
   * busy (injected failure), no-memory (destination full), gone (not present) or
   * invalid (no such page or node). Undefined when the task is gone. O(count).
   *
   * @since 0.1.0
   */
  migrate(plan: MigrationPlan, now: number): MigrateStep | undefined {
    this.advance(now)
    const t = this.tasks.get(plan.target)
    if (t === undefined) return undefined
    const count = Math.max(0, Math.min(plan.count, plan.pages.length))
    const status = new Int16Array(plan.count).fill(Status.INVALID)
    const dest = plan.destination
    const N = this.slots - 1
    if (!Number.isInteger(dest) || dest < 0 || dest >= N) return { outcome: { status }, costNs: 0 }
    const S = this.slots
    const a = this.interval
    const costs = this.config.costs
    const bucket = Math.floor((now - this.startMs) / this.bucketMs) & 63
    let costNs = count > 0 ? costs.migrateCallNs : 0
    let moved = 0
    for (let i = 0; i < count; i++) {
      const p = t.indexOf(plan.pages[i])
      if (p < 0) continue // INVALID: no mapping holds it
      const from = t.node[p]
      if (from < 0) {
        status[i] = Status.GONE
        continue
      }
      if (from === dest) {
        status[i] = dest
        continue
      }
      if (this.failureRate > 0 && this.aux.next() < this.failureRate) {
        status[i] = Status.BUSY
        continue
      }
      if (this.used[dest] >= this.capacity[dest]) {
        status[i] = Status.NO_MEMORY
        continue
      }
      const c = t.heat[p] * S
      t.cn[c + from]--
      t.cn[c + dest]++
      this.used[from]--
      this.used[dest]++
      t.node[p] = dest
      status[i] = dest
      moved++
      costNs += costs.migrateNsPerPage + (this.pageSize / Math.min(this.nodes[from].bandwidthBytesPerSec, this.nodes[dest].bandwidthBytesPerSec)) * 1e9
      // Direction by tier rank, and ping-pong: back towards the tier it last left, within the window.
      const up = this.tierOf[dest] < this.tierOf[from]
      const down = this.tierOf[dest] > this.tierOf[from]
      if (!up && !down) {
        a.lateral++
        continue
      }
      const prev = t.move[p]
      if (prev !== 0 && (prev & (up ? MOVE_DEMOTED : MOVE_PROMOTED)) !== 0 && ((bucket - (prev & 63)) & 63) < 16) a.pingPong++
      t.move[p] = (up ? MOVE_PROMOTED : MOVE_DEMOTED) | bucket
      if (up) a.promoted++
      else a.demoted++
    }
    for (let i = 0; i < plan.count; i++) if (status[i] !== dest) a.failed++
    if (moved > 0) this.rebuildRates()
    a.migrateNs += costNs
    return { outcome: { status }, costNs }
  }

  /**
   * Forgets last-move records older than the ping-pong window. Runs every 16 buckets
   * (one window); a record is then never older than 64 buckets, so its 6-bit bucket is
   * unambiguous. O(pages) per window.
   */
  private maybeSweep(now: number): void {
    const cur = Math.floor((now - this.startMs) / this.bucketMs)
    const gap = cur - this.lastSweep
    if (gap < 16) return
    this.lastSweep = cur
    const b = cur & 63
    for (const t of this.tasks.values()) {
      const move = t.move
      if (gap > 48) {
        move.fill(0)
        continue
      }
      for (let i = 0; i < move.length; i++) {
        const v = move[i]
        if (v !== 0 && ((b - (v & 63)) & 63) >= 16) move[i] = 0
      }
    }
  }

  // ---------------------------------------------------------------- results

  /**
   * Ends the current result interval at `now` and returns it.
   *
   * @since 0.1.0
   */
  closeInterval(now: number): IntervalResult {
    this.advance(now)
    const r: IntervalResult = {
      ...this.interval.totals(now - this.intervalStart),
      index: this.intervalIndex++,
      startMs: this.intervalStart - this.startMs,
      endMs: now - this.startMs,
      events: this.intervalEvents,
      occupancy: this.occupancyNow()
    }
    this.total.add(this.interval)
    this.interval = new Accumulator()
    this.intervalEvents = []
    this.intervalStart = now
    this.past.push(r)
    if (this.past.length > this.config.results.historyLimit) this.past.shift()
    return r
  }

  /**
   * The closed intervals kept (up to `results.historyLimit`).
   *
   * @since 0.1.0
   */
  history(): ReadonlyArray<IntervalResult> {
    return this.past
  }

  /**
   * Totals from the start to `now` (the open interval included), with recoveries
   * after each phase change.
   *
   * @since 0.1.0
   */
  summary(now: number): Summary {
    this.advance(now)
    const all = this.total.copy()
    all.add(this.interval)
    const totals = all.totals(now - this.startMs)
    return {
      ...totals,
      durationMs: now - this.startMs,
      intervals: this.intervalIndex,
      shareOfOracle: totals.oracleShare > 0 ? totals.topTierShare / totals.oracleShare : 0,
      recoveries: recoveries(this.past, this.log),
      events: [...this.log],
      occupancy: this.occupancyNow()
    }
  }

  /**
   * The oracle for the current rates and capacities.
   *
   * @since 0.1.0
   */
  oracle(now: number): Oracle {
    this.advance(now)
    return {
      share: this.oracleTotal > 0 ? this.oracleTop / this.oracleTotal : 0,
      latencyNs: this.oracleTotal > 0 ? this.oracleLatency / this.oracleTotal : 0,
      pagesOnNode: [...this.oraclePages]
    }
  }

  /**
   * The oracle's node for each page of a task (page order), -1 where it has no room.
   * Within a class, pages are placed in page order. O(pages x nodes).
   *
   * @since 0.1.0
   */
  oraclePlacement(target: number, now: number): Int8Array | undefined {
    this.advance(now)
    const t = this.tasks.get(target)
    if (t === undefined) return undefined
    const S = this.slots
    const N = S - 1
    const quota = Float64Array.from(t.oracleFill)
    const order = this.byLatency
    const out = new Int8Array(t.pages).fill(-1)
    for (let i = 0; i < t.pages; i++) {
      const c = t.heat[i] * S
      for (let k = 0; k < N; k++) {
        const n = order[k]
        if (quota[c + n] > 0) {
          quota[c + n]--
          out[i] = n
          break
        }
      }
    }
    return out
  }

  /**
   * A copy of a task's node per page (page order, -1 = not present).
   *
   * @since 0.1.0
   */
  placement(target: number, now: number): Int8Array | undefined {
    this.advance(now)
    return this.tasks.get(target)?.node.slice()
  }

  /**
   * A task's heat class per page (page order) and the rate of each class.
   *
   * @since 0.1.0
   */
  heat(target: number, now: number): { readonly heat: Uint8Array; readonly rates: Float64Array } | undefined {
    this.advance(now)
    const t = this.tasks.get(target)
    return t === undefined ? undefined : { heat: t.heat.slice(), rates: t.classes.rates.slice() }
  }

  /**
   * The true access rate of every page of a task, per mapping. O(pages).
   *
   * @since 0.1.0
   */
  rates(target: number, now: number): ReadonlyArray<MappingRates> | undefined {
    this.advance(now)
    const t = this.tasks.get(target)
    if (t === undefined) return undefined
    const classRates = t.classes.rates
    return t.mappings.map((m) => {
      const rates = new Float32Array(m.pages)
      for (let i = 0; i < m.pages; i++) rates[i] = classRates[t.heat[m.offset + i]]
      return { start: m.start, rates }
    })
  }

  /**
   * The virtual page number of page-order index `index` of a task.
   *
   * @since 0.1.0
   */
  vpnOf(target: number, index: number): number | undefined {
    const t = this.tasks.get(target)
    if (t === undefined || index < 0 || index >= t.pages) return undefined
    const m = t.mappingOfIndex(index)
    return m.start + (index - m.offset)
  }

  /**
   * Pages used and capacity per node.
   *
   * @since 0.1.0
   */
  occupancy(now: number): ReadonlyArray<NodeOccupancy> {
    this.advance(now)
    return this.occupancyNow()
  }

  private occupancyNow(): Array<NodeOccupancy> {
    return this.nodes.map((n) => ({ node: n.id, label: n.label, tier: n.tier, usedPages: this.used[n.id], capacityPages: this.capacity[n.id] }))
  }

  /**
   * Every event so far (starts, phase changes, exits, capacity changes).
   *
   * @since 0.1.0
   */
  events(): ReadonlyArray<SimEvent> {
    return this.log
  }

  /**
   * Bytes of simulator state: per-page arrays and per-task tables.
   *
   * @since 0.1.0
   */
  stateBytes(): number {
    let bytes = 0
    for (const t of this.tasks.values()) bytes += t.bytes()
    return bytes
  }

  /**
   * Pages of all running tasks.
   *
   * @since 0.1.0
   */
  pages(): number {
    let pages = 0
    for (const t of this.tasks.values()) pages += t.pages
    return pages
  }

  // ---------------------------------------------------------------- controls

  /**
   * Makes a task exit now. False when it is not running.
   *
   * @since 0.1.0
   */
  exitTask(target: number, now: number): boolean {
    this.advance(now)
    if (!this.tasks.has(target)) return false
    this.removeTask(target, now, "killed")
    return true
  }

  /**
   * Adds a task (its `startMs` counts from the simulation's start; a past time starts
   * it now, and its phases and exit move with it). Its id must not be in use; trace
   * files it names must be in `traces` or already loaded.
   *
   * @since 0.1.0
   */
  addTask(spec: ResolvedTask, now: number, traces: ReadonlyMap<string, Trace.Trace> = new Map()): Either.Either<void, Trace.TraceError> {
    this.advance(now)
    for (const [file, trace] of traces) this.traces.set(file, trace)
    const checked = this.checkTraces(spec)
    if (Either.isLeft(checked)) return checked
    const rel = now - this.startMs
    const shift = Math.max(0, rel - spec.startMs)
    this.scheduleTask({
      ...spec,
      startMs: spec.startMs + shift,
      exitAtMs: spec.exitAtMs === undefined ? undefined : spec.exitAtMs + shift,
      phases: spec.phases.map((p) => ({ ...p, atMs: p.atMs + shift }))
    })
    this.advance(now)
    return Either.right(undefined)
  }

  /**
   * Sets a node's capacity now (pages above it move off or out).
   *
   * @since 0.1.0
   */
  setCapacity(node: number, pages: number, now: number): void {
    this.advance(now)
    this.applyCapacity(node, pages, now)
  }

  /**
   * Sets the injected migration failure rate (0..1).
   *
   * @since 0.1.0
   */
  setMigrateFailureRate(rate: number): void {
    this.failureRate = rate
  }
}

/**
 * Builds a machine (see `Machine.make`).
 *
 * @since 0.1.0
 */
export const make = (
  config: Resolved,
  options: { readonly startMs?: number; readonly traces?: ReadonlyMap<string, Trace.Trace> } = {}
): Either.Either<Machine, Trace.TraceError> => Machine.make(config, options)
