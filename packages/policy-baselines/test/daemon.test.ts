import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer, TestClock } from "effect"
import type { Backend as BackendService } from "@kmm/core/Backend"
import { Backend } from "@kmm/core/Backend"
import * as Daemon from "@kmm/core/Daemon"
import { GroundTruth } from "@kmm/core/GroundTruth"
import type { Observation, SampledAccesses } from "@kmm/core/Observation"
import type { Policy } from "@kmm/core/Policy"
import * as TestBackend from "@kmm/core/TestBackend"
import * as Tunables from "@kmm/core/Tunables"
import { NumaBalancing, Oracle, Static } from "../src/index.js"

const HOT: ReadonlyArray<readonly [number, number]> = [
  [100, 400],
  [3500, 3600]
]

const machine = () => TestBackend.make({ targets: [{ id: 7, pages: [3000, 2000], hot: HOT }] })

const run = (backend: BackendService, policy: Layer.Layer<Policy>, seconds: number) =>
  Effect.gen(function* () {
    const daemon = yield* Daemon.make().pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(Backend, backend), policy, Tunables.layer({ scanPeriodMs: 400, scanPeriodMaxMs: 400, scanSleepMs: 100 })))
    )
    yield* TestClock.adjust(`${seconds} seconds`)
    return yield* daemon.counters
  })

const onTop = (tb: TestBackend.TestBackend, from: number, to: number) => {
  let n = 0
  for (let i = from; i < to; i++) if (tb.nodeOf(7, i) === 0) n++
  return n
}

/**
 * The test backend with hint faults: every accessed slow-tier page of a scan is also
 * reported as a sampled access, 10 ms after it was armed.
 */
const withHintFaults = (tb: TestBackend.TestBackend): BackendService => ({
  ...tb.backend,
  scan: (target, from, budget) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const result = yield* tb.backend.scan(target, from, budget)
      const pages: Array<number> = []
      const nodes: Array<number> = []
      for (const obs of result.observations) {
        if (obs._tag !== "AccessedBits") continue
        const c = obs.chunk
        for (let i = 0; i < c.length; i++) {
          if ((c.accessed[i >>> 5] & (1 << (i & 31))) !== 0 && c.node[i] > 0) {
            pages.push(c.start + i)
            nodes.push(c.node[i])
          }
        }
      }
      const samples: SampledAccesses = {
        _tag: "SampledAccesses",
        kind: "sampled-access",
        target,
        count: pages.length,
        page: Float64Array.from(pages),
        time: new Float64Array(pages.length).fill(now),
        cpuNode: new Int16Array(pages.length).fill(0),
        pageNode: Int16Array.from(nodes),
        sampledAt: new Float64Array(pages.length).fill(now - 10)
      }
      const observations: ReadonlyArray<Observation> = [...result.observations, samples]
      return { ...result, observations }
    })
})

describe("baselines under the daemon (TestBackend, TestClock)", () => {
  it.scoped("static moves nothing", () =>
    Effect.gen(function* () {
      const tb = machine()
      const c = yield* run(tb.backend, Static.layer(), 5)
      expect(c.migrated).toBe(0)
      expect(c.migadded).toBe(0)
      expect(onTop(tb, 0, 5000)).toBe(0)
    })
  )

  it.scoped("numa-balancing promotes the hot pages from hint faults", () =>
    Effect.gen(function* () {
      // One mapping: the model's 256 MiB window covers the whole task every second.
      const tb = TestBackend.make({ targets: [{ id: 7, pages: 5000, hot: HOT }] })
      const c = yield* run(withHintFaults(tb), NumaBalancing.layer(), 10)
      expect(onTop(tb, 100, 400)).toBe(300)
      expect(onTop(tb, 3500, 3600)).toBe(100)
      expect(onTop(tb, 0, 100) + onTop(tb, 400, 3500) + onTop(tb, 3600, 5000)).toBe(0)
      expect(c.migrated).toBe(400)
    })
  )

  it.scoped("oracle places the truly hot pages, and nothing else", () =>
    Effect.gen(function* () {
      const truth = {
        targets: Effect.succeed([7 as never]),
        rates: () =>
          Effect.sync(() =>
            [3000, 2000].map((pages, k) => {
              const rates = new Float32Array(pages).fill(0.01)
              const first = k === 0 ? 0 : 3000
              for (const [a, b] of HOT) for (let i = Math.max(a, first); i < Math.min(b, first + pages); i++) rates[i - first] = 50
              return { start: TestBackend.mappingStart(k), rates }
            })
          )
      }
      const policy = Oracle.layer().pipe(Layer.provide(Layer.succeed(GroundTruth, truth)))
      // A top tier of 400 pages: exactly the hot pages fit.
      const small = TestBackend.make({
        nodes: [
          { id: 0, tier: 0, capacityPages: 400 },
          { id: 1, tier: 1, capacityPages: 8000 }
        ],
        targets: [{ id: 7, pages: [3000, 2000], hot: HOT }]
      })
      const c = yield* run(small.backend, policy, 10)
      expect(onTop(small, 100, 400)).toBe(300)
      expect(onTop(small, 3500, 3600)).toBe(100)
      expect(c.migrated).toBe(400)
      expect(c.demoted).toBe(0)
    })
  )
})
