import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import type { MigrationPlan } from "@kmm/core/MigrationPlan"
import { Status } from "@kmm/core/MigrationPlan"
import type { SampledAccesses } from "@kmm/core/Observation"
import { accessedBits } from "@kmm/core/Observation"
import type { TargetId } from "@kmm/core/Target"
import * as Plugin from "@kmm/core/Plugin"
import * as Hotness from "../src/Hotness.js"
import * as Index from "../src/index.js"
import { descriptor } from "../src/index.js"
import * as Record from "../src/Record.js"
import { budget, chunk, MAP, offsets, range, rng, T1, T2, topology, total, twoNodes } from "./helpers.js"

type P = Hotness.HotnessPolicy

/** Learns the topology (tiers), as the daemon's first plan does. */
const primed = (config: Hotness.ConfigInput = {}) =>
  Effect.gen(function* () {
    const p = Hotness.make(config)
    yield* p.plan(budget())
    return p
  })

/** Scans `length` pages (on `node`) with the given pages accessed. */
const scan = (p: P, accessed: Iterable<number>, options: { length?: number; node?: number | ((i: number) => number); target?: TargetId } = {}) =>
  p.observe(accessedBits(chunk({ length: options.length ?? 64, accessed, node: options.node ?? 1, ...(options.target ? { target: options.target } : {}) })))

const promotions = (plans: ReadonlyArray<MigrationPlan>) => plans.filter((x) => x.direction === "promote")
const demotions = (plans: ReadonlyArray<MigrationPlan>) => plans.filter((x) => x.direction === "demote")
const sorted = (plans: ReadonlyArray<MigrationPlan>) => plans.flatMap(offsets).sort((a, b) => a - b)
const moved = (plan: MigrationPlan) => ({ status: new Int16Array(plan.count).fill(plan.destination) })

const samples = (target: TargetId, pages: ReadonlyArray<number>, node = 1): SampledAccesses => ({
  _tag: "SampledAccesses",
  kind: "sampled-access",
  target,
  count: pages.length,
  page: Float64Array.from(pages),
  time: new Float64Array(pages.length),
  cpuNode: new Int16Array(pages.length),
  pageNode: new Int16Array(pages.length).fill(node),
  sampledAt: new Float64Array(pages.length).fill(NaN)
})

describe("config", () => {
  it("fills in defaults and refuses bad options", () => {
    expect(Hotness.defaults).toMatchObject({ minThreshold: 24, coldThreshold: 8, highWatermark: 0.98, lowWatermark: 0.95, hysteresisScans: 2 })
    const decode = Schema.decodeUnknownEither(Hotness.Config)
    expect(Either.isLeft(decode({ lowWatermark: 0.99 }))).toBe(true)
    expect(Either.isLeft(decode({ coldThreshold: 30 }))).toBe(true)
    expect(Either.isLeft(decode({ hysteresisScans: 4 }))).toBe(true)
    expect(Either.isLeft(decode({ minThreshold: 0 }))).toBe(true)
    expect(Either.isRight(decode({ minThreshold: 16, coldThreshold: 4, hysteresisScans: 0 }))).toBe(true)
    expect(descriptor.name).toBe("hotness")
    expect(Either.isRight(Plugin.validate("@kmm/policy-hotness", Index, "policy", "hotness"))).toBe(true)
  })
})

describe("the record", () => {
  it("reads the last scans as a number, newest on top", () => {
    expect(Record.consecutive(2)).toBe(24)
    expect(Record.consecutive(5)).toBe(31)
    expect(Record.consecutive(0)).toBe(0)
    let r = 0
    for (const a of [true, false, true, true]) r = Record.afterScan(r, a, true, false)
    expect(Record.hotness(r)).toBe(0b11010)
    expect(Record.afterScan(Record.make({ hotness: 31, cooldown: 2, onTop: true }), false, true, true)).toBe(Record.make({ hotness: 15, cooldown: 1, onTop: true }))
    expect(Record.afterScan(0xff, true, false, true)).toBe(0)
  })

  it.effect("scans at any offset, aligned or not, agree with the page-by-page rule", () =>
    Effect.gen(function* () {
      const p = yield* primed({ demotion: false })
      const pages = 517
      const random = rng(7)
      const model = new Uint8Array(pages)
      const node = Int16Array.from({ length: pages }, () => (random() < 0.3 ? 0 : random() < 0.05 ? -1 : 1))
      for (let round = 0; round < 60; round++) {
        const offset = round % 3 === 0 ? Math.floor(random() * 16) * 32 : Math.floor(random() * pages)
        const length = 1 + Math.floor(random() * (pages - offset))
        const accessed = range(0, length).filter(() => random() < 0.6)
        yield* p.observe(accessedBits(chunk({ offset, length, mappingPages: pages, node: (i) => node[offset + i], accessed })))
        const hit = new Uint8Array(length)
        for (const i of accessed) hit[i] = 1
        for (let i = 0; i < length; i++) {
          const g = offset + i
          model[g] = Record.afterScan(model[g], hit[i] === 1, node[g] >= 0, node[g] === 0)
        }
      }
      for (let g = 0; g < pages; g++) expect([g, yield* p.record(T1, MAP + g)]).toEqual([g, model[g]])
    })
  )
})

describe("promotion threshold", () => {
  /** Pages 0-9 accessed in five scans, 10-19 in the last three, 20-29 in the last two, 30-39 in the last one. */
  const graded = (config: Hotness.ConfigInput = {}) =>
    Effect.gen(function* () {
      const p = yield* primed(config)
      for (let s = 0; s < 5; s++) {
        const hot = range(0, 10)
        if (s >= 2) hot.push(...range(10, 20))
        if (s >= 3) hot.push(...range(20, 30))
        if (s >= 4) hot.push(...range(30, 40))
        yield* scan(p, hot)
      }
      return p
    })

  it.effect("rises to the hottest pages when the budget is small", () =>
    Effect.gen(function* () {
      const p = yield* graded()
      const plans = yield* p.plan(budget({ maxPages: 10 }))
      expect(sorted(plans)).toEqual(range(0, 10))
      expect((yield* p.stats).threshold).toBe(31)
    })
  )

  it.effect("takes the next level when the budget grows", () =>
    Effect.gen(function* () {
      const p = yield* graded()
      const plans = yield* p.plan(budget({ maxPages: 20 }))
      expect(sorted(plans)).toEqual(range(0, 20))
      expect((yield* p.stats).threshold).toBe(28)
    })
  )

  it.effect("fills the budget at the threshold level, hotter pages first", () =>
    Effect.gen(function* () {
      const p = yield* graded()
      const plans = yield* p.plan(budget({ maxPages: 15 }))
      const got = sorted(plans)
      expect(got.length).toBe(15)
      expect(got.slice(0, 10)).toEqual(range(0, 10))
      expect(got.slice(10).every((g) => g >= 10 && g < 20)).toBe(true)
    })
  )

  it.effect("never goes below minThreshold, however large the budget (fill off)", () =>
    Effect.gen(function* () {
      const p = yield* graded({ fillThreshold: 24 })
      const plans = yield* p.plan(budget({ maxPages: 1000 }))
      // 30-39 were accessed in their last scan only (hotness 16): not promoted.
      expect(sorted(plans)).toEqual(range(0, 30))
      expect((yield* p.stats).threshold).toBe(24)
      expect((yield* p.stats).candidates).toBe(30)
    })
  )

  it.effect("a lower minThreshold admits single accesses", () =>
    Effect.gen(function* () {
      const p = yield* graded({ minThreshold: 16, coldThreshold: 8, fillThreshold: 16 })
      expect(sorted(yield* p.plan(budget({ maxPages: 1000, topology: topology({ n0: 10, n2: 100 }) })))).toEqual(range(0, 40))
    })
  )

  it.effect("fills free room with pages accessed once, up to fillWatermark", () =>
    Effect.gen(function* () {
      // Top tier: 2000 pages (nodes 0 and 2); fillWatermark 0.6 = 1200 pages.
      const p = yield* graded()
      // 1195 used: 5 pages of room to fill; the 30 pages >= 24 go, and 5 of the 10 of hotness 16.
      const plans = yield* p.plan(budget({ topology: topology({ n0: 0, n2: 805 }) }))
      const got = sorted(plans)
      expect(got.length).toBe(35)
      expect(got.slice(0, 30)).toEqual(range(0, 30))
      expect(got.slice(30).every((g) => g >= 30 && g < 40)).toBe(true)
      expect((yield* p.stats).threshold).toBe(16)
    })
  )

  it.effect("at or above fillWatermark, pages accessed once wait", () =>
    Effect.gen(function* () {
      const p = yield* graded()
      const plans = yield* p.plan(budget({ topology: topology({ n0: 0, n2: 800 }) }))
      expect(sorted(plans)).toEqual(range(0, 30))
      expect((yield* p.stats).threshold).toBe(24)
    })
  )

  it.effect("is limited by the room on the top tier", () =>
    Effect.gen(function* () {
      const p = yield* graded()
      const plans = yield* p.plan(budget({ topology: topology({ n0: 4, n2: 6 }) }))
      expect(sorted(plans)).toEqual(range(0, 10))
      expect(plans.map((x) => [x.destination, x.count])).toEqual([
        [0, 4],
        [2, 6]
      ])
    })
  )

  it.effect("does not propose a page twice while its move is in flight", () =>
    Effect.gen(function* () {
      const p = yield* graded()
      expect(total(yield* p.plan(budget({ maxPages: 10 })))).toBe(10)
      yield* scan(p, range(0, 30))
      const again = yield* p.plan(budget())
      expect(sorted(again)).toEqual(range(10, 30))
    })
  )
})

describe("watermarks", () => {
  /**
   * Node 0 (capacity 1000) with `used` pages; the scanned pages 0..63 sit on it with
   * graded hotness. The swap check is off: these tests are about the watermarks.
   */
  const full = (used: number, config: Hotness.ConfigInput = {}) =>
    Effect.gen(function* () {
      const p = yield* primed({ swapGain: 0, ...config })
      // Page i is accessed in the last (i >> 3) % 6 scans: hotness 0, 16, 24, 28, 30, 31.
      for (let s = 0; s < 5; s++) yield* scan(p, range(0, 64).filter((i) => ((i >> 3) % 6) >= 5 - s), { node: 0 })
      const plans = yield* p.plan(budget({ topology: twoNodes(1000 - used), destinations: [0] }))
      return { p, plans }
    })

  it.effect("demotes the coldest top-tier pages above the high watermark, down to the low one", () =>
    Effect.gen(function* () {
      const { plans } = yield* full(990)
      const down = demotions(plans)
      expect(down.length).toBe(1)
      expect(down[0].destination).toBe(1)
      // 990 used of 1000 (above 98 %): down to 95 % = 40 pages, coldest first: hotness 0 pages
      // (0-7, 48-55) and nothing warmer than the cold threshold (8).
      expect(sorted(down)).toEqual([...range(0, 8), ...range(48, 56)])
    })
  )

  it.effect("takes only as many as needed, coldest first", () =>
    Effect.gen(function* () {
      const { p, plans } = yield* full(985, { lowWatermark: 0.975 })
      const down = demotions(plans)
      expect(total(down)).toBe(10)
      for (const g of down.flatMap((x) => Array.from(x.pages.subarray(0, x.count)))) {
        expect(Record.hotness((yield* p.record(T1, g))!)).toBe(0)
      }
    })
  )

  it.effect("leaves the top tier alone below the high watermark", () =>
    Effect.gen(function* () {
      const { plans } = yield* full(975)
      expect(demotions(plans)).toEqual([])
    })
  )

  it.effect("with demotion off, never demotes", () =>
    Effect.gen(function* () {
      const { plans } = yield* full(1000, { demotion: false })
      expect(demotions(plans)).toEqual([])
    })
  )

  it.effect("counts demotions in flight as room already made", () =>
    Effect.gen(function* () {
      const { p, plans } = yield* full(990)
      expect(total(demotions(plans))).toBe(16)
      for (let s = 0; s < 3; s++) yield* scan(p, [], { node: 0 })
      // Still 990 used (the moves have not happened), 16 leaving: 974 <= 980, nothing more.
      const again = yield* p.plan(budget({ topology: twoNodes(10), destinations: [0] }))
      expect(demotions(again)).toEqual([])
    })
  )

  it.effect("puts demotions first so promotions find room, and both fit the budget", () =>
    Effect.gen(function* () {
      const p = yield* primed({ swapGain: 0 })
      for (let s = 0; s < 3; s++) {
        yield* scan(p, range(0, 32), { node: (i) => (i < 32 ? 1 : 0), length: 64 })
      }
      // 990 used: 40 to demote, 32 cold pages to demote, 8 left of the budget for promotions.
      const plans = yield* p.plan(budget({ maxPages: 40, topology: twoNodes(10), destinations: [0] }))
      expect(plans[0].direction).toBe("demote")
      expect(total(plans)).toBe(40)
      expect(total(demotions(plans))).toBe(32)
      expect(total(promotions(plans))).toBe(8)
    })
  )
})

describe("hysteresis", () => {
  it.effect("a page just promoted is not demoted for hysteresisScans scans", () =>
    Effect.gen(function* () {
      const p = yield* primed({ hysteresisScans: 3, swapGain: 0 })
      yield* scan(p, [5])
      yield* scan(p, [5])
      const [up] = yield* p.plan(budget())
      expect(offsets(up)).toEqual([5])
      yield* p.feedback(up, moved(up))
      const fullTop = budget({ topology: topology({ n0: 0, n2: 0 }) })
      // Idle on the top tier, so cold, with the top tier full: demotable only after 3 scans.
      for (let s = 1; s <= 3; s++) {
        yield* scan(p, [], { node: (i) => (i === 5 ? 0 : 1) })
        const plans = yield* p.plan(fullTop)
        if (s < 3) expect(demotions(plans)).toEqual([])
        else expect(demotions(plans).flatMap(offsets)).toEqual([5])
      }
    })
  )

  it.effect("a page just demoted is not promoted for hysteresisScans scans", () =>
    Effect.gen(function* () {
      const p = yield* primed({ hysteresisScans: 3, swapGain: 0 })
      for (let s = 0; s < 3; s++) yield* scan(p, [], { node: 0 })
      const [down] = demotions(yield* p.plan(budget({ topology: topology({ n0: 0, n2: 0 }) })))
      expect(down.count).toBe(64)
      yield* p.feedback(down, moved(down))
      // Hot again at once on the slow tier (hotness 24 after two scans): promotable after 3 scans, not before.
      yield* scan(p, [9])
      yield* scan(p, [9])
      expect(yield* p.plan(budget())).toEqual([])
      yield* scan(p, [9])
      expect(sorted(yield* p.plan(budget()))).toEqual([9])
    })
  )

  it.effect("with no hysteresis, a moved page may move back at the next plan", () =>
    Effect.gen(function* () {
      const p = yield* primed({ hysteresisScans: 0, swapGain: 0 })
      yield* scan(p, [5])
      yield* scan(p, [5])
      const [up] = yield* p.plan(budget())
      yield* p.feedback(up, moved(up))
      for (let s = 0; s < 2; s++) yield* scan(p, [], { node: (i) => (i === 5 ? 0 : 1) })
      expect(demotions(yield* p.plan(budget({ topology: topology({ n0: 0, n2: 0 }) }))).flatMap(offsets)).toEqual([5])
    })
  )
})

describe("feedback", () => {
  it.effect("busy pages may be proposed again; denied ones wait", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* scan(p, [1, 2, 3])
      yield* scan(p, [1, 2, 3])
      const [up] = yield* p.plan(budget())
      yield* p.feedback(up, { status: Int16Array.from([Status.BUSY, Status.DENIED, Status.NO_MEMORY]) })
      yield* scan(p, [1, 2, 3])
      expect(sorted(yield* p.plan(budget()))).toEqual([1, 3])
      expect(Record.cooldown((yield* p.record(T1, MAP + 2))!)).toBe(2)
    })
  )
})

describe("sampled accesses", () => {
  it.effect("count as accesses of pages of a scanned mapping", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* scan(p, [])
      yield* p.observe(samples(T1, [MAP + 3, MAP + 4]))
      expect(Record.hotness((yield* p.record(T1, MAP + 3))!)).toBe(16)
      yield* scan(p, [3])
      expect(sorted(yield* p.plan(budget()))).toEqual([3])
    })
  )

  it.effect("work alone: records age every agingMs", () =>
    Effect.gen(function* () {
      const p = yield* primed({ agingMs: 1000, fillThreshold: 24 })
      const page = 0x50_0000 + 77
      // Interval [0, 1000): sampled twice, still one interval.
      yield* p.observe(samples(T2, [page]))
      expect(yield* p.plan(budget({ now: 500 }))).toEqual([])
      yield* p.observe(samples(T2, [page]))
      expect(yield* p.plan(budget({ now: 900 }))).toEqual([])
      expect(Record.hotness((yield* p.record(T2, page))!)).toBe(16)
      // The interval closes at 1000; sampled again in [1000, 2000): two intervals.
      expect(yield* p.plan(budget({ now: 1000 }))).toEqual([])
      yield* p.observe(samples(T2, [page]))
      const plans = yield* p.plan(budget({ now: 1200 }))
      expect(plans.map((x) => [x.target, Array.from(x.pages)])).toEqual([[T2, [page]]])
      // A page sampled once, then idle, ages out.
      yield* p.observe(samples(T2, [page + 1]))
      yield* p.plan(budget({ now: 2000 }))
      yield* p.plan(budget({ now: 3000 }))
      expect(Record.hotness((yield* p.record(T2, page + 1))!)).toBe(4)
    })
  )

  it.effect("sampled pages already on the top tier are not promoted", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* scan(p, [3])
      yield* p.observe(samples(T1, [MAP + 3], 0))
      yield* scan(p, [3], { node: (i) => (i === 3 ? 0 : 1) })
      expect(yield* p.plan(budget())).toEqual([])
    })
  )
})

describe("budget", () => {
  it.effect("never exceeds maxPages over random scans, targets and budgets", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      const random = rng(99)
      for (let round = 0; round < 60; round++) {
        for (const target of [T1, T2]) {
          const hot = range(0, 256).filter(() => random() < 0.7)
          yield* scan(p, hot, { target, length: 256, node: (i) => (i % 5 === 0 ? 0 : 1) })
        }
        const maxPages = Math.floor(random() * 50)
        const plans = yield* p.plan(budget({ maxPages, topology: topology({ n0: round % 4 === 0 ? 0 : 500 }) }))
        expect(total(plans)).toBeLessThanOrEqual(maxPages)
        for (const x of plans) yield* p.feedback(x, random() < 0.5 ? moved(x) : { status: new Int16Array(x.count).fill(Status.BUSY) })
      }
    })
  )
})

describe("state", () => {
  it.effect("holds one byte per page and drops a target's state on forget", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* p.observe(accessedBits(chunk({ length: 64, mappingPages: 1 << 20, accessed: [1] })))
      const bytes = yield* p.stateBytes
      expect(bytes).toBeGreaterThanOrEqual(1 << 20)
      expect(bytes / (1 << 20)).toBeLessThan(1.001)
      yield* p.forget(T1)
      expect(yield* p.stateBytes).toBeLessThan(1000)
      expect(yield* p.record(T1, MAP + 1)).toBeUndefined()
    })
  )
})
