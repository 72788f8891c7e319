import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit } from "effect"
import * as Tunables from "../src/Tunables.js"

describe("Tunables", () => {
  it("has the kmmscand defaults", () => {
    expect(Tunables.defaults).toMatchObject({
      scanSleepMs: 16,
      targetsPerPass: 4096,
      scanPeriodMs: 2000,
      scanPeriodMinMs: 400,
      scanPeriodMaxMs: 5000,
      scanSizeMB: 1024,
      initialDelayMs: 1000,
      targetNode: -1,
      scanEnabled: true
    })
    for (const k of Tunables.knobs) expect(Tunables.defaults[k.name]).toBe(k.default)
  })

  it.effect("refuses an out-of-range value, naming the knob and range, and keeps the old value", () =>
    Effect.gen(function* () {
      const t = yield* Tunables.make({ scanSleepMs: 20 })
      const exit = yield* Effect.exit(t.set({ scanSizeMB: 100 }))
      expect(Exit.isFailure(exit)).toBe(true)
      const err = yield* Effect.flip(t.set({ scanSizeMB: 100 }))
      expect(err._tag).toBe("InvalidTunable")
      expect(err.knob).toBe("scanSizeMB")
      expect(err.message).toContain("from 256 to 4096")
      expect(err.message).toContain("100")
      expect((yield* t.get).scanSizeMB).toBe(1024)
      expect((yield* t.get).scanSleepMs).toBe(20)
    })
  )

  it.effect("applies a patch atomically: one bad knob rejects the whole patch", () =>
    Effect.gen(function* () {
      const t = yield* Tunables.make()
      const err = yield* Effect.flip(t.set({ scanSleepMs: 50, targetNode: "two" }))
      expect(err.knob).toBe("targetNode")
      expect((yield* t.get).scanSleepMs).toBe(16)
      const ok = yield* t.set({ scanSleepMs: 50 })
      expect(ok.scanSleepMs).toBe(50)
    })
  )

  it.effect("refuses an unknown knob with the closest known one", () =>
    Effect.gen(function* () {
      const t = yield* Tunables.make()
      const err = yield* Effect.flip(t.set({ scanSleep: 5 }))
      expect(err.knob).toBe("scanSleep")
      expect(err.message).toContain('did you mean "scanSleepMs"')
    })
  )

  it.effect("checks related knobs: min <= period <= max", () =>
    Effect.gen(function* () {
      const t = yield* Tunables.make()
      const err = yield* Effect.flip(t.set({ scanPeriodMinMs: 6000 }))
      expect(err.knob).toBe("scanPeriodMinMs")
      const err2 = yield* Effect.flip(t.set({ scanPeriodMs: 300 }))
      expect(err2.knob).toBe("scanPeriodMs")
      expect((yield* t.get).scanPeriodMinMs).toBe(400)
      const next = yield* t.set({ scanPeriodMinMs: 100, scanPeriodMs: 300 })
      expect(next.scanPeriodMs).toBe(300)
    })
  )

  it("reads environment variables and refuses malformed ones by name", () => {
    expect(Tunables.envName("scanSleepMs")).toBe("KMM_SCAN_SLEEP_MS")
    expect(Tunables.envName("scanSizeMB")).toBe("KMM_SCAN_SIZE_MB")
    expect(Tunables.envName("migrateRateMBps")).toBe("KMM_MIGRATE_RATE_MBPS")
    const ok = Tunables.fromEnv({ KMM_SCAN_SLEEP_MS: "20", KMM_SCAN_ENABLED: "false", OTHER: "x" })
    expect(Either.getOrThrow(ok)).toEqual({ scanSleepMs: 20, scanEnabled: false })
    const bad = Tunables.fromEnv({ KMM_SCAN_SIZE_MB: "lots" })
    expect(Either.isLeft(bad)).toBe(true)
    if (Either.isLeft(bad)) {
      expect(bad.left.knob).toBe("KMM_SCAN_SIZE_MB")
      expect(bad.left.message).toContain("an integer from 256 to 4096")
    }
  })

  it("refuses non-integers and wrong types", () => {
    expect(Either.isLeft(Tunables.decodePatch({ scanSleepMs: 1.5 }))).toBe(true)
    expect(Either.isLeft(Tunables.decodePatch({ scanEnabled: "yes" }))).toBe(true)
    expect(Either.isLeft(Tunables.decodePatch([1, 2]))).toBe(true)
    expect(Either.isLeft(Tunables.decodePatch(null))).toBe(true)
    expect(Either.isRight(Tunables.decodePatch({}))).toBe(true)
  })
})
