import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import type { SampledAccesses } from "@kmm/core/Observation"
import { accessedBits } from "@kmm/core/Observation"
import type { TargetId } from "@kmm/core/Target"
import * as NumaBalancing from "../src/NumaBalancing.js"
import { budget, chunk, MAP, offsets, range, T1, topology, total, twoNodes } from "./helpers.js"

/** Hint faults on pages (offsets in MAP) of node `node`, at `time`, by a CPU of `cpu`. */
const faults = (pages: ReadonlyArray<number>, o: { time?: number; node?: number; cpu?: number; target?: TargetId } = {}): SampledAccesses => ({
  _tag: "SampledAccesses",
  kind: "sampled-access",
  target: o.target ?? T1,
  count: pages.length,
  page: Float64Array.from(pages, (p) => MAP + p),
  time: new Float64Array(pages.length).fill(o.time ?? 100),
  cpuNode: new Int16Array(pages.length).fill(o.cpu ?? 0),
  pageNode: new Int16Array(pages.length).fill(o.node ?? 1),
  sampledAt: new Float64Array(pages.length).fill(NaN)
})

const primed = (config: NumaBalancing.ConfigInput = {}) =>
  Effect.gen(function* () {
    const p = NumaBalancing.make(config)
    yield* p.plan(budget())
    return p
  })

describe("numa-balancing model", () => {
  it("has the kernel's defaults and validates options", () => {
    expect(NumaBalancing.defaults).toMatchObject({ hotThresholdMs: 1000, rateLimitMBps: 65536, adjustPeriodMs: 60_000 })
    expect(Either.isLeft(Schema.decodeUnknownEither(NumaBalancing.Config)({ reclaimLow: 0.5, reclaimHigh: 0.1 }))).toBe(true)
    expect(Either.isLeft(Schema.decodeUnknownEither(NumaBalancing.Config)({ hotThresholdMs: 0 }))).toBe(true)
  })

  it.effect("promotes a slow-tier page faulting within the hot threshold of being armed, to the faulting CPU's node", () =>
    Effect.gen(function* () {
      // Windows of 256 pages (1 MiB), one a second; the first is armed at the first fault.
      const p = yield* primed({ scanSizeMB: 1 })
      yield* p.observe(faults([0, 4095], { time: 0, node: 0 }))
      // Window [0, 256) armed at 0: page 10 faults after 500 ms (hot); page 300 is not armed (no fault).
      yield* p.observe(faults([10, 300], { time: 500, cpu: 2 }))
      // Window [256, 512) armed at 1000: page 300 faults after 200 ms (hot); page 20's window is 1200 ms old (not hot).
      yield* p.observe(faults([300, 20], { time: 1200, cpu: 2 }))
      const plans = yield* p.plan(budget())
      expect(plans.map((x) => [x.destination, offsets(x)])).toEqual([[2, [10, 300]]])
      // Faults: 0 (arms the first window), 10, 300 (second time), 20 (too late to be hot); 4095 and the first 300 were not armed.
      expect(yield* p.stats).toMatchObject({ samples: 6, faults: 4, candidates: 2 })
    })
  )

  it.effect("a faulting CPU on a slow node defers to the daemon's destination", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* p.observe(faults([7], { time: 100, cpu: 1 }))
      const plans = yield* p.plan(budget({ destinations: [2, 0] }))
      expect(plans.map((x) => [x.destination, offsets(x)])).toEqual([[2, [7]]])
    })
  )

  it.effect("rate-limits candidates per second", () =>
    Effect.gen(function* () {
      // 1 MiB/s = 256 pages of 4 KiB.
      const p = yield* primed({ rateLimitMBps: 1 })
      yield* p.observe(faults(range(0, 300), { time: 100 }))
      expect(total(yield* p.plan(budget()))).toBe(256)
      expect((yield* p.stats).rateLimited).toBe(44)
      // The next second has a fresh allowance.
      yield* p.observe(faults(range(300, 400), { time: 1200 }))
      expect(total(yield* p.plan(budget()))).toBe(100)
    })
  )

  it.effect("adjusts the threshold to the rate limit, one step per period, within bounds", () =>
    Effect.gen(function* () {
      // The whole (small) task is armed every second, from the first fault at 10 ms.
      const p = yield* primed({ rateLimitMBps: 1, adjustPeriodMs: 1000, hotThresholdMs: 800 })
      // Far more candidates than 256 a period: the threshold steps down by 2 * 800 / 16 = 100.
      for (let k = 0; k < 4; k++) yield* p.observe(faults(range(0, 1000), { time: k * 1001 + 10 }))
      expect((yield* p.stats).thresholdMs).toBe(500)
      // Faults on the top tier do not count.
      for (let t = 4000; t <= 30_000; t += 1001) yield* p.observe(faults([1], { time: t, node: 0 }))
      expect((yield* p.stats).thresholdMs).toBe(500)
      // Then only late faults (900 ms after arming): few candidates, the threshold steps up to twice the default.
      for (let k = 31; k < 60; k++) yield* p.observe(faults([1], { time: 10 + k * 1000 + 900 }))
      expect((yield* p.stats).thresholdMs).toBe(1600)
    })
  )

  it.effect("proposes nothing to a full node, and never more than the budget", () =>
    Effect.gen(function* () {
      const p = yield* primed({ demotion: false })
      yield* p.observe(faults(range(0, 100), { cpu: 0 }))
      expect(total(yield* p.plan(budget({ maxPages: 30 })))).toBe(30)
      // 30 in flight to node 0, which shows 35 free: room for 5; the rest is dropped.
      const plans = yield* p.plan(budget({ topology: topology({ n0: 35, n2: 0 }), destinations: [0] }))
      expect(total(plans)).toBe(5)
      expect(yield* p.plan(budget())).toEqual([])
      expect(p.accepts).toEqual(["sampled-access"])
    })
  )

  it.effect("reclaim demotes inactive top-tier pages (idle two scans) when free pages run low", () =>
    Effect.gen(function* () {
      const p = yield* primed({ reclaimLow: 0.02, reclaimHigh: 0.05 })
      expect(p.accepts).toContain("accessed-bit")
      // Pages 0..63 on node 0: 0..15 accessed in both scans, 16..31 in the first only, 32..63 in neither.
      yield* p.observe(accessedBits(chunk({ length: 64, node: 0, accessed: range(0, 32) })))
      yield* p.observe(accessedBits(chunk({ length: 64, node: 0, accessed: range(0, 16) })))
      // 990 of 1000 used: free 1 % < 2 %; reclaim towards 5 % = 40 pages; only 32..63 are inactive.
      const first = yield* p.plan(budget({ topology: twoNodes(10), destinations: [0] }))
      expect(first.map((x) => [x.direction, x.destination])).toEqual([["demote", 1]])
      expect(offsets(first[0])).toEqual(range(32, 64))
      // Demotions in flight count as freed: no more reclaim for now.
      expect(yield* p.plan(budget({ topology: twoNodes(10), destinations: [0] }))).toEqual([])
      // A third scan: 16..31 idle twice now; with enough free pages, still nothing.
      yield* p.observe(accessedBits(chunk({ length: 64, node: 0, accessed: range(0, 16) })))
      expect(yield* p.plan(budget({ topology: twoNodes(100), destinations: [0] }))).toEqual([])
    })
  )
})
