import { describe, expect, it } from "@effect/vitest"
import { Chunk, Config, ConfigProvider, Effect, Exit, Fiber, Layer, Option, Stream, TestClock } from "effect"
import { Backend } from "@kmm/core/Backend"
import * as CoreBackend from "@kmm/core/Backend"
import { GroundTruth } from "@kmm/core/GroundTruth"
import * as MigrationPlan from "@kmm/core/MigrationPlan"
import { targetId } from "@kmm/core/Target"
import { descriptor } from "../src/index.js"
import * as SimBackend from "../src/SimBackend.js"
import { nodes, PAGE } from "./helpers.js"

const small = (extra: Record<string, unknown> = {}) =>
  SimBackend.layer({
    nodes: nodes(1024, 8192),
    observe: { samplesPerScan: 32 },
    tasks: [{ id: 1, size: 4096 * PAGE, node: 1, workload: { kind: "hotset", accessesPerSec: 4096, hotFraction: 0.2 } }],
    ...extra
  })

describe("SimBackend.layer", () => {
  it.scoped("provides Backend, GroundTruth and Sim over the same machine", () =>
    Effect.gen(function* () {
      const backend = yield* Backend
      const sim = yield* SimBackend.Sim
      const truth = yield* GroundTruth
      expect(backend.name).toBe("sim")
      const caps = yield* backend.capabilities
      expect(CoreBackend.hasSource(caps, "accessed-bit")).toBe(true)
      expect(CoreBackend.hasSource(caps, "sampled-access")).toBe(true)
      expect(CoreBackend.hasSource(caps, "soft-dirty")).toBe(false)
      expect(CoreBackend.hasSource(caps, "region-sample")).toBe(false)
      const topo = yield* backend.topology
      expect(topo.nodes.map((n) => [n.label, n.tier, n.freePages, n.cpus.length])).toEqual([
        ["DRAM", 0, 1024, 2],
        ["CXL", 1, 8192 - 4096, 0]
      ])
      expect(topo.nodes[0].distances).toEqual([10, 28])
      expect(yield* backend.targets).toEqual([{ id: 1, name: "task-1", pages: 4096 }])
      expect(yield* truth.targets).toEqual([1])
      const rates = yield* truth.rates(targetId(1))
      expect(rates[0].rates.reduce((s, r) => s + r, 0)).toBeCloseTo(4096, 1)
      expect(yield* truth.rates(targetId(9))).toEqual([])
      expect((yield* sim.occupancy).map((o) => o.usedPages)).toEqual([0, 4096])
    }).pipe(Effect.provide(small()))
  )

  it.scoped("charges scan and migration cost in virtual time", () =>
    Effect.gen(function* () {
      const backend = yield* Backend
      const sim = yield* SimBackend.Sim
      yield* TestClock.adjust("1 second")
      // 4096 pages at 1000 ns each: the scan takes 4.096 ms of virtual time.
      const scan = yield* Effect.fork(backend.scan(targetId(1), 0, 4096))
      yield* TestClock.adjust("4 millis")
      expect(Option.isNone(yield* Fiber.poll(scan))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(scan)
      expect(result.scanned).toBe(4096)
      expect(result.next).toBeNull()
      expect(result.observations.some((o) => o._tag === "SampledAccesses")).toBe(true)
      const vpn = yield* sim.vpnOf(1, 0)
      // 10 pages: 5 us per call + 10 x (2 us + 4 KiB at 20 GiB/s).
      const migrate = yield* Effect.fork(backend.migrate(MigrationPlan.make({ target: targetId(1), destination: 0, pages: Array.from({ length: 10 }, (_, i) => vpn + i) })))
      yield* TestClock.adjust("0.02 millis")
      expect(Option.isNone(yield* Fiber.poll(migrate))).toBe(true)
      yield* TestClock.adjust("0.01 millis")
      expect(Array.from((yield* Fiber.join(migrate)).status)).toEqual(new Array(10).fill(0))
    }).pipe(Effect.provide(small({ costs: { scanNsPerPage: 1000, migrateNsPerPage: 2000, migrateCallNs: 5000 } })))
  )

  it.scoped("fails scan and migrate of a task that is gone with TargetGone", () =>
    Effect.gen(function* () {
      const backend = yield* Backend
      const sim = yield* SimBackend.Sim
      const first = yield* backend.scan(targetId(1), 0, 1024)
      expect(first.next).not.toBeNull()
      yield* TestClock.adjust("2 seconds")
      const e = yield* Effect.flip(backend.scan(targetId(1), first.next!, 1024))
      expect(e).toMatchObject({ _tag: "TargetGone", target: 1, operation: "scan" })
      const m = yield* Effect.flip(backend.migrate(MigrationPlan.make({ target: targetId(1), destination: 0, pages: [0x400] })))
      expect(m._tag).toBe("TargetGone")
      expect(yield* backend.targets).toEqual([])
      expect((yield* Effect.flip(sim.placement(1)))._tag).toBe("TargetGone")
      const bad = yield* Effect.flip(backend.scan(targetId(1), -1, 10))
      expect(bad._tag).toBe("BackendFailure")
    }).pipe(Effect.provide(small({ costs: { charge: "account" }, tasks: [{ id: 1, size: 4096 * PAGE, node: 1, exitAtMs: 1500, workload: { kind: "uniform" } }] })))
  )

  it.scoped("streams one result per interval, and sums them up", () =>
    Effect.gen(function* () {
      const sim = yield* SimBackend.Sim
      const backend = yield* Backend
      const collected = yield* Effect.fork(Stream.runCollect(Stream.take(sim.results, 3)))
      yield* TestClock.adjust("500 millis")
      const vpn = yield* sim.vpnOf(1, 0)
      yield* backend.migrate(MigrationPlan.make({ target: targetId(1), destination: 0, pages: Array.from({ length: 819 }, (_, i) => vpn + i) }))
      yield* TestClock.adjust("2500 millis")
      const rs = Chunk.toReadonlyArray(yield* Fiber.join(collected))
      expect(rs.map((r) => [r.index, r.startMs, r.endMs])).toEqual([
        [0, 0, 1000],
        [1, 1000, 2000],
        [2, 2000, 3000]
      ])
      // The hot set (the first 20 %) moved to DRAM half-way through the first interval.
      expect(rs[0].topTierShare).toBeCloseTo(0.45, 6)
      expect(rs[1].topTierShare).toBeCloseTo(0.9, 6)
      // DRAM holds the hot set and 205 of the 3277 cold pages.
      expect(rs[1].oracleShare).toBeCloseTo(0.9 + (0.1 * 205) / 3277, 6)
      expect(rs[0].promoted).toBe(819)
      expect(rs[0].events).toMatchObject([{ kind: "start", subject: 1 }])
      expect((yield* sim.history).length).toBe(3)
      const summary = yield* sim.summary
      expect(summary.durationMs).toBe(3000)
      expect(summary.topTierShare).toBeCloseTo((0.45 + 0.9 + 0.9) / 3, 6)
      expect(summary.shareOfOracle).toBeCloseTo(summary.topTierShare / (0.9 + (0.1 * 205) / 3277), 6)
      expect(summary.promoted).toBe(819)
    }).pipe(Effect.provide(small({ costs: { charge: "account" }, tasks: [{ id: 1, size: 4096 * PAGE, node: 1, workload: { kind: "hotset", accessesPerSec: 4096, hotFraction: 0.2 } }] })))
  )

  it.scoped("controls: add a task, shrink a node, inject failures, kill a task", () =>
    Effect.gen(function* () {
      const sim = yield* SimBackend.Sim
      const backend = yield* Backend
      yield* TestClock.adjust("1 second")
      const id = yield* sim.addTask({ size: "2MiB", node: 0, workload: { kind: "uniform" } })
      expect(id).toBe(2)
      expect((yield* backend.targets).map((t) => t.id)).toEqual([1, 2])
      expect((yield* sim.occupancy).map((o) => o.usedPages)).toEqual([512, 4096])
      const dup = yield* Effect.flip(sim.addTask({ id: 2, size: "2MiB", workload: { kind: "uniform" } }))
      expect(dup).toMatchObject({ _tag: "SimConfigError", path: "task.id" })
      const badWorkload = yield* Effect.flip(sim.addTask({ size: "2MiB", workload: { kind: "gups" } } as never))
      expect(badWorkload._tag).toBe("SimConfigError")
      const missing = yield* Effect.flip(sim.addTask({ size: "2MiB", workload: { kind: "trace", file: "/nonexistent/x.trace" } }))
      expect(missing._tag).toBe("TraceError")
      yield* sim.setCapacity(0, "1MiB")
      expect((yield* sim.occupancy).map((o) => o.usedPages)).toEqual([256, 4352])
      expect((yield* Effect.flip(sim.setCapacity(5, 0)))._tag).toBe("SimConfigError")
      expect((yield* Effect.flip(sim.setCapacity(0, "lots")))._tag).toBe("SimConfigError")
      yield* sim.setMigrateFailureRate(1)
      const vpn = yield* sim.vpnOf(1, 0)
      const out = yield* backend.migrate(MigrationPlan.make({ target: targetId(1), destination: 0, pages: [vpn] }))
      expect(out.status[0]).toBe(MigrationPlan.Status.BUSY)
      expect((yield* Effect.flip(sim.setMigrateFailureRate(2)))._tag).toBe("SimConfigError")
      yield* sim.exitTask(2)
      expect((yield* backend.targets).map((t) => t.id)).toEqual([1])
      expect((yield* Effect.flip(sim.exitTask(2)))._tag).toBe("TargetGone")
      const events = (yield* sim.summary).events.map((e) => e.kind)
      expect(events).toEqual(["start", "start", "capacity", "exit"])
    }).pipe(Effect.provide(small({ costs: { charge: "account" } })))
  )

  it.effect("refuses an invalid configuration or a missing trace file with a clear error", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(Layer.build(SimBackend.layer({ nodes: [{ capacity: -1 }] })).pipe(Effect.scoped))
      expect(e).toMatchObject({ _tag: "SimConfigError", path: "nodes.0.capacity" })
      const t = yield* Effect.flip(
        Layer.build(SimBackend.layer({ tasks: [{ size: "1MiB", workload: { kind: "trace", file: "/nonexistent/a.trace" } }] })).pipe(Effect.scoped)
      )
      expect(t).toMatchObject({ _tag: "TraceError", source: "/nonexistent/a.trace" })
    })
  )

  it.effect("layerConfig reads the configuration from Effect's Config", () =>
    Effect.gen(function* () {
      const config = Config.all({ preset: Config.literal("small")("SIM_PRESET"), seed: Config.integer("SIM_SEED") })
      const seed = yield* Effect.map(SimBackend.Sim, (s) => s.config.seed).pipe(
        Effect.provide(SimBackend.layerConfig(config)),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["SIM_PRESET", "small"], ["SIM_SEED", "5"]]))),
        Effect.scoped
      )
      expect(seed).toBe(5)
    })
  )

  it.effect("the plug-in descriptor validates options and builds the layer", () =>
    Effect.gen(function* () {
      expect(descriptor).toMatchObject({ name: "sim", kind: "backend", coreRange: "^0.1.0" })
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(descriptor.layer({ preset: "small" }))))
      expect(Exit.isSuccess(exit)).toBe(true)
    })
  )
})
