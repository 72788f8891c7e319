import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Status } from "@kmm/core/MigrationPlan"
import { accessedBits } from "@kmm/core/Observation"
import type { Topology } from "@kmm/core/Topology"
import * as Hotness from "../src/Hotness.js"
import { budget, chunk, MAP, rng } from "./helpers.js"

const TOP = 256
const PAGES = 1024

const topology = (used: number): Topology => ({
  pageSize: 4096,
  nodes: [
    { id: 0, tier: 0, capacityPages: TOP, freePages: TOP - used, cpus: [0], distances: [10, 20] },
    { id: 1, tier: 1, capacityPages: 8 * PAGES, freePages: 8 * PAGES - (PAGES - used), cpus: [], distances: [20, 10] }
  ]
})

/**
 * A small machine driven by hand: PAGES pages, the first TOP on the top tier (full).
 * Each round scans every page with `accessed(i, round)`, plans, and carries the plans
 * out. Returns the pages demoted in each round.
 */
const drive = (config: Hotness.ConfigInput, rounds: number, accessed: (page: number, round: number) => boolean) =>
  Effect.gen(function* () {
    const p = Hotness.make(config)
    const node = Int16Array.from({ length: PAGES }, (_, i) => (i < TOP ? 0 : 1))
    const demoted: Array<number> = []
    for (let r = 0; r < rounds; r++) {
      const used = node.reduce((n, x) => n + (x === 0 ? 1 : 0), 0)
      const hits = Array.from({ length: PAGES }, (_, i) => i).filter((i) => accessed(i, r))
      yield* p.observe(accessedBits(chunk({ length: PAGES, mappingPages: PAGES, node: (i) => node[i], accessed: hits })))
      const plans = yield* p.plan(budget({ topology: topology(used), destinations: [0], now: r * 500, maxPages: 4096 }))
      let down = 0
      for (const plan of plans) {
        const status = new Int16Array(plan.count)
        for (let k = 0; k < plan.count; k++) {
          const i = plan.pages[k] - MAP
          const free = TOP - node.reduce((n, x) => n + (x === 0 ? 1 : 0), 0)
          if (plan.destination === 0 && free <= 0) status[k] = Status.NO_MEMORY
          else {
            node[i] = plan.destination
            status[k] = plan.destination
            if (plan.direction === "demote") down++
          }
        }
        yield* p.feedback(plan, { status })
      }
      demoted.push(down)
    }
    return { demoted, node, stats: yield* p.stats }
  })

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

describe("swaps must pay", () => {
  it.effect("a flat access pattern: demotions fall to a trickle once swaps show no gain", () =>
    Effect.gen(function* () {
      const random = rng(5)
      const flat = () => random() < 0.5
      const governed = yield* drive({}, 80, flat)
      const free = yield* drive({ swapGain: 0 }, 80, flat)
      const late = (d: ReadonlyArray<number>) => sum(d.slice(40))
      // Without the check, noise keeps pages swapping; with it, a trickle.
      expect(late(free.demoted)).toBeGreaterThan(200)
      expect(late(governed.demoted)).toBeLessThan(late(free.demoted) / 5)
      expect(governed.stats.swapGain).toBeLessThan(0.15)
    })
  )

  it.effect("a real hot set: demotions go at the watermarks' pace and the hot pages get in", () =>
    Effect.gen(function* () {
      // Pages 512..639 hot (every scan), all others idle.
      const hot = (i: number) => i >= 512 && i < 640
      const { node, stats } = yield* drive({}, 40, (i) => hot(i))
      let inTop = 0
      for (let i = 512; i < 640; i++) if (node[i] === 0) inTop++
      expect(inTop).toBe(128)
      expect(stats.swapGain).toBeGreaterThan(0.5)
    })
  )

  it.effect("with hysteresis 0 there is nothing to measure: the check is off", () =>
    Effect.gen(function* () {
      const random = rng(5)
      const { demoted } = yield* drive({ hysteresisScans: 0 }, 40, () => random() < 0.5)
      expect(sum(demoted.slice(20))).toBeGreaterThan(100)
    })
  )
})
