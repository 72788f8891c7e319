import { describe, expect, it } from "@effect/vitest"
import * as MigrationPlan from "@kmm/core/MigrationPlan"
import { targetId } from "@kmm/core/Target"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as HostTopology from "../src/HostTopology.js"
import * as LinuxBackend from "../src/LinuxBackend.js"
import * as MovePages from "../src/MovePages.js"
import { noCompiler, touched, toucher } from "./helpers.js"

const addon = MovePages.status()
const memoryNodes = fs.readFileSync("/sys/devices/system/node/has_memory", "utf8").trim()
const oneNode = /^\d+$/.test(memoryNodes) ? `one memory node on this host (${memoryNodes})` : undefined
const skip = noCompiler ?? (addon.available ? undefined : addon.reason)
const pagesOf = (start: number, count: number) => Float64Array.from({ length: count }, (_, i) => start + i)

describe.skipIf(skip !== undefined)("move_pages on a real process", () => {
  it.scopedLive("a query answers node 0 for each touched page and -ENOENT for the others", () =>
    Effect.gen(function* () {
      const t = yield* toucher(1500, "mod3")
      const status = new Int32Array(t.pages)
      yield* MovePages.query(t.pid, pagesOf(t.start, t.pages), t.pages, status)
      for (let i = 0; i < t.pages; i++) expect(status[i], `page ${i}`).toBe(touched("mod3", i, t.pages) ? 0 : -os.constants.errno.ENOENT)
    })
  )

  it.scopedLive("moving to node 0 succeeds page by page; pages not present come back gone", () =>
    Effect.gen(function* () {
      const t = yield* toucher(1200, "even")
      const { backend } = yield* LinuxBackend.make({ targets: { pids: [t.pid] } })
      const plan = MigrationPlan.make({ target: targetId(t.pid), destination: 0, pages: pagesOf(t.start, t.pages) })
      const outcome = yield* backend.migrate(plan)
      expect(outcome.status).toHaveLength(t.pages)
      for (let i = 0; i < t.pages; i++) expect(outcome.status[i], `page ${i}`).toBe(i % 2 === 0 ? 0 : MigrationPlan.Status.GONE)
      const s = MigrationPlan.summarize(plan, outcome)
      expect(s.moved).toBe(600)
      expect(s.gone).toBe(600)
      // The pages are still there, on node 0.
      const status = new Int32Array(t.pages)
      yield* MovePages.query(t.pid, plan.pages, t.pages, status)
      for (let i = 0; i < t.pages; i += 2) expect(status[i]).toBe(0)
    })
  )

  it.scopedLive("a node that is not online: every page is invalid; a page outside any mapping: invalid", () =>
    Effect.gen(function* () {
      const t = yield* toucher(64, "all")
      const offline = yield* MovePages.move(t.pid, pagesOf(t.start, 64), 64, 63)
      expect(Array.from(offline)).toEqual(new Array(64).fill(MigrationPlan.Status.INVALID))
      const unmapped = yield* MovePages.move(t.pid, Float64Array.of(1), 1, 0)
      expect(unmapped[0]).toBe(MigrationPlan.Status.INVALID)
    })
  )

  it.scopedLive("a process that is gone: TargetGone", () =>
    Effect.gen(function* () {
      const t = yield* toucher(64, "all")
      const { backend } = yield* LinuxBackend.make({ targets: { pids: [t.pid] } })
      yield* Effect.promise(() => t.kill())
      const err = yield* Effect.flip(backend.migrate(MigrationPlan.make({ target: targetId(t.pid), destination: 0, pages: pagesOf(t.start, 64) })))
      expect(err._tag).toBe("TargetGone")
      const q = yield* Effect.flip(MovePages.query(t.pid, pagesOf(t.start, 4), 4, new Int32Array(4)))
      expect(q._tag).toBe("TargetGone")
    })
  )

  it.scopedLive.skipIf(oneNode !== undefined)(`moving to another node moves each page there and back; scans see where they are${oneNode ? ` [skipped: ${oneNode}]` : ""}`, () =>
    Effect.gen(function* () {
      const t = yield* toucher(2048, "all")
      const { backend, linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] } })
      const topology = yield* backend.topology
      const [here, there] = [topology.nodes[0].id, topology.nodes[1].id]
      const plan = (destination: number) => MigrationPlan.make({ target: targetId(t.pid), destination, pages: pagesOf(t.start, t.pages) })
      const nodesNow = Effect.gen(function* () {
        const counts = new Map<number, number>()
        let from = 0
        while (true) {
          const r = yield* linux.scan(targetId(t.pid), from, 1 << 20)
          for (const o of r.observations) {
            if (o._tag !== "AccessedBits") continue
            const c = o.chunk
            for (let v = Math.max(t.start, c.start); v < Math.min(t.start + t.pages, c.start + c.length); v++) {
              const nd = c.node[v - c.start]
              counts.set(nd, (counts.get(nd) ?? 0) + 1)
            }
          }
          if (r.next === null) return counts
          from = r.next
        }
      })
      for (const destination of [there, here]) {
        const outcome = yield* backend.migrate(plan(destination))
        const moved = outcome.status.filter((s) => s === destination).length
        expect(moved, `pages on node ${destination} after moving there`).toBe(t.pages)
        expect((yield* nodesNow).get(destination)).toBe(t.pages)
        // The PFN map agrees with the query: the pages' frames lie in the destination's memory blocks.
        const byPfn = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, nodeSource: "pfn" })
        const h = yield* HostTopology.read
        const first = yield* byPfn.linux.scan(targetId(t.pid), t.start, 64)
        for (const o of first.observations) if (o._tag === "AccessedBits") for (let i = 0; i < o.chunk.length; i++) expect(o.chunk.node[i]).toBe(destination)
        expect(h.topology.nodes.length).toBeGreaterThanOrEqual(2)
      }
      expect((yield* backend.capabilities).canDemote).toBe(new Set(topology.nodes.map((n) => n.tier)).size > 1)
    })
  )

  it.scopedLive("large batches are split; the outcome keeps the plan's order", () =>
    Effect.gen(function* () {
      const pages = MovePages.MAX_BATCH + 3000
      const t = yield* toucher(pages, "mod3")
      const outcome = yield* MovePages.move(t.pid, pagesOf(t.start, pages), pages, 0)
      for (let i = 0; i < pages; i++) {
        const want = touched("mod3", i, pages) ? 0 : MigrationPlan.Status.GONE
        if (outcome[i] !== want) expect(outcome[i], `page ${i}`).toBe(want)
      }
    })
  )
})
