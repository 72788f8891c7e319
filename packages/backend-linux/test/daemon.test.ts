import { describe, expect, it } from "@effect/vitest"
import * as Daemon from "@kmm/core/Daemon"
import type { DaemonEvent } from "@kmm/core/Events"
import * as TestPolicy from "@kmm/core/TestPolicy"
import * as Tunables from "@kmm/core/Tunables"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as LinuxBackend from "../src/LinuxBackend.js"
import { eventually, noCompiler, toucher } from "./helpers.js"

describe.skipIf(noCompiler)("core's daemon on this backend", () => {
  it.scopedLive("scans a real process sweep after sweep, counts what it saw, and drops it when it exits", () =>
    Effect.gen(function* () {
      const t = yield* toucher(20_000, "all")
      yield* Effect.promise(() => t.command(`hot 0 5000`))
      const stack = Layer.mergeAll(
        LinuxBackend.layer({ targets: { pids: [t.pid] } }),
        TestPolicy.layerTest,
        Tunables.layer({ scanSleepMs: 5, initialDelayMs: 0, targetRefreshMs: 50, scanPeriodMs: 50, scanPeriodMinMs: 50, scanPeriodMaxMs: 200 })
      )
      yield* Effect.gen(function* () {
        const linux = yield* LinuxBackend.Linux
        const daemon = yield* Daemon.make()
        const events = yield* daemon.subscribe
        const target = yield* eventually(
          () => Effect.map(daemon.targets, (ts) => ts.find((x) => x.id === t.pid && x.sweeps >= 3)),
          "three sweeps of the child"
        )
        expect(target.name).toBe("toucher")
        expect(target.pages).toBeGreaterThanOrEqual(20_000)
        const c = yield* daemon.counters
        expect(c.pages_scanned).toBeGreaterThanOrEqual(3 * target.pages)
        expect(c.mm_scans).toBeGreaterThanOrEqual(3)
        expect(c.scan_passes).toBeGreaterThanOrEqual(3)
        // One node: nothing to promote, nothing moved or failed.
        expect(c.migrated).toBe(0)
        expect(c.migrate_failed).toBe(0)
        if (linux.source === "none") {
          // No source: chunks are not handed on, so nothing is counted as accessed or idle.
          expect(c.vma_scans).toBe(0)
          expect(c.toptier + c.idlepage).toBe(0)
        } else {
          expect(c.vma_scans).toBeGreaterThan(0)
          expect(c.toptier).toBeGreaterThan(0)
        }

        yield* Effect.promise(() => t.kill())
        yield* eventually(() => Effect.map(daemon.counters, (x) => (x.targets_gone === 1 ? x : undefined)), "the exited child to be dropped")
        expect((yield* daemon.targets).map((x) => x.id)).not.toContain(t.pid)
        const seen: Array<DaemonEvent> = [...(yield* Queue.takeAll(events))]
        expect(seen.filter((e) => e._tag === "BackendError")).toEqual([])
        expect(seen.some((e) => e._tag === "TargetGone" && e.target === t.pid)).toBe(true)
        expect(seen.some((e) => e._tag === "SweepDone" && e.target === t.pid)).toBe(true)
      }).pipe(Effect.provide(stack))
    })
  )
})
