import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as Doctor from "../src/Doctor.js"
import * as Inspect from "../src/Inspect.js"
import * as MovePages from "../src/MovePages.js"
import * as Sources from "../src/Sources.js"
import { noCompiler, toucher } from "./helpers.js"

const thp = fs.readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8")
const noThp = /\[never\]/.test(thp) ? "transparent huge pages are off ([never])" : undefined
const hex = (page: number, pageSize: number) => (page * pageSize).toString(16).padStart(12, "0")

describe.skipIf(noCompiler)("inspect", () => {
  it.scopedLive("a process's mappings, present pages per node, and the ones not scanned with why", () =>
    Effect.gen(function* () {
      const t = yield* toucher(3000, "mod3")
      const r = yield* Inspect.inspect(t.pid)
      expect(r.pid).toBe(t.pid)
      expect(r.name).toBe("toucher")
      const region = r.mappings.find((m) => m.start === hex(t.start, t.pageSize))!
      expect(region).toBeDefined()
      expect(region.end).toBe(hex(t.start + t.pages, t.pageSize))
      expect(region.pages).toBe(3000)
      expect(region.perms).toBe("rw-p")
      expect(region.present).toBe(2000)
      expect(region.perNode).toEqual([{ node: 0, pages: 2000 }])
      expect(region.hugePages).toBe(0)
      if (r.source.name === "none") expect(region.accessed).toBeNull()
      else expect(region.accessed).toBeGreaterThanOrEqual(0)
      const vdso = r.mappings.find((m) => m.path === "[vdso]")
      expect(vdso?.skip).toBe("kernel special mapping")
      expect(r.totals.present).toBe(r.mappings.reduce((n, m) => n + m.present, 0))
      expect(r.totals.perNode.reduce((n, x) => n + x.pages, 0)).toBe(r.totals.present)
      expect(r.totals.scannedMappings).toBe(r.mappings.filter((m) => m.skip === undefined).length)
      // The report is Schema-typed: it survives JSON (kmm inspect --json).
      expect(Schema.decodeUnknownSync(Inspect.InspectReport)(JSON.parse(JSON.stringify(r)))).toEqual(r)
      const text = Inspect.formatText(r)
      expect(text).toContain(`process ${t.pid} (toucher)`)
      expect(text).toContain("present: ")
      expect(text.split("\n").find((l) => l.startsWith(hex(t.start, t.pageSize)))).toMatch(/rw-p\s+3000\s+2000\s+node0:2000/)
      expect(text).toContain("[vdso] (not scanned: kernel special mapping)")
    })
  )

  it.scopedLive.skipIf(noThp !== undefined)(`transparent huge pages are counted from /proc/kpageflags${noThp ? ` [skipped: ${noThp}]` : ""}`, () =>
    Effect.gen(function* () {
      const t = yield* toucher(8192, "all", { huge: true })
      const r = yield* Inspect.inspect(t.pid)
      const region = r.mappings.find((m) => m.start === hex(t.start, t.pageSize))!
      expect(region.present).toBe(8192)
      expect(region.hugePages).toBeGreaterThan(0)
      expect(region.hugePages! % 512).toBe(0)
      expect(r.totals.hugePages).toBeGreaterThanOrEqual(region.hugePages!)
    })
  )

  it.effect("a pid that does not exist: TargetGone; a kernel thread: a clear failure", () =>
    Effect.gen(function* () {
      const gone = yield* Effect.flip(Inspect.inspect(4_194_000))
      expect(gone._tag).toBe("TargetGone")
      const kthread = yield* Effect.flip(Inspect.inspect(2))
      expect(kthread._tag).toBe("BackendFailure")
      expect(kthread.message).toContain("kernel thread")
    })
  )
})

describe("doctor", () => {
  it.effect("reports what this host has, each with the reason when not", () =>
    Effect.gen(function* () {
      const r = yield* Doctor.check()
      const checkOf = (name: string) => r.checks.find((c) => c.name === name)!
      expect(checkOf("pagemap").available).toBe(true)
      expect(checkOf("page frame numbers").available).toBe(process.getuid?.() === 0)
      expect(checkOf("move_pages").available).toBe(MovePages.status().available)
      expect(checkOf("topology").available).toBe(true)
      expect(r.nodes.length).toBeGreaterThan(0)
      const idle = r.sources.find((s) => s.name === "idle-page")!
      expect(idle.available).toBe(fs.existsSync("/sys/kernel/mm/page_idle/bitmap") && process.getuid?.() === 0)
      if (!fs.existsSync("/sys/kernel/mm/page_idle/bitmap")) expect(idle.reason).toContain("CONFIG_IDLE_PAGE_TRACKING")
      for (const s of r.sources) if (!s.available) expect(s.reason, s.name).toBeTruthy()
      const chosen = Sources.choose("auto", Sources.detect())
      expect(r.chosen).toBe(chosen._tag === "Right" ? chosen.right : "none")
      expect(Schema.decodeUnknownSync(Doctor.DoctorReport)(JSON.parse(JSON.stringify(r)))).toEqual(r)
      const text = Doctor.formatText(r)
      for (const s of Sources.preference) expect(text).toContain(s)
      expect(text).toContain(`source: auto picks ${r.chosen}`)
    })
  )
})
