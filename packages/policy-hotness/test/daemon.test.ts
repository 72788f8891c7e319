import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { Backend } from "@kmm/core/Backend"
import * as Daemon from "@kmm/core/Daemon"
import * as TestBackend from "@kmm/core/TestBackend"
import * as Tunables from "@kmm/core/Tunables"
import * as Hotness from "../src/Hotness.js"

const start = (tb: TestBackend.TestBackend, config: Hotness.ConfigInput = {}) =>
  Daemon.make().pipe(
    Effect.provide(
      Layer.mergeAll(Layer.succeed(Backend, tb.backend), Hotness.layer(config), Tunables.layer({ scanPeriodMs: 400, scanPeriodMaxMs: 400, scanSleepMs: 100 }))
    )
  )

const onNode = (tb: TestBackend.TestBackend, target: number, from: number, to: number, node: number) => {
  let n = 0
  for (let i = from; i < to; i++) if (tb.nodeOf(target, i) === node) n++
  return n
}

describe("hotness under the daemon (TestBackend, TestClock)", () => {
  it.scoped("hot slow-tier pages end up on the top tier; cold ones stay", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 7, pages: [3000, 2000], hot: [[100, 400], [3500, 3600]] }] })
      const daemon = yield* start(tb)
      yield* TestClock.adjust("10 seconds")
      const c = yield* daemon.counters
      expect(onNode(tb, 7, 100, 400, 0)).toBe(300)
      expect(onNode(tb, 7, 3500, 3600, 0)).toBe(100)
      expect(onNode(tb, 7, 0, 100, 1) + onNode(tb, 7, 400, 3500, 1) + onNode(tb, 7, 3600, 5000, 1)).toBe(4600)
      expect(c.migrated).toBe(400)
    })
  )

  it.scoped("a full top tier: cold pages are demoted so the hot ones get in, without moving back", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({
        nodes: [
          { id: 0, tier: 0, capacityPages: 1000 },
          { id: 1, tier: 1, capacityPages: 8000 }
        ],
        targets: [
          { id: 1, pages: 1000, node: 0 },
          { id: 2, pages: 2000, node: 1, hot: [[0, 600]] }
        ]
      })
      const daemon = yield* start(tb)
      yield* TestClock.adjust("30 seconds")
      expect(onNode(tb, 2, 0, 600, 0)).toBe(600)
      expect(onNode(tb, 2, 600, 2000, 0)).toBe(0)
      const c = yield* daemon.counters
      // Each hot page moved up once; only idle pages of target 1 moved down.
      expect(c.migrated - c.demoted).toBe(600)
      expect(c.demoted).toBe(onNode(tb, 1, 0, 1000, 1))
      expect(tb.used()[0]).toBeLessThanOrEqual(1000)
      // Settled: nothing moves any more.
      yield* TestClock.adjust("10 seconds")
      expect((yield* daemon.counters).migrated).toBe(c.migrated)
    })
  )

  it.scoped("demotion off: a full top tier stops promotions", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({
        nodes: [
          { id: 0, tier: 0, capacityPages: 1000 },
          { id: 1, tier: 1, capacityPages: 8000 }
        ],
        targets: [
          { id: 1, pages: 900, node: 0 },
          { id: 2, pages: 2000, node: 1, hot: [[0, 600]] }
        ]
      })
      const daemon = yield* start(tb, { demotion: false })
      yield* TestClock.adjust("20 seconds")
      expect(onNode(tb, 2, 0, 600, 0)).toBe(100)
      expect((yield* daemon.counters).demoted).toBe(0)
      expect((yield* daemon.counters).migrate_failed).toBe(0)
    })
  )
})
