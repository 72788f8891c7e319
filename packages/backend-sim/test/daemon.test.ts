import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, TestClock } from "effect"
import * as Daemon from "@kmm/core/Daemon"
import * as TestPolicy from "@kmm/core/TestPolicy"
import * as Tunables from "@kmm/core/Tunables"
import * as VirtualTime from "@kmm/core/VirtualTime"
import * as SimBackend from "../src/SimBackend.js"

describe("the daemon on the simulator", () => {
  it.scoped("core's daemon and test policy raise the top-tier share (TestClock)", () =>
    Effect.gen(function* () {
      const sim = yield* SimBackend.Sim
      const daemon = yield* Daemon.make()
      for (let s = 0; s < 20; s++) yield* TestClock.adjust("1 second")
      const history = yield* sim.history
      expect(history).toHaveLength(20)
      // Everything starts on CXL: nothing is served by DRAM until the daemon moves pages.
      expect(history[0].topTierShare).toBe(0)
      const last = history[history.length - 1]
      expect(last.topTierShare).toBeGreaterThan(0.9 * last.oracleShare)
      const counters = yield* daemon.counters
      expect(counters.migrated).toBe((yield* sim.summary).promoted)
      expect(counters.pages_scanned).toBe((yield* sim.summary).pagesScanned)
      expect(counters.migrated).toBeGreaterThan(4096)
    }).pipe(Effect.provide(Layer.mergeAll(SimBackend.layer({ preset: "small" }), TestPolicy.layerTest, Tunables.layer({ scanSleepMs: 100 }))))
  )

  it("the default preset, as `kmm run` shows it: the share climbs, drops at the shift and recovers (VirtualTime)", async () => {
    const program = Effect.gen(function* () {
      const sim = yield* SimBackend.Sim
      yield* Effect.fork(Daemon.run)
      yield* Effect.sleep("60 seconds")
      return { history: yield* sim.history, summary: yield* sim.summary }
    }).pipe(Effect.provide(Layer.mergeAll(SimBackend.layer(), TestPolicy.layerTest, Tunables.layer())))
    const result = await VirtualTime.make().run(program)
    if (!Exit.isSuccess(result.exit)) throw new Error(`the run failed: ${String(result.exit)}`)
    const { history, summary } = result.exit.value
    const at = (s: number) => history[s - 1].topTierShare
    expect(at(1)).toBe(0)
    expect(at(29)).toBeGreaterThan(0.9 * history[28].oracleShare)
    expect(at(31)).toBeLessThan(at(29) - 0.3)
    expect(summary.recoveries).toHaveLength(1)
    expect(summary.recoveries[0].atMs).toBe(30_000)
    expect(summary.recoveries[0].recoveryMs).not.toBeNull()
    expect(summary.recoveries[0].recoveryMs!).toBeLessThan(20_000)
    expect(at(59)).toBeGreaterThan(0.9 * history[58].oracleShare)
  })
})

describe("determinism", () => {
  const run = (seed: number) =>
    VirtualTime.make().run(
      Effect.gen(function* () {
        const sim = yield* SimBackend.Sim
        yield* Effect.fork(Daemon.run)
        yield* Effect.sleep("40 seconds")
        return { history: yield* sim.history, summary: yield* sim.summary }
      }).pipe(
        Effect.provide(
          Layer.mergeAll(SimBackend.layer({ preset: "small", seed, faults: { migrateFailureRate: 0.05 } }), TestPolicy.layerTest, Tunables.layer())
        )
      )
    )

  it("the same seed gives identical results; another seed does not", async () => {
    const [a, b, c] = await Promise.all([run(3), run(3), run(4)])
    if (!Exit.isSuccess(a.exit) || !Exit.isSuccess(b.exit) || !Exit.isSuccess(c.exit)) throw new Error("a run failed")
    expect(a.exit.value.summary.promoted).toBeGreaterThan(0)
    expect(b.exit.value).toEqual(a.exit.value)
    expect(c.exit.value.summary).not.toEqual(a.exit.value.summary)
  })
})
