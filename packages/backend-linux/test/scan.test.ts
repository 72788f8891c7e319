import { describe, expect, it } from "@effect/vitest"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import { NOT_PRESENT } from "@kmm/core/ScanChunk"
import { targetId } from "@kmm/core/Target"
import * as Effect from "effect/Effect"
import * as LinuxBackend from "../src/LinuxBackend.js"
import * as Pagemap from "../src/Pagemap.js"
import { noCompiler, touched, toucher } from "./helpers.js"

type Scan = LinuxBackend.Linux["scan"]

/** One whole sweep of a target in steps of `budget`; returns the chunks and the steps' cursors. */
const sweep = (scan: Scan, pid: number, budget: number) =>
  Effect.gen(function* () {
    const chunks: Array<ScanChunk> = []
    const cursors: Array<number> = []
    let from = 0
    let scanned = 0
    while (true) {
      const r = yield* scan(targetId(pid), from, budget)
      expect(r.scanned).toBeLessThanOrEqual(Math.max(budget, 32))
      scanned += r.scanned
      for (const o of r.observations) if (o._tag === "AccessedBits") chunks.push(o.chunk)
      if (r.next === null) break
      expect(r.next).toBeGreaterThan(from)
      cursors.push(r.next)
      from = r.next
    }
    return { chunks, cursors, scanned }
  })

/** Node and PFN of each page of [start, start + pages) as the chunks say (-2: no chunk covered it). */
const pagesOf = (chunks: ReadonlyArray<ScanChunk>, start: number, pages: number) => {
  const node = new Int16Array(pages).fill(-2)
  const pfn = new Float64Array(pages)
  for (const c of chunks) {
    const lo = Math.max(start, c.start)
    const hi = Math.min(start + pages, c.start + c.length)
    for (let v = lo; v < hi; v++) {
      node[v - start] = c.node[v - c.start]
      pfn[v - start] = c.pfn?.[v - c.start] ?? 0
    }
  }
  return { node, pfn }
}

describe.skipIf(noCompiler)("scans of a real process", () => {
  it.scopedLive("pagemap presence matches the pages the child touched, page by page", () =>
    Effect.gen(function* () {
      const t = yield* toucher(3000, "mod3")
      const { linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, nodeSource: "move-pages" })
      const { chunks } = yield* sweep(linux.scan, t.pid, 1 << 20)
      const { node } = pagesOf(chunks, t.start, t.pages)
      let touchedPages = 0
      for (let i = 0; i < t.pages; i++) {
        expect(node[i], `page ${i}`).not.toBe(-2)
        if (touched("mod3", i, t.pages)) {
          touchedPages++
          expect(node[i], `touched page ${i}`).toBe(0)
        } else expect(node[i], `untouched page ${i}`).toBe(NOT_PRESENT)
      }
      expect(touchedPages).toBe(2000)
    })
  )

  it.scopedLive("as root, present pages have distinct non-zero PFNs, and the PFN node map agrees with move_pages", () =>
    Effect.gen(function* () {
      const t = yield* toucher(2048, "even")
      const byQuery = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, nodeSource: "move-pages", reportPfn: true })
      const byPfn = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, nodeSource: "pfn", reportPfn: true })
      expect(byQuery.linux.pfnVisible).toBe(true)
      expect((yield* byQuery.backend.capabilities).reportsPfn).toBe(true)
      const a = pagesOf((yield* sweep(byQuery.linux.scan, t.pid, 1 << 20)).chunks, t.start, t.pages)
      const b = pagesOf((yield* sweep(byPfn.linux.scan, t.pid, 1 << 20)).chunks, t.start, t.pages)
      const frames = new Set<number>()
      for (let i = 0; i < t.pages; i++) {
        expect(b.node[i]).toBe(a.node[i])
        if (i % 2 === 0) {
          expect(a.pfn[i], `pfn of page ${i}`).toBeGreaterThan(0)
          expect(b.pfn[i]).toBe(a.pfn[i])
          frames.add(a.pfn[i])
        } else expect(a.pfn[i]).toBe(0)
      }
      expect(frames.size).toBe(1024)
    })
  )

  it.scopedLive("pages only read (mapping the shared zero page) are not present, whichever way nodes are found", () =>
    Effect.gen(function* () {
      const t = yield* toucher(512, "none")
      yield* Effect.promise(() => t.command("read 0 256"))
      yield* Effect.promise(() => t.command("write 256 300"))
      // The pagemap itself says present for the read pages: the zero page is mapped there.
      const reader = yield* Effect.acquireRelease(Pagemap.open(t.pid), Pagemap.close)
      const words = new Uint32Array(2 * t.pages)
      yield* Pagemap.read(reader, t.start, t.pages, words)
      expect(Pagemap.summarize(words, t.pages).present).toBe(300)
      expect(Pagemap.zeroFrames().small).toBe(Pagemap.pfnOf(words[0], words[1]))
      for (const nodeSource of ["pfn", "move-pages"] as const) {
        const { linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, nodeSource })
        const { node } = pagesOf((yield* sweep(linux.scan, t.pid, 1 << 20)).chunks, t.start, t.pages)
        for (let i = 0; i < t.pages; i++) expect(node[i], `${nodeSource}: page ${i}`).toBe(i >= 256 && i < 300 ? 0 : NOT_PRESENT)
      }
    })
  )

  it.scopedLive("chunks stay inside one mapping, start on 32-page boundaries, count their present pages; small budgets cover the same pages", () =>
    Effect.gen(function* () {
      const t = yield* toucher(5000, "half")
      const { linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, chunkPages: 1024 })
      const whole = yield* sweep(linux.scan, t.pid, 1 << 22)
      const steps = yield* sweep(linux.scan, t.pid, 700)
      expect(steps.cursors.length).toBeGreaterThan(5)
      for (const c of [...whole.chunks, ...steps.chunks]) {
        expect(c.start).toBeGreaterThanOrEqual(c.mappingStart)
        expect(c.start + c.length).toBeLessThanOrEqual(c.mappingStart + c.mappingPages)
        expect((c.start - c.mappingStart) % 32).toBe(0)
        expect(c.length).toBeLessThanOrEqual(1024)
        let present = 0
        for (let i = 0; i < c.length; i++) if (c.node[i] >= 0) present++
        expect(c.present).toBe(present)
      }
      // The same pages, each exactly once, in address order.
      const pagesIn = (chunks: ReadonlyArray<ScanChunk>) => chunks.reduce((n, c) => n + c.length, 0)
      expect(pagesIn(steps.chunks)).toBe(pagesIn(whole.chunks))
      expect(pagesIn(steps.chunks)).toBe(steps.scanned)
      const a = pagesOf(whole.chunks, t.start, t.pages).node
      const b = pagesOf(steps.chunks, t.start, t.pages).node
      expect(Array.from(b)).toEqual(Array.from(a))
      expect(a.filter((n) => n === 0).length).toBe(2500)
      for (let k = 1; k < steps.chunks.length; k++) expect(steps.chunks[k].start).toBeGreaterThanOrEqual(steps.chunks[k - 1].start + steps.chunks[k - 1].length)
    })
  )

  it.scopedLive("special mappings are never scanned; the sweep's footprint is the target's scannable pages", () =>
    Effect.gen(function* () {
      const t = yield* toucher(256, "all")
      const { backend, linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] } })
      const targets = yield* backend.targets
      expect(targets.map((x) => x.id)).toEqual([t.pid])
      expect(targets[0].name).toBe("toucher")
      const { chunks, scanned } = yield* sweep(linux.scan, t.pid, 1 << 22)
      expect(scanned).toBe(targets[0].pages)
      // [vsyscall] sits at 0xffffffffff600000; [vdso] and [vvar] are skipped too.
      for (const c of chunks) expect(c.start).toBeLessThan(0xffffffffff600000 / 4096)
    })
  )

  it.scopedLive("with no accessed-bit source, Backend.scan walks the cursor and reports nothing to policies", () =>
    Effect.gen(function* () {
      const t = yield* toucher(256, "all")
      const { backend, linux } = yield* LinuxBackend.make({ targets: { pids: [t.pid] }, source: "none" })
      expect(linux.source).toBe("none")
      const viaBackend = yield* sweep(backend.scan, t.pid, 1 << 22)
      const viaLinux = yield* sweep(linux.scan, t.pid, 1 << 22)
      expect(viaBackend.chunks).toHaveLength(0)
      expect(viaBackend.scanned).toBe(viaLinux.scanned)
      expect(viaLinux.chunks.length).toBeGreaterThan(0)
      const caps = yield* backend.capabilities
      expect(caps.sources.filter((s) => s.available)).toEqual([])
    })
  )

  it.scopedLive("Pagemap reads and summarizes a window directly", () =>
    Effect.gen(function* () {
      const t = yield* toucher(640, "even")
      const reader = yield* Effect.acquireRelease(Pagemap.open(t.pid), Pagemap.close)
      const words = new Uint32Array(2 * t.pages)
      yield* Pagemap.read(reader, t.start, t.pages, words)
      const s = Pagemap.summarize(words, t.pages)
      expect(s.present).toBe(320)
      expect(s.withPfn).toBe(320)
      expect(s.swapped).toBe(0)
      expect(s.exclusive).toBe(320)
      for (let i = 0; i < t.pages; i++) {
        const present = (words[2 * i + 1] & Pagemap.Hi.PRESENT) !== 0
        expect(present).toBe(i % 2 === 0)
        if (present) expect(Pagemap.pfnOf(words[2 * i], words[2 * i + 1])).toBeGreaterThan(0)
      }
    })
  )
})
