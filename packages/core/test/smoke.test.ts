import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { Backend } from "../src/Backend.js"
import * as Daemon from "../src/Daemon.js"
import * as TestBackend from "../src/TestBackend.js"
import * as TestPolicy from "../src/TestPolicy.js"
import * as Tunables from "../src/Tunables.js"

describe("daemon smoke", () => {
  it.scoped("promotes hot slow-tier pages", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 7, pages: 4096, hot: [[0, 100]] }] })
      const daemon = yield* Daemon.make().pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(Backend, tb.backend), TestPolicy.layerTest, Tunables.layer()))
      )
      yield* TestClock.adjust("10 seconds")
      const c = yield* daemon.counters
      expect(c.migrated).toBe(100)
      expect(tb.nodeOf(7, 50)).toBe(0)
      expect(tb.nodeOf(7, 150)).toBe(1)
    })
  )
})
