import { describe, expect, it } from "@effect/vitest"
import { targetId } from "@kmm/core/Target"
import * as Topology from "@kmm/core/Topology"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as HostTopology from "../src/HostTopology.js"
import * as LinuxBackend from "../src/LinuxBackend.js"
import * as Processes from "../src/Processes.js"
import { noCompiler, toucher } from "./helpers.js"

describe("topology", () => {
  it.effect("nodes, CPUs and tiers come from sysfs", () =>
    Effect.gen(function* () {
      const h = yield* HostTopology.read
      const withMemory = fs.readFileSync("/sys/devices/system/node/has_memory", "utf8").trim()
      expect(h.topology.pageSize).toBe(4096)
      // has_memory is a list such as "0" or "0-1,3".
      const expected = withMemory.split(",").flatMap((part) => {
        const [a, b] = part.split("-").map(Number)
        return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i)
      })
      expect(h.topology.nodes.map((n) => n.id)).toEqual(expected)
      const cpus = h.topology.nodes.flatMap((n) => n.cpus)
      expect(cpus.length).toBe(os.cpus().length)
      expect(Topology.topTierNodes(h.topology).length).toBeGreaterThan(0)
      for (const n of h.topology.nodes) {
        expect(n.distances[h.topology.nodes.indexOf(n)]).toBe(10)
        expect(n.freePages).toBeLessThanOrEqual(n.capacityPages)
        const tierDir = fs.readdirSync("/sys/devices/virtual/memory_tiering").find((d) => d.startsWith("memory_tier") && fs.readFileSync(`/sys/devices/virtual/memory_tiering/${d}/nodelist`, "utf8").trim().split(",").includes(String(n.id)))
        if (tierDir !== undefined) expect(n.label).toBe(tierDir)
      }
      // Every online memory block belongs to a node; frame numbers map through them.
      const blocks = fs.readdirSync("/sys/devices/system/node/node0").filter((e) => /^memory\d+$/.test(e)).map((e) => Number(e.slice(6)))
      for (const b of blocks) expect(HostTopology.nodeOfPfn(h, b * h.blockPages)).toBe(0)
      expect(HostTopology.nodeOfPfn(h, 1e15)).toBe(-1)
    })
  )
})

describe.skipIf(noCompiler)("targets", () => {
  it.scopedLive("a pid list, a command-name pattern, a cgroup and a minimum RSS select processes; kernel threads and kmm itself never", () =>
    Effect.gen(function* () {
      const small = yield* toucher(16, "all")
      const big = yield* toucher(8192, "all")
      const ids = (list: ReadonlyArray<{ readonly id: number }>) => list.map((t) => t.id as number).sort((a, b) => a - b)
      const targetsOf = (config: Parameters<typeof LinuxBackend.make>[0]) =>
        Effect.flatMap(LinuxBackend.make(config), ({ backend }) => backend.targets)

      expect(ids(yield* targetsOf({ targets: { pids: [small.pid, big.pid] } }))).toEqual([small.pid, big.pid].sort((a, b) => a - b))
      const byComm = ids(yield* targetsOf({ targets: { comm: "^touche[r]$" } }))
      expect(byComm).toContain(small.pid)
      expect(byComm).toContain(big.pid)
      expect(ids(yield* targetsOf({ targets: { comm: "^touche[r]$", minRss: "16MiB" } }))).toEqual([big.pid])
      const cgroup = Processes.cgroupOf(small.pid)
      if (cgroup === undefined) {
        // No cgroup hierarchy mounted (e.g. a bare guest): a cgroup filter matches nothing.
        expect(ids(yield* targetsOf({ targets: { pids: [small.pid], cgroup: "/" } }))).toEqual([])
      } else {
        expect(ids(yield* targetsOf({ targets: { pids: [small.pid], cgroup } }))).toEqual([small.pid])
        expect(ids(yield* targetsOf({ targets: { pids: [small.pid], cgroup: `${cgroup === "/" ? "" : cgroup}/kmm-no-such-cgroup` } }))).toEqual([])
      }

      const all = yield* targetsOf({})
      expect(ids(all)).toContain(big.pid)
      expect(ids(all)).not.toContain(process.pid)
      expect(ids(all)).not.toContain(2) // kthreadd
      expect(all.find((t) => t.id === big.pid)!.name).toBe("toucher")
      expect(all.find((t) => t.id === big.pid)!.pages).toBeGreaterThanOrEqual(8192)
      expect(ids(yield* targetsOf({ targets: { pids: [process.pid], includeSelf: true } }))).toEqual([process.pid])
    })
  )

  it.scopedLive("targets appear and disappear; a pid that does not exist is not listed", () =>
    Effect.gen(function* () {
      const t = yield* toucher(16, "all")
      const { backend, linux } = yield* LinuxBackend.make({ targets: { comm: "^toucher$" } })
      expect((yield* backend.targets).map((x) => x.id)).toContain(t.pid)
      yield* linux.scan(targetId(t.pid), 0, 64)
      expect(yield* linux.tracked).toContain(t.pid)
      yield* Effect.promise(() => t.kill())
      expect((yield* backend.targets).map((x) => x.id)).not.toContain(t.pid)
      expect(yield* linux.tracked).not.toContain(t.pid)
      const none = yield* LinuxBackend.make({ targets: { pids: [t.pid] } })
      expect(yield* none.backend.targets).toEqual([])
    })
  )
})

describe.skipIf(noCompiler)("a process that exits", () => {
  it.scopedLive("exiting between two steps of a sweep: the next step fails with TargetGone and the target's state is dropped", () =>
    Effect.gen(function* () {
      const t = yield* toucher(20_000, "all")
      const { linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] } })
      const first = yield* linux.scan(targetId(t.pid), 0, 4096)
      expect(first.next).not.toBeNull()
      yield* Effect.promise(() => t.kill())
      const err = yield* Effect.flip(linux.scan(targetId(t.pid), first.next!, 4096))
      expect(err._tag).toBe("TargetGone")
      if (err._tag === "TargetGone") expect(err.target).toBe(t.pid)
      expect(yield* linux.tracked).not.toContain(t.pid)
      const again = yield* Effect.flip(linux.scan(targetId(t.pid), 0, 4096))
      expect(again._tag).toBe("TargetGone")
    })
  )

  it.scopedLive("exiting while a sweep runs: scanning stops with TargetGone, never another error", () =>
    Effect.gen(function* () {
      const t = yield* toucher(200_000, "all")
      const { linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, chunkPages: 512 })
      let steps = 0
      const running = yield* Deferred.make<void>()
      const loop = Effect.gen(function* () {
        let from = 0
        while (true) {
          const r = yield* linux.scan(targetId(t.pid), from, 512)
          if (++steps === 3) yield* Deferred.succeed(running, undefined)
          from = r.next ?? 0
        }
      })
      const fiber = yield* Effect.fork(loop)
      yield* Deferred.await(running)
      yield* Effect.promise(() => t.kill())
      const exit = yield* Fiber.await(fiber)
      if (!Exit.isFailure(exit)) throw new Error("the scan loop ended without an error")
      expect(Option.getOrUndefined(Cause.failureOption(exit.cause))).toMatchObject({ _tag: "TargetGone", target: t.pid })
      expect(steps).toBeGreaterThanOrEqual(3)
    })
  )
})
