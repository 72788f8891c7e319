import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { NOT_PRESENT } from "@kmm/core/ScanChunk"
import { Status } from "@kmm/core/MigrationPlan"
import type { SampledAccesses } from "@kmm/core/Observation"
import * as Machine from "../src/Machine.js"
import { accessedByPage, config, machine, nodes, PAGE, plan, range, sweep } from "./helpers.js"

const hotTask = (pages: number, extra: Record<string, unknown> = {}) => ({
  id: 1,
  size: pages * PAGE,
  node: 1,
  workload: { kind: "hotset" as const, accessesPerSec: 10_000, hotFraction: 0.2, hotAccessFraction: 0.9 },
  ...extra
})

describe("scan", () => {
  it("sweeps every page once, in segment-aligned chunks that never cross a mapping", () => {
    const m = machine({
      nodes: nodes(8192, 8192),
      chunkPages: 1024,
      tasks: [{ id: 4, mappings: [{ size: 1000 * PAGE }, { size: 3000 * PAGE }, { size: 700 * PAGE }], node: 1, workload: { kind: "uniform" } }]
    })
    const chunks = sweep(m, 4, 1000, 1500)
    const starts = [...new Set(chunks.map((c) => c.mappingStart))]
    expect(starts).toHaveLength(3)
    const covered = new Map<number, number>()
    for (const c of chunks) {
      expect(c.start).toBeGreaterThanOrEqual(c.mappingStart)
      expect(c.start + c.length).toBeLessThanOrEqual(c.mappingStart + c.mappingPages)
      expect((c.start - c.mappingStart) % 512).toBe(0)
      expect(c.length).toBeLessThanOrEqual(1024)
      expect(c.present).toBe(c.length)
      expect(c.node.every((n) => n === 1)).toBe(true)
      covered.set(c.mappingStart, (covered.get(c.mappingStart) ?? 0) + c.length)
    }
    expect([...covered.values()]).toEqual([1000, 3000, 700])
    // Mappings are separate VMAs: gaps between them.
    expect(starts[1]).toBeGreaterThan(starts[0] + 1000)
  })

  it("honours the budget in whole segments, resumes at the cursor, and ends with null", () => {
    const m = machine({ nodes: nodes(8192, 8192), tasks: [{ id: 1, size: 2000 * PAGE, node: 1, workload: { kind: "uniform" } }] })
    const a = m.scan(1, 0, 1100, 10)!
    expect(a.result.scanned).toBe(1024)
    expect(a.costNs).toBe(1024 * 20)
    const b = m.scan(1, a.result.next!, 100, 10)!
    expect(b.result.scanned).toBe(512) // less than a segment still scans one
    const c = m.scan(1, b.result.next!, 1 << 20, 10)!
    expect(c.result.scanned).toBe(2000 - 1536)
    expect(c.result.next).toBeNull()
    expect(m.scan(1, c.result.next ?? 1e9, 100, 10)!.result).toEqual({ observations: [], scanned: 0, next: null })
    expect(m.scan(99, 0, 100, 10)).toBeUndefined()
  })

  it("is deterministic: the same seed gives the same bits and outcomes, another seed does not", () => {
    const cfg = (seed: number) => ({
      seed,
      nodes: nodes(1024, 8192),
      faults: { migrateFailureRate: 0.3 },
      tasks: [hotTask(4096), { id: 2, size: 2048 * PAGE, node: 1, workload: { kind: "zipf" as const, accessesPerSec: 5000 } }]
    })
    const run = (seed: number) => {
      const m = machine(cfg(seed))
      const bits: Array<number> = []
      const statuses: Array<number> = []
      for (let k = 1; k <= 4; k++) {
        for (const id of [1, 2]) for (const c of sweep(m, id, k * 700, 1000)) bits.push(...c.accessed)
        statuses.push(...m.migrate(plan(m, 1, range(k * 100, k * 100 + 300), 0), k * 700 + 10)!.outcome.status)
      }
      return { bits, statuses, summary: m.summary(5000) }
    }
    const a = run(7)
    const b = run(7)
    expect(b.bits).toEqual(a.bits)
    expect(b.statuses).toEqual(a.statuses)
    expect(b.summary).toEqual(a.summary)
    expect(a.statuses.filter((s) => s === Status.BUSY).length).toBeGreaterThan(0)
    expect(run(8).bits).not.toEqual(a.bits)
  })

  it("finds hot pages accessed far more often than cold ones, as the rates say", () => {
    const pages = 20_480
    const m = machine({ nodes: nodes(1024, 32_768), tasks: [hotTask(pages, { workload: { kind: "hotset", accessesPerSec: 4096, hotFraction: 0.2, hotAccessFraction: 0.9 } })] })
    const { heat, rates } = m.heat(1, 0)!
    const hits = [0, 0]
    const trials = [0, 0]
    const scans = 20
    for (let k = 1; k <= scans; k++) {
      const acc = accessedByPage(sweep(m, 1, k * 1000))
      for (let i = 0; i < pages; i++) {
        hits[heat[i]] += acc[i]
        trials[heat[i]]++
      }
    }
    // Each scan sees a page accessed with p = 1 - exp(-rate * 1 s); binomial bounds of 6 sd.
    for (const c of [0, 1]) {
      const p = -Math.expm1(-rates[c])
      const sd = Math.sqrt((p * (1 - p)) / trials[c])
      expect(Math.abs(hits[c] / trials[c] - p)).toBeLessThan(6 * sd)
    }
    expect(hits[1] / trials[1]).toBeGreaterThan(10 * (hits[0] / trials[0]))
  })

  it("reports samples of accesses with time, CPU node and page node (hint-fault model)", () => {
    const m = machine({ nodes: nodes(1024, 8192), observe: { samplesPerScan: 64 }, tasks: [hotTask(4096, { workload: { kind: "uniform", accessesPerSec: 2000 } })] })
    const step = m.scan(1, 0, 1 << 20, 2000)!
    const s = step.result.observations.find((o): o is SampledAccesses => o._tag === "SampledAccesses")!
    expect(s.count).toBeGreaterThan(32)
    expect(s.count).toBeLessThanOrEqual(64)
    const acc = accessedByPage(step.result.observations.flatMap((o) => (o._tag === "AccessedBits" ? [o.chunk] : [])))
    const first = m.vpnOf(1, 0)!
    for (let i = 0; i < s.count; i++) {
      expect(acc[s.page[i] - first]).toBe(1)
      expect(s.time[i]).toBeGreaterThan(0)
      expect(s.time[i]).toBeLessThanOrEqual(2000)
      expect(s.sampledAt[i]).toBe(0)
      expect(s.cpuNode[i]).toBe(0)
      expect(s.pageNode[i]).toBe(1)
    }
  })

  it("reports written pages (soft-dirty) as a subset of accessed ones", () => {
    const m = machine({
      nodes: nodes(1024, 8192),
      observe: { softDirty: true },
      tasks: [hotTask(4096, { workload: { kind: "uniform", accessesPerSec: 4096, writeFraction: 0.25 } })]
    })
    const obs = m.scan(1, 0, 1 << 20, 1000)!.result.observations
    const acc = obs.find((o) => o._tag === "AccessedBits" && o.kind === "accessed-bit")
    const dirty = obs.find((o) => o._tag === "AccessedBits" && o.kind === "soft-dirty")
    if (acc?._tag !== "AccessedBits" || dirty?._tag !== "AccessedBits") throw new Error("missing chunks")
    let a = 0
    let d = 0
    for (let w = 0; w < acc.chunk.accessed.length; w++) {
      expect(dirty.chunk.accessed[w] & ~acc.chunk.accessed[w]).toBe(0)
      for (let b = 0; b < 32; b++) {
        a += (acc.chunk.accessed[w] >>> b) & 1
        d += (dirty.chunk.accessed[w] >>> b) & 1
      }
    }
    // rate 1/s per page: p(accessed) = 1 - e^-1, p(written) = 1 - e^-0.25
    expect(Math.abs(a / 4096 - -Math.expm1(-1))).toBeLessThan(0.05)
    expect(Math.abs(d / 4096 - -Math.expm1(-0.25))).toBeLessThan(0.05)
  })

  it("streams sequentially: a scan finds exactly the pages swept since the last one", () => {
    const m = machine({ nodes: nodes(8192, 8192), tasks: [{ id: 1, size: 4096 * PAGE, node: 1, workload: { kind: "stream", pagesPerSec: 1000 } }] })
    const one = accessedByPage(sweep(m, 1, 1000))
    expect(one.reduce((s, x) => s + x, 0)).toBe(1000)
    expect(one.subarray(0, 1000).every((x) => x === 1)).toBe(true)
    const two = accessedByPage(sweep(m, 1, 2500))
    expect(two.reduce((s, x) => s + x, 0)).toBe(1500)
    expect(two.subarray(1000, 2500).every((x) => x === 1)).toBe(true)
    // Wrapping around the end.
    const three = accessedByPage(sweep(m, 1, 4600))
    expect(three.reduce((s, x) => s + x, 0)).toBe(2100)
    expect(three[4095] + three[0] + three[503]).toBe(3)
  })
})

describe("migrate", () => {
  it("moves pages and updates occupancy, free capacity and the top-tier share", () => {
    const m = machine({ nodes: nodes(1024, 8192), tasks: [hotTask(4096)] })
    const { heat, rates } = m.heat(1, 0)!
    const hot = range(0, 4096).filter((i) => heat[i] === 1).slice(0, 100)
    const out = m.migrate(plan(m, 1, hot, 0), 500)!
    expect(Array.from(out.outcome.status)).toEqual(hot.map(() => 0))
    expect(out.costNs).toBeGreaterThan(100 * 1500)
    expect(m.occupancy(500).map((o) => o.usedPages)).toEqual([100, 3996])
    expect(m.topology(500).nodes.map((n) => n.freePages)).toEqual([924, 8192 - 3996])
    const placed = m.placement(1, 500)!
    expect(hot.every((i) => placed[i] === 0)).toBe(true)
    const r = m.closeInterval(1000)
    expect(r.promoted).toBe(100)
    // Top tier served 100 hot pages for the second half of the interval: an exact integral.
    expect(r.topTierShare).toBeCloseTo((0.5 * 100 * rates[1]) / 10_000, 12)
    expect(r.meanLatencyNs).toBeCloseTo(250 - 160 * r.topTierShare, 9)
    // Moving a page to where it is is a success that moves nothing.
    expect(m.migrate(plan(m, 1, hot.slice(0, 3), 0), 1000)!.outcome.status[0]).toBe(0)
    expect(m.closeInterval(2000).promoted).toBe(0)
  })

  it("fails with no-memory when the destination is full", () => {
    const m = machine({ nodes: nodes(1024, 8192), tasks: [hotTask(4096)] })
    const out = m.migrate(plan(m, 1, range(0, 1100), 0), 10)!.outcome.status
    expect(out.filter((s) => s === 0)).toHaveLength(1024)
    expect(Array.from(out.subarray(1024))).toEqual(new Array(76).fill(Status.NO_MEMORY))
    expect(m.topology(10).nodes[0].freePages).toBe(0)
    expect(m.closeInterval(1000).migrateFailed).toBe(76)
  })

  it("answers invalid for unknown pages and nodes, gone for pages not present", () => {
    const m = machine({ nodes: nodes(1024, 1024), tasks: [hotTask(1500, { node: 0 }), hotTask(1000, { id: 2, node: 0 })] })
    // Task 2's last 452 pages found no room at all: they are not present.
    expect(m.placement(2, 1)!.filter((n) => n < 0)).toHaveLength(452)
    expect(m.migrate(plan(m, 2, [999], 1), 1)!.outcome.status[0]).toBe(Status.GONE)
    const bad = m.migrate({ target: 1 as never, destination: 0, pages: Float64Array.from([1, m.vpnOf(1, 0)! + 0.5]), count: 2, direction: "promote" }, 1)!
    expect(Array.from(bad.outcome.status)).toEqual([Status.INVALID, Status.INVALID])
    expect(Array.from(m.migrate(plan(m, 1, [0], 7), 1)!.outcome.status)).toEqual([Status.INVALID])
  })

  it("injects busy failures at the configured rate", () => {
    const m = machine({ nodes: nodes(16_384, 16_384), faults: { migrateFailureRate: 0.3 }, tasks: [hotTask(10_000)] })
    const out = m.migrate(plan(m, 1, range(0, 10_000), 0), 1)!.outcome.status
    const busy = out.filter((s) => s === Status.BUSY).length
    expect(Math.abs(busy / 10_000 - 0.3)).toBeLessThan(6 * Math.sqrt((0.3 * 0.7) / 10_000))
    m.setMigrateFailureRate(0)
    expect(m.migrate(plan(m, 1, range(0, 10_000), 0), 2)!.outcome.status.every((s) => s === 0)).toBe(true)
  })

  it("counts pages moved back to the tier they left within the window as ping-pong", () => {
    const m = machine({ nodes: nodes(1024, 8192), results: { pingPongWindowMs: 16_000 }, tasks: [hotTask(4096)] })
    m.migrate(plan(m, 1, range(0, 10), 0), 1_000)
    m.migrate(plan(m, 1, range(0, 4), 1), 5_000) // back within the window: 4 ping-pongs
    m.migrate(plan(m, 1, range(0, 2), 0), 9_000) // and up again: 2 more
    m.migrate(plan(m, 1, range(4, 10), 1), 40_000) // 39 s after their promotion: none
    m.migrate(plan(m, 1, range(4, 6), 0), 41_000) // 1 s after that demotion: 2
    m.migrate(plan(m, 1, range(4, 6), 1), 300_000) // long after (the records were cleared): none
    const s = m.summary(300_000)
    expect(s.pingPong).toBe(8)
    expect(s.promoted).toBe(14)
    expect(s.demoted).toBe(12)
  })

  it("spills first-touch allocation to the next node when the preferred one is full", () => {
    const m = machine({ nodes: nodes(1024, 8192), tasks: [hotTask(1500, { node: 0 })] })
    const placed = m.placement(1, 0)!
    expect(placed.subarray(0, 1024).every((n) => n === 0)).toBe(true)
    expect(placed.subarray(1024).every((n) => n === 1)).toBe(true)
  })
})

describe("tasks and faults", () => {
  it("a task that exits mid-sweep is gone: scans and migrations fail, its memory is freed", () => {
    const m = machine({ nodes: nodes(1024, 8192), tasks: [hotTask(4096, { exitAtMs: 1500 })] })
    const first = m.scan(1, 0, 1024, 1000)!
    expect(first.result.next).not.toBeNull()
    expect(m.scan(1, first.result.next!, 1024, 2000)).toBeUndefined()
    expect(m.migrate(plan(m, 1, [0], 0), 2000)).toBeUndefined()
    expect(m.targets(2000)).toEqual([])
    expect(m.occupancy(2000).map((o) => o.usedPages)).toEqual([0, 0])
    expect(m.events().map((e) => [e.kind, e.atMs])).toEqual([
      ["start", 0],
      ["exit", 1500]
    ])
  })

  it("a shrinking node moves pages off to the next node, or out of memory; they fault back in", () => {
    const m = machine({
      nodes: nodes(1024, 600),
      faults: { capacity: [{ atMs: 5000, node: 0, capacity: 400 * PAGE }] },
      tasks: [hotTask(1500, { node: 0, workload: { kind: "uniform", accessesPerSec: 1e6 } })]
    })
    expect(m.occupancy(0).map((o) => o.usedPages)).toEqual([1024, 476])
    expect(m.occupancy(5000).map((o) => o.usedPages)).toEqual([400, 600])
    const r = m.closeInterval(5000)
    expect(r.evicted).toBe(624)
    expect(r.events[1]).toMatchObject({ kind: "capacity", subject: 0 })
    // 500 pages went out of memory: scans report them not present.
    const chunks = sweep(m, 1, 5000)
    expect(chunks.reduce((s, c) => s + c.present, 0)).toBe(1000)
    expect(chunks.flatMap((c) => Array.from(c.node)).filter((n) => n === NOT_PRESENT)).toHaveLength(500)
    // Room again: accessed pages that are not present are faulted back in by the next scan.
    m.setCapacity(0, 2048, 6000)
    const back = sweep(m, 1, 7000)
    expect(back.reduce((s, c) => s + c.present, 0)).toBe(1500)
    expect(m.occupancy(7000).map((o) => o.usedPages)).toEqual([900, 600])
  })

  it("a phase change moves the hot set, the truth and the oracle with it", () => {
    const w = (offset: number) => ({ kind: "hotset" as const, accessesPerSec: 1000, hotFraction: 0.25, hotAccessFraction: 1, offset })
    const m = machine({ nodes: nodes(1024, 8192), tasks: [{ id: 1, size: 4096 * PAGE, node: 1, workload: w(0), phases: [{ atMs: 10_000, workload: w(0.5) }] }] })
    const before = m.rates(1, 9_999)![0].rates
    expect(before[0]).toBeGreaterThan(0)
    expect(before[2048]).toBe(0)
    m.migrate(plan(m, 1, range(0, 1024), 0), 9_999)
    expect(m.closeInterval(10_000).topTierShare).toBeCloseTo(1e-4, 6)
    const after = m.rates(1, 10_000)![0].rates
    expect(after[0]).toBe(0)
    expect(after[2048]).toBeGreaterThan(0)
    expect(m.closeInterval(11_000).topTierShare).toBe(0)
    expect(m.oraclePlacement(1, 11_000)![2048]).toBe(0)
    expect(m.summary(11_000).recoveries).toMatchObject([{ atMs: 10_000, recoveryMs: null }])
  })

  it("replays a trace: its events set exactly their pages' bits and count their accesses", () => {
    const text = ["0 1 5 3", "100 1 7 1", "2500 1 9 2", "2600 2 0 1"].join("\n")
    const m = machine({
      nodes: nodes(1024, 8192),
      tasks: [
        { id: 1, size: 2048 * PAGE, node: 1, workload: { kind: "trace", text } },
        { id: 2, size: 64 * PAGE, node: 0, workload: { kind: "trace", text, loop: true } }
      ]
    })
    const acc = accessedByPage(sweep(m, 1, 1000))
    expect(range(0, 2048).filter((i) => acc[i] === 1)).toEqual([5, 7])
    expect(m.closeInterval(1000)).toMatchObject({ accesses: 4, topTierShare: 0 })
    const acc2 = accessedByPage(sweep(m, 1, 3000))
    expect(range(0, 2048).filter((i) => acc2[i] === 1)).toEqual([9])
    // Task 2 loops its one event every 2601 ms, and sits in DRAM.
    const r = m.closeInterval(6000)
    expect(r.accesses).toBe(2 + 2)
    expect(r.topTierShare).toBe(0.5)
    const bad = Machine.make(config({ nodes: nodes(1024, 8192), tasks: [{ id: 1, size: 4 * PAGE, workload: { kind: "trace", text } }] }))
    expect(Either.isLeft(bad) && bad.left.message).toBe("trace <inline>, line 1: page 5 is beyond task 1 (\"task-1\"), which has 4 pages")
  })
})

describe("oracle", () => {
  it("places exactly the hot set in the top tier when it fits", () => {
    const m = machine({ nodes: nodes(819, 8192), tasks: [hotTask(4096)] })
    const { heat } = m.heat(1, 0)!
    const oracle = m.oraclePlacement(1, 0)!
    for (let i = 0; i < 4096; i++) expect(oracle[i]).toBe(heat[i] === 1 ? 0 : 1)
    const o = m.oracle(0)
    expect(o.share).toBeCloseTo(0.9, 12)
    expect(o.latencyNs).toBeCloseTo(0.9 * 90 + 0.1 * 250, 9)
    expect(o.pagesOnNode).toEqual([819, 3277])
  })

  it("fills the rest of the top tier with the next hottest pages, across tasks", () => {
    const m = machine({
      nodes: nodes(2048, 8192),
      tasks: [hotTask(4096), { id: 2, size: 2048 * PAGE, node: 1, workload: { kind: "zipf", accessesPerSec: 20_000, s: 1.1 } }]
    })
    // Independent check from the true per-page rates: the top 2048 rates over both tasks.
    const all = [...m.rates(1, 0)![0].rates, ...m.rates(2, 0)![0].rates].sort((a, b) => b - a)
    const total = all.reduce((s, r) => s + r, 0)
    const best = all.slice(0, 2048).reduce((s, r) => s + r, 0)
    expect(m.oracle(0).share).toBeCloseTo(best / total, 5)
    const hot = m.oraclePlacement(1, 0)!
    const { heat } = m.heat(1, 0)!
    expect(range(0, 4096).every((i) => heat[i] === 0 || hot[i] === 0)).toBe(true)
  })
})

describe("state", () => {
  it("keeps about 3 bytes a page", () => {
    const m = machine({ nodes: nodes(1 << 20, 1 << 20), tasks: [hotTask(1 << 20)] })
    expect(m.stateBytes() / m.pages()).toBeLessThan(3.1)
  })
})
