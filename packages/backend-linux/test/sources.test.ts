/**
 * The accessed-bit sources, each against a real process on a real kernel. A source
 * this host's kernel lacks (or that another program holds) is skipped, with the reason
 * in the test's name; on a kernel that has it (a QEMU guest with the project's guest
 * kernel, or a user's host) the same test runs.
 */
import { describe, expect, it } from "@effect/vitest"
import type { RegionSamples } from "@kmm/core/Observation"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import { isAccessed } from "@kmm/core/ScanChunk"
import { targetId } from "@kmm/core/Target"
import * as Effect from "effect/Effect"
import * as LinuxBackend from "../src/LinuxBackend.js"
import * as Sources from "../src/Sources.js"
import type { Toucher } from "./helpers.js"
import { eventually, noCompiler, toucher } from "./helpers.js"

const detected = Sources.detect()
const why = (id: Sources.SourceId): string | undefined => noCompiler ?? (detected.find((d) => d.id === id)?.available ? undefined : detected.find((d) => d.id === id)?.reason)
const title = (id: Sources.SourceId, what: string) => (why(id) === undefined ? what : `${what} [skipped on this host: ${why(id)}]`)

/** One sweep; for each page of the toucher's region: accessed (1), not (0), not present (-1). Also the region samples. */
const look = (linux: LinuxBackend.Linux, t: Toucher) =>
  Effect.gen(function* () {
    const bits = new Int8Array(t.pages).fill(-1)
    const samples: Array<RegionSamples> = []
    let kind = ""
    let from = 0
    while (true) {
      const r = yield* linux.scan(targetId(t.pid), from, 1 << 20)
      for (const o of r.observations) {
        if (o._tag === "RegionSamples") samples.push(o)
        if (o._tag !== "AccessedBits") continue
        kind = o.kind
        const c: ScanChunk = o.chunk
        for (let v = Math.max(t.start, c.start); v < Math.min(t.start + t.pages, c.start + c.length); v++) {
          const i = v - c.start
          if (c.node[i] >= 0) bits[v - t.start] = isAccessed(c, i) ? 1 : 0
        }
      }
      if (r.next === null) break
      from = r.next
    }
    return { bits, samples, kind }
  })

const count = (bits: Int8Array, from: number, to: number, value: number) => {
  let n = 0
  for (let i = from; i < to; i++) if (bits[i] === value) n++
  return n
}

describe("accessed-bit sources on this kernel", () => {
  it("each source is reported with a reason when it is not available", () => {
    for (const id of Sources.preference) {
      const d = detected.find((x) => x.id === id)!
      expect(d, id).toBeDefined()
      if (!d.available) expect(d.reason, id).toMatch(/\w{8,}/)
    }
  })

  it.scopedLive.skipIf(why("idle-page") !== undefined)(
    title("idle-page", "idle page bitmap: exactly the pages read or written since the last sweep are accessed"),
    () =>
      Effect.gen(function* () {
        const t = yield* toucher(4096, "all")
        const { linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, source: "idle-page" })
        const first = yield* look(linux, t)
        expect(count(first.bits, 0, t.pages, 1)).toBe(0) // the first sweep arms the bits
        yield* Effect.promise(() => t.command("write 0 1024"))
        yield* Effect.promise(() => t.command("read 2048 3072"))
        const second = yield* look(linux, t)
        expect(second.kind).toBe("accessed-bit")
        expect(count(second.bits, 0, 1024, 1)).toBe(1024)
        expect(count(second.bits, 1024, 2048, 1)).toBe(0)
        expect(count(second.bits, 2048, 3072, 1)).toBe(1024)
        expect(count(second.bits, 3072, 4096, 1)).toBe(0)
        const third = yield* look(linux, t)
        expect(count(third.bits, 0, t.pages, 1)).toBe(0)
      })
  )

  it.scopedLive.skipIf(why("soft-dirty") !== undefined)(
    title("soft-dirty", "soft-dirty: exactly the pages written since the last sweep, not those only read"),
    () =>
      Effect.gen(function* () {
        const t = yield* toucher(4096, "all")
        const { linux, backend } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, source: "soft-dirty" })
        const caps = yield* backend.capabilities
        expect(caps.sources.find((s) => s.available)?.kind).toBe("soft-dirty")
        yield* look(linux, t)
        yield* Effect.promise(() => t.command("write 0 1024"))
        yield* Effect.promise(() => t.command("read 2048 3072"))
        const second = yield* look(linux, t)
        expect(second.kind).toBe("soft-dirty")
        expect(count(second.bits, 0, 1024, 1)).toBe(1024)
        expect(count(second.bits, 1024, 4096, 1)).toBe(0)
        const third = yield* look(linux, t)
        expect(count(third.bits, 0, t.pages, 1)).toBe(0)
      })
  )

  /** The child keeps writing the first half of its region; the second half was touched once, at start. */
  const hotHalf = (id: "damon-paddr" | "damon-vaddr") =>
    Effect.gen(function* () {
      const t = yield* toucher(65536, "all") // 256 MiB
      yield* Effect.promise(() => t.command(`hot 0 ${t.pages / 2}`))
      const { linux } = yield* LinuxBackend.make({
        targets: { pids: [t.pid] },
        source: id,
        damon: { sampleUs: 5000, aggregateUs: 100_000, minRegions: 10, maxRegions: 1000 }
      })
      expect(linux.source).toBe(id)
      // DAMON needs a few aggregation intervals to split its regions around the hot range.
      const seen = yield* eventually(
        () =>
          Effect.gen(function* () {
            yield* look(linux, t) // vaddr: the first scan makes DAMON watch the process
            yield* linux.refreshRegions
            const r = yield* look(linux, t)
            const hot = count(r.bits, 0, t.pages / 2, 1) / (t.pages / 2)
            const cold = count(r.bits, t.pages / 2, t.pages, 1) / (t.pages / 2)
            return hot >= 0.8 && cold <= 0.2 ? { ...r, hot, cold } : undefined
          }),
        "DAMON to report the hot half accessed and the cold half not",
        60_000,
        200
      )
      expect(seen.kind).toBe("accessed-bit")
      // Region samples cover the pages, with more sampled accesses in the hot half.
      let hotAccesses = 0
      let coldAccesses = 0
      for (const s of seen.samples) {
        for (let k = 0; k < s.count; k++) {
          const mid = s.start[k] + s.pages[k] / 2 - t.start
          if (mid >= 0 && mid < t.pages / 2) hotAccesses += s.accesses[k] * s.pages[k]
          else if (mid >= t.pages / 2 && mid < t.pages) coldAccesses += s.accesses[k] * s.pages[k]
        }
      }
      expect(hotAccesses).toBeGreaterThan(4 * coldAccesses)
    })

  it.scopedLive.skipIf(why("damon-paddr") !== undefined)(
    title("damon-paddr", "DAMON (physical addresses): accesses concentrate where the child keeps writing, not where it stopped"),
    () => hotHalf("damon-paddr")
  )

  it.scopedLive.skipIf(why("damon-vaddr") !== undefined)(
    title("damon-vaddr", "DAMON (virtual addresses, per process): accesses concentrate where the child keeps writing, not where it stopped"),
    () => hotHalf("damon-vaddr")
  )
})
