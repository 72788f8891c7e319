import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Exit, Fiber, Layer, Queue, Scope, TestClock } from "effect"
import { Policy } from "../src/Policy.js"
import type { Backend as BackendService } from "../src/Backend.js"
import { Backend } from "../src/Backend.js"
import * as Daemon from "../src/Daemon.js"
import type { DaemonEvent } from "../src/Events.js"
import { Status } from "../src/MigrationPlan.js"
import * as TestBackend from "../src/TestBackend.js"
import * as TestPolicy from "../src/TestPolicy.js"
import * as Tunables from "../src/Tunables.js"

/** Starts a daemon on a test machine; tests sleep 100 ms between passes unless they say otherwise (fewer clock steps). */
const start = (tb: TestBackend.TestBackend, tunables: Tunables.TunablesPatch = {}, backend: BackendService = tb.backend) =>
  Daemon.make().pipe(
    Effect.provide(Layer.mergeAll(Layer.succeed(Backend, backend), TestPolicy.layerTest, Tunables.layer({ scanSleepMs: 100, ...tunables })))
  )

/** Lets forked fibers run at the current virtual time. */
const settle = TestClock.adjust(0)

const drain = (q: Queue.Dequeue<DaemonEvent>) => Effect.map(Queue.takeAll(q), Chunk.toReadonlyArray)

const invariant = (d: Daemon.Daemon) =>
  Effect.gen(function* () {
    const c = yield* d.counters
    const pending = yield* d.pending
    expect(c.migadded).toBe(c.migrated + c.migrate_failed + pending)
  })

describe("Daemon", () => {
  it.scoped("promotes the hot slow-tier pages and leaves the cold ones", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 7, pages: 4096, hot: [[0, 100]] }] })
      const d = yield* start(tb)
      yield* TestClock.adjust("10 seconds")
      const c = yield* d.counters
      expect(c.migrated).toBe(100)
      expect(c.slowtier).toBe(100)
      expect(tb.nodeOf(7, 50)).toBe(0)
      expect(tb.nodeOf(7, 150)).toBe(1)
      expect(tb.used()).toEqual([100, 3996])
      yield* invariant(d)
    })
  )

  it.scoped("waits the initial delay before scanning a new target", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 1000, hot: [[0, 1000]] }] })
      const d = yield* start(tb, { initialDelayMs: 1000, scanSleepMs: 10 })
      yield* TestClock.adjust("990 millis")
      expect((yield* d.counters).pages_scanned).toBe(0)
      expect((yield* d.targets).map((t) => t.id)).toEqual([1])
      yield* TestClock.adjust("30 millis")
      expect((yield* d.counters).pages_scanned).toBe(1000)
      // A target that appears later gets its own delay.
      tb.addTarget({ id: 2, pages: 500 })
      yield* TestClock.adjust("1000 millis") // next refresh (targetRefreshMs = 1000) sees it
      const appearedAt = (yield* d.targets).find((t) => t.id === 2)!
      expect(appearedAt.sweeps).toBe(0)
      expect(appearedAt.nextScanAt).toBeGreaterThanOrEqual(2000)
    })
  )

  it.scoped("caps pages per pass at the scan size and resumes where it stopped", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 200_000 }] })
      const d = yield* start(tb, { scanSizeMB: 256, initialDelayMs: 1, scanSleepMs: 100 })
      const q = yield* d.subscribe
      yield* TestClock.adjust("1 second")
      const passes = (yield* drain(q)).filter((e) => e._tag === "ScanPass")
      const scanned = passes.map((e) => (e._tag === "ScanPass" ? e.scanned : 0))
      // 256 MiB of 4 KiB pages = 65536 pages per pass; 200000 = 3 * 65536 + 3392.
      expect(scanned.filter((n) => n > 0).slice(0, 4)).toEqual([65536, 65536, 65536, 3392])
      expect(Math.max(...scanned)).toBe(65536)
      const sweeps = (yield* d.targets)[0].sweeps
      expect(sweeps).toBe(1)
    })
  )

  it.scoped("adapts each target's period to what its sweeps find", () =>
    Effect.gen(function* () {
      // Node 0 has no room, so found pages stay on the slow tier and the count is ours to set.
      const tb = TestBackend.make({
        nodes: [
          { id: 0, tier: 0, capacityPages: 0 },
          { id: 1, tier: 1, capacityPages: 1 << 20 }
        ],
        targets: [{ id: 1, pages: 4000, hot: [[0, 1000]] }]
      })
      const d = yield* start(tb, { initialDelayMs: 0, scanPeriodMinMs: 100, scanSleepMs: 5 })
      const q = yield* d.subscribe
      const periods: Array<number> = []
      const nextSweep = Effect.gen(function* () {
        for (let i = 0; i < 10_000; i++) {
          yield* TestClock.adjust("5 millis")
          const done = (yield* drain(q)).find((e) => e._tag === "SweepDone")
          if (done !== undefined && done._tag === "SweepDone") return done
        }
        throw new Error("no sweep")
      })
      const s1 = yield* nextSweep // 0 -> 1000 found: a large swing, period / 8
      periods.push(s1.periodMs)
      tb.setHot(1, [[0, 1200]])
      periods.push((yield* nextSweep).periodMs) // 1000 -> 1200: 15 % shorter
      tb.setHot(1, [[0, 1000]])
      periods.push((yield* nextSweep).periodMs) // 1200 -> 1000: 15 % longer
      tb.setHot(1, [[0, 1050]])
      periods.push((yield* nextSweep).periodMs) // +50 < 100 pages: unchanged
      tb.setHot(1, [])
      periods.push((yield* nextSweep).periodMs) // 1050 -> 0: a large swing, period * 8
      expect(periods).toEqual([250, 213, 245, 245, 1960])
      tb.setHot(1, [[0, 4000]])
      yield* nextSweep // 0 -> 4000: / 8, clamped at 100
      expect((yield* nextSweep).periodMs).toBeGreaterThanOrEqual(100)
      const t = (yield* d.targets)[0]
      expect(t.periodMs).toBeGreaterThanOrEqual(100)
      expect(t.periodMs).toBeLessThanOrEqual(5000)
    })
  )

  it.scoped("scale 0 opts a target out; opting back in scans it again", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 1000, hot: [[0, 10]] }, { id: 2, pages: 1000, hot: [[0, 10]] }] })
      const d = yield* start(tb, { initialDelayMs: 100 })
      yield* settle
      yield* d.setScale(2, 0)
      yield* TestClock.adjust("10 seconds")
      const ts = yield* d.targets
      expect(ts.find((t) => t.id === 1)!.sweeps).toBeGreaterThan(0)
      expect(ts.find((t) => t.id === 2)!.sweeps).toBe(0)
      expect(tb.nodeOf(1, 5)).toBe(0)
      expect(tb.nodeOf(2, 5)).toBe(1)
      expect(yield* d.getScale(2)).toBe(0)
      yield* d.setScale(2, 1)
      yield* TestClock.adjust("1 second")
      expect((yield* d.targets).find((t) => t.id === 2)!.sweeps).toBeGreaterThan(0)
      expect(tb.nodeOf(2, 5)).toBe(0)
      // Bad scales and unknown targets are refused.
      expect((yield* Effect.flip(d.setScale(2, 11)))._tag).toBe("InvalidTunable")
      expect((yield* Effect.flip(d.setScale(99, 1)))._tag).toBe("UnknownTarget")
    })
  )

  it.scoped("a higher scale scans a target more often", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 100 }, { id: 2, pages: 100 }] })
      const d = yield* start(tb, { initialDelayMs: 0 })
      yield* settle
      yield* d.setScale(2, 4)
      yield* TestClock.adjust("20 seconds")
      const ts = yield* d.targets
      const s1 = ts.find((t) => t.id === 1)!.sweeps
      const s2 = ts.find((t) => t.id === 2)!.sweeps
      expect(s2).toBeGreaterThanOrEqual(3 * s1)
    })
  )

  it.scoped("disable stops scanning; enable resumes it", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 1000 }] })
      const d = yield* start(tb, { initialDelayMs: 0 })
      yield* TestClock.adjust("3 seconds")
      yield* d.tunables.set({ scanEnabled: false })
      yield* TestClock.adjust("100 millis")
      const before = tb.calls.scans
      yield* TestClock.adjust("10 seconds")
      expect(tb.calls.scans).toBe(before)
      yield* d.tunables.set({ scanEnabled: true })
      yield* TestClock.adjust("5 seconds")
      expect(tb.calls.scans).toBeGreaterThan(before)
    })
  )

  it.scoped("a target that vanishes mid-scan is dropped and counted; the others go on", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 100_000 }, { id: 2, pages: 1000, hot: [[0, 10]] }] })
      const d = yield* start(tb, { scanSizeMB: 256, initialDelayMs: 0, targetRefreshMs: 3_600_000 })
      const q = yield* d.subscribe
      yield* settle
      expect((yield* d.targets).find((t) => t.id === 1)!.cursor).toBeGreaterThan(0) // mid-sweep
      tb.kill(1)
      yield* TestClock.adjust("5 seconds")
      const gone = (yield* drain(q)).filter((e) => e._tag === "TargetGone")
      expect(gone).toHaveLength(1)
      expect(gone[0]).toMatchObject({ target: 1, during: "scan" })
      expect((yield* d.counters).targets_gone).toBe(1)
      expect((yield* d.targets).map((t) => t.id)).toEqual([2])
      expect(tb.nodeOf(2, 5)).toBe(0)
    })
  )

  it.scoped("a target gone before its queued migration: counted failed, dropped, nothing lost", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 2000, hot: [[0, 2000]] }, { id: 2, pages: 100, hot: [[0, 100]] }] })
      // 1 MiB/s = 256 pages/s: most of target 1's pages wait in the queue.
      const d = yield* start(tb, { initialDelayMs: 0, migrateRateMBps: 1, migrateBatchPages: 64, targetRefreshMs: 3_600_000 })
      yield* TestClock.adjust("1 second")
      expect(yield* d.pending).toBeGreaterThan(0)
      tb.kill(1)
      yield* TestClock.adjust("30 seconds")
      const c = yield* d.counters
      expect(c.targets_gone).toBe(1)
      expect(c.migrate_failed).toBeGreaterThan(0)
      expect(yield* d.pending).toBe(0)
      yield* invariant(d)
      expect(tb.nodeOf(2, 50)).toBe(0)
    })
  )

  it.scoped("the migration rate limit holds", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 20_000, hot: [[0, 20_000]] }] })
      const d = yield* start(tb, { initialDelayMs: 0, migrateRateMBps: 1, migrateBatchPages: 64 })
      yield* TestClock.adjust("10 seconds")
      const c = yield* d.counters
      // 1 MiB/s of 4 KiB pages is 256 pages/s: over 10 s at most 2560 plus the first batch.
      expect(c.migrated).toBeLessThanOrEqual(2560 + 64)
      expect(c.migrated).toBeGreaterThanOrEqual(2560 - 64)
      expect(c.bytes_migrated).toBe(c.migrated * 4096)
      yield* d.tunables.set({ migrateRateMBps: 4 })
      yield* TestClock.adjust("10 seconds")
      const c2 = yield* d.counters
      expect(c2.migrated - c.migrated).toBeGreaterThan(2 * 2560)
      expect(c2.migrated - c.migrated).toBeLessThanOrEqual(4 * 2560 + 64)
      yield* invariant(d)
    })
  )

  it.scoped("no-memory backs the destination off; it is tried again afterwards", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({
        nodes: [
          { id: 0, tier: 0, capacityPages: 0 },
          { id: 1, tier: 1, capacityPages: 1 << 20 }
        ],
        targets: [{ id: 1, pages: 1000, hot: [[0, 100]] }]
      })
      const d = yield* start(tb, { initialDelayMs: 0, noMemoryBackoffMs: 5000 })
      yield* TestClock.adjust("100 millis")
      expect(tb.calls.migrations).toBe(1)
      const failed = (yield* d.counters).migrate_failed
      expect(failed).toBe(100)
      yield* TestClock.adjust("4 seconds")
      expect(tb.calls.migrations).toBe(1)
      tb.setCapacity(0, 1000)
      yield* TestClock.adjust("3 seconds")
      expect(tb.calls.migrations).toBeGreaterThan(1)
      expect(tb.nodeOf(1, 10)).toBe(0)
      yield* invariant(d)
    })
  )

  it.scoped("per-page failures are outcomes: counted failed, the daemon goes on", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 1000, hot: [[0, 100]] }] })
      tb.failNext(Status.BUSY, 30)
      const d = yield* start(tb, { initialDelayMs: 0 })
      const q = yield* d.subscribe
      tb.failNextScan()
      yield* TestClock.adjust("10 seconds")
      const c = yield* d.counters
      expect(c.migrate_failed).toBe(30)
      expect(c.migrated).toBe(100) // busy pages were seen again and moved later
      expect((yield* drain(q)).some((e) => e._tag === "BackendError")).toBe(true)
      yield* invariant(d)
    })
  )

  it.scoped("auto destination: the top-tier node where the target's accessed pages mostly sit", () =>
    Effect.gen(function* () {
      const nodes = [
        { id: 0, tier: 0, capacityPages: 10_000 },
        { id: 1, tier: 1, capacityPages: 10_000 },
        { id: 2, tier: 0, capacityPages: 10_000 }
      ]
      const tb = TestBackend.make({ nodes, targets: [{ id: 1, pages: 1000, hot: [[0, 400]] }, { id: 2, pages: 1000, hot: [[0, 400]] }] })
      // Target 1 already has part of its hot set on node 2; target 2 on node 0.
      const vpns1 = Array.from({ length: 100 }, (_, i) => tb.vpnOf(1, i))
      const vpns2 = Array.from({ length: 100 }, (_, i) => tb.vpnOf(2, i))
      yield* tb.backend.migrate({ target: 1 as never, destination: 2, pages: Float64Array.from(vpns1), count: 100, direction: "promote" })
      yield* tb.backend.migrate({ target: 2 as never, destination: 0, pages: Float64Array.from(vpns2), count: 100, direction: "promote" })
      yield* start(tb, { initialDelayMs: 0 })
      yield* TestClock.adjust("5 seconds")
      expect(tb.nodeOf(1, 300)).toBe(2)
      expect(tb.nodeOf(2, 300)).toBe(0)
    })
  )

  it.scoped("a fixed target node wins over auto", () =>
    Effect.gen(function* () {
      const nodes = [
        { id: 0, tier: 0, capacityPages: 10_000 },
        { id: 1, tier: 1, capacityPages: 10_000 },
        { id: 2, tier: 0, capacityPages: 10_000 }
      ]
      const tb = TestBackend.make({ nodes, targets: [{ id: 1, pages: 1000, hot: [[0, 400]] }] })
      yield* start(tb, { initialDelayMs: 0, targetNode: 2 })
      yield* TestClock.adjust("5 seconds")
      expect(tb.nodeOf(1, 300)).toBe(2)
      expect(tb.used()).toEqual([0, 600, 400])
    })
  )

  it.effect("stops within one scan step and leaves no fiber running", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 100_000, hot: [[0, 5000]] }] })
      // Each scan step takes 1 s of virtual time.
      const slow: BackendService = { ...tb.backend, scan: (t, f, b) => Effect.zipRight(Effect.sleep("1 second"), tb.backend.scan(t, f, b)) }
      const scope = yield* Scope.make()
      yield* start(tb, { initialDelayMs: 0, scanSizeMB: 256 }, slow).pipe(Scope.extend(scope))
      yield* TestClock.adjust("2500 millis") // inside the third scan step
      yield* Scope.close(scope, Exit.void) // returns without the clock moving
      const scans = tb.calls.scans
      const migrations = tb.calls.migrations
      yield* TestClock.adjust("60 seconds")
      expect(tb.calls.scans).toBe(scans)
      expect(tb.calls.migrations).toBe(migrations)
    })
  )

  it.scoped("tunable changes are published and take effect while running", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 1000 }] })
      const d = yield* start(tb, { initialDelayMs: 0 })
      const q = yield* d.subscribe
      yield* settle
      yield* d.tunables.set({ scanSleepMs: 500 })
      yield* TestClock.adjust("100 millis")
      const changed = (yield* drain(q)).filter((e) => e._tag === "TunablesChanged")
      expect(changed).toHaveLength(1)
      const passesBefore = (yield* d.counters).scan_passes
      yield* TestClock.adjust("5 seconds")
      const passes = (yield* d.counters).scan_passes - passesBefore
      expect(passes).toBeGreaterThanOrEqual(9)
      expect(passes).toBeLessThanOrEqual(11)
    })
  )

  it.scoped("counts the vmstat counters from what it scans", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: [600, 400], hot: [[0, 50], [600, 620]] }] })
      const d = yield* start(tb, { initialDelayMs: 0, scanPeriodMs: 5000, scanPeriodMaxMs: 5000 })
      yield* TestClock.adjust("100 millis") // exactly one sweep
      const c = yield* d.counters
      expect(c.pages_scanned).toBe(1000)
      expect(c.slowtier).toBe(70)
      expect(c.toptier).toBe(0)
      expect(c.idlepage).toBe(930)
      expect(c.vma_scans).toBe(2)
      expect(c.migadded).toBe(70)
      expect(c.migrated).toBe(70)
    })
  )

  it.effect("a policy that throws stops the daemon with an error naming the role", () =>
    Effect.gen(function* () {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 1000, hot: [[0, 10]] }] })
      const broken = Layer.succeed(Policy, {
        ...TestPolicy.make(),
        observe: () => Effect.die(new Error("observe exploded"))
      })
      const fiber = yield* Effect.fork(
        Daemon.run.pipe(Effect.provide(Layer.mergeAll(Layer.succeed(Backend, tb.backend), broken, Tunables.layer({ initialDelayMs: 0 }))))
      )
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      expect(error?._tag === "Some" && error.value._tag).toBe("DaemonCrashed")
      expect(error?._tag === "Some" && error.value.message).toContain("scanner stopped on an unexpected error: observe exploded")
    })
  )
})
