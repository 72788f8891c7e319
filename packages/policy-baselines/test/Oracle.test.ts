import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import type { GroundTruth as GroundTruthService } from "@kmm/core/GroundTruth"
import { GroundTruth } from "@kmm/core/GroundTruth"
import { accessedBits } from "@kmm/core/Observation"
import { Policy } from "@kmm/core/Policy"
import * as Oracle from "../src/Oracle.js"
import { oracleDescriptor } from "../src/index.js"
import { budget, chunk, MAP, offsets, range, T1, total, twoNodes } from "./helpers.js"

/** A truth for target T1, one mapping at MAP of `rates.length` pages. */
const truth = (rates: ArrayLike<number>): { readonly truth: GroundTruthService; readonly set: (r: ArrayLike<number>) => void } => {
  let current = Float32Array.from(rates)
  return {
    truth: {
      rates: () => Effect.sync(() => [{ start: MAP, rates: current }]),
      targets: Effect.succeed([T1])
    },
    set: (r) => {
      current = Float32Array.from(r)
    }
  }
}

const sorted = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)
const promoted = (plans: ReadonlyArray<{ direction: string }>) => plans.filter((x) => x.direction === "promote") as never as Parameters<typeof offsets>[0][]
const demoted = (plans: ReadonlyArray<{ direction: string }>) => plans.filter((x) => x.direction === "demote") as never as Parameters<typeof offsets>[0][]

describe("oracle", () => {
  it.effect("promotes the hottest pages that fit, hottest first", () =>
    Effect.gen(function* () {
      // 64 pages, page i has rate i; top tier (node 0) has room for 10.
      const t = truth(range(0, 64))
      const p = Oracle.makeWith(t.truth)
      yield* p.plan(budget({ topology: twoNodes(10) }))
      yield* p.observe(accessedBits(chunk({ length: 64, mappingPages: 64, node: 1 })))
      const first = yield* p.plan(budget({ maxPages: 4, topology: twoNodes(10), now: 1000 }))
      expect(first.flatMap(offsets)).toEqual([63, 62, 61, 60])
      const rest = yield* p.plan(budget({ topology: twoNodes(10), now: 1100 }))
      expect(sorted(rest.flatMap(offsets))).toEqual(range(54, 60))
      expect((yield* p.stats).cutoff).toBe(53)
    })
  )

  it.effect("demotes colder pages only to make room for hotter ones", () =>
    Effect.gen(function* () {
      // Pages 0..31 on node 0 (cold, rate 1), 32..63 on node 1 (hot, rate 100 for 32..39 only).
      const rates = range(0, 64).map((i) => (i >= 32 && i < 40 ? 100 : 1))
      const p = Oracle.makeWith(truth(rates).truth)
      yield* p.plan(budget({ topology: twoNodes(0) }))
      yield* p.observe(accessedBits(chunk({ length: 64, mappingPages: 64, node: (i) => (i < 32 ? 0 : 1) })))
      const plans = yield* p.plan(budget({ topology: twoNodes(0), destinations: [0], now: 1000 }))
      expect(plans[0].direction).toBe("demote")
      expect(promoted(plans).flatMap(offsets).sort((a, b) => a - b)).toEqual(range(32, 40))
      expect(total(demoted(plans))).toBe(8)
      expect(demoted(plans).flatMap(offsets).every((g) => g < 32)).toBe(true)
    })
  )

  it.effect("with equal rates, fills free room and moves nothing else", () =>
    Effect.gen(function* () {
      const p = Oracle.makeWith(truth(new Array(64).fill(5)).truth)
      yield* p.plan(budget({ topology: twoNodes(6) }))
      yield* p.observe(accessedBits(chunk({ length: 64, mappingPages: 64, node: (i) => (i < 16 ? 0 : 1) })))
      const plans = yield* p.plan(budget({ topology: twoNodes(6), now: 1000 }))
      expect(total(plans)).toBe(6)
      expect(demoted(plans)).toEqual([])
      expect(yield* p.plan(budget({ topology: twoNodes(0), now: 2000 }))).toEqual([])
    })
  )

  it.effect("follows the truth when the rates change", () =>
    Effect.gen(function* () {
      const t = truth(range(0, 64).map((i) => (i < 8 ? 100 : 1)))
      const p = Oracle.makeWith(t.truth, { refreshMs: 100 })
      yield* p.plan(budget({ topology: twoNodes(8) }))
      yield* p.observe(accessedBits(chunk({ length: 64, mappingPages: 64, node: 1 })))
      const first = yield* p.plan(budget({ topology: twoNodes(8), now: 1000 }))
      expect(sorted(first.flatMap(offsets))).toEqual(range(0, 8))
      for (const x of first) yield* p.feedback(x, { status: new Int16Array(x.count).fill(0) })
      // The hot set moves to 56..63: they come up, 0..7 go down.
      t.set(range(0, 64).map((i) => (i >= 56 ? 100 : 1)))
      const second = yield* p.plan(budget({ topology: twoNodes(0), now: 1200 }))
      expect(sorted(promoted(second).flatMap(offsets))).toEqual(range(56, 64))
      expect(sorted(demoted(second).flatMap(offsets))).toEqual(range(0, 8))
    })
  )

  it.effect("its descriptor builds a layer that needs GroundTruth", () =>
    Effect.gen(function* () {
      const policy = yield* Policy.pipe(Effect.provide(oracleDescriptor.layer(Schema.decodeSync(oracleDescriptor.configSchema)({})).pipe(Layer.provide(Layer.succeed(GroundTruth, truth([1]).truth)))))
      expect(policy.name).toBe("oracle")
      expect(policy.accepts).toEqual(["accessed-bit"])
    })
  )
})
