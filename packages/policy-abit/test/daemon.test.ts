import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { Backend } from "@kmm/core/Backend"
import * as Daemon from "@kmm/core/Daemon"
import * as MigrationPlan from "@kmm/core/MigrationPlan"
import * as TestBackend from "@kmm/core/TestBackend"
import * as Tunables from "@kmm/core/Tunables"
import * as Abit from "../src/Abit.js"

const run = (tb: TestBackend.TestBackend, config: Abit.ConfigInput, seconds: number) =>
  Effect.gen(function* () {
    const daemon = yield* Daemon.make().pipe(
      Effect.provide(
        Layer.mergeAll(Layer.succeed(Backend, tb.backend), Abit.layer(config), Tunables.layer({ scanPeriodMs: 400, scanPeriodMaxMs: 400, scanSleepMs: 100 }))
      )
    )
    yield* TestClock.adjust(`${seconds} seconds`)
    return yield* daemon.counters
  })

const onNode = (tb: TestBackend.TestBackend, target: number, from: number, to: number, node: number) => {
  let n = 0
  for (let i = from; i < to; i++) if (tb.nodeOf(target, i) === node) n++
  return n
}

describe("abit under the daemon (TestBackend, TestClock)", () => {
  it.scoped("hot slow-tier pages end up on the top tier; cold ones stay", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 7, pages: [3000, 2000], hot: [[100, 400], [3500, 3600]] }] })
      const c = yield* run(tb, {}, 10)
      expect(onNode(tb, 7, 100, 400, 0)).toBe(300)
      expect(onNode(tb, 7, 3500, 3600, 0)).toBe(100)
      expect(onNode(tb, 7, 0, 100, 1)).toBe(100)
      expect(onNode(tb, 7, 400, 3500, 1)).toBe(3100)
      expect(c.migrated).toBe(400)
      expect(c.demoted).toBe(0)
    })
  )

  it.scoped("auto destination: the top-tier node where the target's accessed pages sit, then the fallback", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({
        nodes: [
          { id: 0, tier: 0, capacityPages: 10_000 },
          { id: 1, tier: 1, capacityPages: 10_000 },
          { id: 2, tier: 0, capacityPages: 350 }
        ],
        targets: [{ id: 3, pages: 4096, node: 1, hot: [[0, 300], [1000, 1200]] }]
      })
      // Most of the target's accessed pages already sit on node 2.
      yield* tb.backend.migrate(
        MigrationPlan.make({ target: 3 as never, destination: 2, pages: Array.from({ length: 300 }, (_, i) => tb.vpnOf(3, i)) })
      )
      yield* run(tb, {}, 10)
      expect(onNode(tb, 3, 0, 300, 2)).toBe(300)
      // Node 2 had room for 50 more; the other 150 fell back to node 0.
      expect(onNode(tb, 3, 1000, 1200, 2)).toBe(50)
      expect(onNode(tb, 3, 1000, 1200, 0)).toBe(150)
    })
  )

  it.scoped("first access promotes one scan earlier than second access", () =>
    Effect.gen(function* () {
      const v0 = TestBackend.make({ targets: [{ id: 1, pages: 1024, hot: [[0, 64]] }] })
      const v3 = TestBackend.make({ targets: [{ id: 1, pages: 1024, hot: [[0, 64]] }] })
      // Initial delay 1 s, then a sweep every 400 ms: at 1.2 s one sweep has run.
      const a = yield* run(v0, { rule: "first-access" }, 1.2)
      const b = yield* run(v3, { rule: "second-access" }, 1.2)
      expect(a.migrated).toBe(64)
      expect(b.migrated).toBe(0)
    })
  )
})
