import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { accessedBits } from "@kmm/core/Observation"
import { Status } from "@kmm/core/MigrationPlan"
import * as Plugin from "@kmm/core/Plugin"
import * as Abit from "../src/Abit.js"
import * as Index from "../src/index.js"
import { descriptor } from "../src/index.js"
import { budget, chunk, MAP, offsets, range, rng, T1, T2, topology, total } from "./helpers.js"

/** Learns the topology (tiers), as the daemon's first plan does. */
const primed = (config: Abit.ConfigInput = {}) =>
  Effect.gen(function* () {
    const p = Abit.make(config)
    yield* p.plan(budget())
    return p
  })

describe("config", () => {
  it("fills in defaults and refuses bad options", () => {
    expect(Abit.defaults).toEqual({ rule: "second-access", targetNode: "auto", fallback: true })
    expect(Schema.decodeUnknownSync(Abit.Config)({ rule: "first-access" }).rule).toBe("first-access")
    expect(Either.isLeft(Schema.decodeUnknownEither(Abit.Config)({ rule: "third-access" }))).toBe(true)
    expect(Either.isLeft(Schema.decodeUnknownEither(Abit.Config)({ targetNode: -2 }))).toBe(true)
    expect(() => Abit.make({ targetNode: 1.5 } as never)).toThrow()
    expect(descriptor.name).toBe("abit")
    expect(descriptor.kind).toBe("policy")
  })

  it("passes core's plug-in check", () => {
    const checked = Plugin.validate("@kmm/policy-abit", Index, "policy", "abit")
    expect(Either.isRight(checked)).toBe(true)
  })
})

describe("second access (V3, the default)", () => {
  it.effect("promotes only on the second consecutive scan that finds a page accessed", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* p.observe(accessedBits(chunk({ length: 64, accessed: [3, 10, 40] })))
      expect(yield* p.plan(budget())).toEqual([])
      yield* p.observe(accessedBits(chunk({ length: 64, accessed: [3, 40, 41] })))
      const plans = yield* p.plan(budget())
      expect(plans.length).toBe(1)
      expect(plans[0].direction).toBe("promote")
      expect(plans[0].target).toBe(T1)
      expect(offsets(plans[0])).toEqual([3, 40])
      // Proposed once: nothing more until scans find them again.
      expect(yield* p.plan(budget())).toEqual([])
    })
  )

  it.effect("needs consecutive scans: accessed, idle, accessed is not enough", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [7] })))
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [] })))
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [7] })))
      expect(yield* p.plan(budget())).toEqual([])
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [7] })))
      expect(offsets((yield* p.plan(budget()))[0])).toEqual([7])
    })
  )

  it.effect("drops a candidate that the next scan finds idle before it was planned", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [1, 2] })))
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [1, 2] })))
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [2] })))
      expect(offsets((yield* p.plan(budget()))[0])).toEqual([2])
    })
  )

  it.effect("ignores top-tier pages and pages not present", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      const node = (i: number) => (i < 8 ? 0 : i < 16 ? -1 : 1)
      for (let s = 0; s < 2; s++) yield* p.observe(accessedBits(chunk({ length: 32, node, accessed: range(0, 32) })))
      expect(offsets((yield* p.plan(budget()))[0])).toEqual(range(16, 32))
    })
  )

  it.effect("records nothing as a candidate before it has seen a topology", () =>
    Effect.gen(function* () {
      const p = Abit.make({ rule: "first-access" })
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [1] })))
      expect(yield* p.plan(budget())).toEqual([])
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [1] })))
      expect(total(yield* p.plan(budget()))).toBe(1)
    })
  )
})

describe("first access (V0)", () => {
  it.effect("promotes on the first scan that finds a page accessed", () =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access" })
      yield* p.observe(accessedBits(chunk({ length: 64, accessed: [0, 31, 32, 63] })))
      expect(offsets((yield* p.plan(budget()))[0])).toEqual([0, 31, 32, 63])
    })
  )
})

describe("destinations", () => {
  const fiveCandidates = (config: Abit.ConfigInput) =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access", ...config })
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: range(0, 10) })))
      return p
    })

  it.effect("auto: the daemon's first destination", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({})
      const plans = yield* p.plan(budget({ destinations: [2, 0] }))
      expect(plans.map((x) => [x.destination, x.count])).toEqual([[2, 10]])
    })
  )

  it.effect("falls back to the next top-tier node when the first is full", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({})
      const plans = yield* p.plan(budget({ destinations: [2, 0], topology: topology({ n2: 3 }) }))
      expect(plans.map((x) => [x.destination, x.count])).toEqual([
        [2, 3],
        [0, 7]
      ])
      expect(offsets(plans[0])).toEqual([0, 1, 2])
    })
  )

  it.effect("without fallback, a full destination stops promotions", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({ fallback: false })
      expect(yield* p.plan(budget({ destinations: [2, 0], topology: topology({ n2: 0 }) }))).toEqual([])
      const partial = yield* p.plan(budget({ destinations: [2, 0], topology: topology({ n2: 4 }) }))
      expect(partial.map((x) => [x.destination, x.count])).toEqual([[2, 4]])
    })
  )

  it.effect("proposes nothing when every destination is full", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({})
      expect(yield* p.plan(budget({ topology: topology({ n0: 0, n2: 0 }) }))).toEqual([])
      // The candidates wait; room appears, they go.
      expect(total(yield* p.plan(budget()))).toBe(10)
    })
  )

  it.effect("a fixed node goes first; the daemon's list is the fallback", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({ targetNode: 2 })
      const plans = yield* p.plan(budget({ destinations: [0, 2], topology: topology({ n2: 6 }) }))
      expect(plans.map((x) => [x.destination, x.count])).toEqual([
        [2, 6],
        [0, 4]
      ])
    })
  )

  it.effect("a fixed node in back-off is skipped", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({ targetNode: 2 })
      const plans = yield* p.plan(budget({ destinations: [0], unavailable: [2] }))
      expect(plans.map((x) => [x.destination, x.count])).toEqual([[0, 10]])
    })
  )

  it.effect("without a daemon order, picks the top-tier node with the most free pages", () =>
    Effect.gen(function* () {
      const p = yield* fiveCandidates({})
      const plans = yield* p.plan(budget({ destinations: [], topology: topology({ n0: 100, n2: 500 }) }))
      expect(plans.map((x) => x.destination)).toEqual([2])
    })
  )

  it.effect("counts pages in flight against a node's free pages until outcomes arrive", () =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access", fallback: false })
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: range(0, 8) })))
      const first = yield* p.plan(budget({ topology: topology({ n0: 5 }) }))
      expect(offsets(first[0])).toEqual(range(0, 5))
      // Free pages still read 5 (the moves have not happened): no room for pages 5..7.
      expect(yield* p.plan(budget({ topology: topology({ n0: 5 }) }))).toEqual([])
      yield* p.feedback(first[0], { status: new Int16Array(5).fill(0) })
      expect(offsets((yield* p.plan(budget({ topology: topology({ n0: 5 }) })))[0])).toEqual([5, 6, 7])
    })
  )
})

describe("budget", () => {
  it.effect("never proposes more than maxPages, across targets and calls", () =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access" })
      yield* p.observe(accessedBits(chunk({ target: T1, length: 256, accessed: range(0, 200) })))
      yield* p.observe(accessedBits(chunk({ target: T2, length: 256, accessed: range(0, 100) })))
      let seen = 0
      for (let k = 0; k < 10; k++) {
        const plans = yield* p.plan(budget({ maxPages: 37 }))
        expect(total(plans)).toBeLessThanOrEqual(37)
        seen += total(plans)
      }
      expect(seen).toBe(300)
      expect(yield* p.plan(budget({ maxPages: 37 }))).toEqual([])
    })
  )

  it.effect("a zero budget proposes nothing and keeps the candidates", () =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access" })
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [4] })))
      expect(yield* p.plan(budget({ maxPages: 0 }))).toEqual([])
      expect(total(yield* p.plan(budget()))).toBe(1)
    })
  )
})

describe("feedback", () => {
  it.effect("busy pages are retried; denied ones are not, until a scan finds them idle", () =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access" })
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [1, 2, 3] })))
      const [plan] = yield* p.plan(budget())
      yield* p.feedback(plan, { status: Int16Array.from([Status.BUSY, Status.DENIED, 0]) })
      expect(offsets((yield* p.plan(budget()))[0])).toEqual([1])
      // Page 2 stays skipped while accessed...
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [2] })))
      expect(yield* p.plan(budget())).toEqual([])
      // ...an idle scan clears the skip, and the next access makes it a candidate.
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [] })))
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [2] })))
      expect(offsets((yield* p.plan(budget()))[0])).toEqual([2])
    })
  )
})

describe("state", () => {
  it.effect("holds three bits per page and drops a target's state on forget", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      yield* p.observe(accessedBits(chunk({ length: 32, mappingPages: 1 << 16, accessed: [1] })))
      const bytes = yield* p.stateBytes
      expect(bytes).toBeGreaterThanOrEqual((3 * (1 << 16)) / 8)
      expect(bytes / (1 << 16)).toBeLessThan(0.5)
      yield* p.forget(T1)
      expect(yield* p.stateBytes).toBeLessThan(100)
    })
  )

  it.effect("chunks at any offset of a mapping agree with a page-by-page model", () =>
    Effect.gen(function* () {
      const p = yield* primed()
      const pages = 300
      const random = rng(42)
      const prev = new Uint8Array(pages)
      const cand = new Uint8Array(pages)
      const node = new Int8Array(pages).map(() => (random() < 0.2 ? 0 : random() < 0.05 ? -1 : 1))
      for (let round = 0; round < 40; round++) {
        const offset = Math.floor(random() * pages)
        const length = 1 + Math.floor(random() * (pages - offset))
        const accessed = range(0, length).filter(() => random() < 0.5)
        yield* p.observe(accessedBits(chunk({ offset, length, mappingPages: pages, node: (i) => node[offset + i], accessed })))
        const hit = new Uint8Array(length)
        for (const i of accessed) hit[i] = 1
        for (let i = 0; i < length; i++) {
          const g = offset + i
          const a = hit[i] === 1 && node[g] >= 0 ? 1 : 0
          cand[g] = a === 1 && node[g] === 1 && (cand[g] === 1 || prev[g] === 1) ? 1 : 0
          prev[g] = a
        }
        if (round % 7 === 6) {
          const got = (yield* p.plan(budget())).flatMap(offsets).sort((a, b) => a - b)
          const want = range(0, pages).filter((g) => cand[g] === 1)
          expect(got).toEqual(want)
          cand.fill(0)
        }
      }
    })
  )
})

describe("soft-dirty", () => {
  it.effect("accepts accessed bits only", () =>
    Effect.gen(function* () {
      const p = yield* primed({ rule: "first-access" })
      expect(p.accepts).toEqual(["accessed-bit"])
      yield* p.observe(accessedBits(chunk({ length: 32, accessed: [1] }), "soft-dirty"))
      expect(yield* p.plan(budget())).toEqual([])
      expect(MAP).toBeGreaterThan(0)
    })
  )
})
