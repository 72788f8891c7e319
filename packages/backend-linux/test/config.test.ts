import { describe, expect, it } from "@effect/vitest"
import * as Plugin from "@kmm/core/Plugin"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as Backend from "../src/index.js"
import * as LinuxBackend from "../src/LinuxBackend.js"
import * as LinuxConfig from "../src/LinuxConfig.js"
import * as Maps from "../src/Maps.js"
import * as Processes from "../src/Processes.js"
import * as Sources from "../src/Sources.js"

const errorOf = (input: unknown) => {
  const r = LinuxConfig.decode(input)
  if (Either.isRight(r)) throw new Error(`expected ${JSON.stringify(input)} to be refused`)
  return r.left
}

describe("configuration", () => {
  it("every key has a default", () => {
    const r = Either.getOrThrow(LinuxConfig.decode({}))
    expect(r).toEqual({
      targets: { pids: undefined, comm: undefined, cgroup: undefined, minRssBytes: undefined, includeSelf: false },
      source: "auto",
      nodeSource: "auto",
      reportPfn: false,
      chunkPages: 65536,
      moveShared: false,
      damon: { sampleUs: 5000, aggregateUs: 200_000, updateUs: 1_000_000, minRegions: 10, maxRegions: 1000 }
    })
    expect(Either.getOrThrow(LinuxConfig.decode({ targets: { minRss: "64MiB" } })).targets.minRssBytes).toBe(64 * 1024 * 1024)
    expect(Either.getOrThrow(LinuxConfig.decode({ targets: { minRss: 4096 } })).targets.minRssBytes).toBe(4096)
  })

  it("bad values are refused with the key's path and what was expected", () => {
    expect(errorOf({ chunkPages: 100 }).path).toBe("chunkPages")
    expect(errorOf({ chunkPages: 1000 }).message).toContain("multiple of 32")
    expect(errorOf({ targets: { comm: "(" } })).toMatchObject({ path: "targets.comm" })
    expect(errorOf({ targets: { comm: "(" } }).reason).toContain("regular expression")
    expect(errorOf({ targets: { minRss: "12 parsecs" } }).reason).toContain("expected a size")
    expect(errorOf({ targets: { cgroup: "system.slice" } }).reason).toContain('starting with "/"')
    expect(errorOf({ source: "magic" }).path).toBe("source")
    expect(errorOf({ sources: "auto" }).path).toBe("sources")
    expect(errorOf({ damon: { sampleUs: 10_000, aggregateUs: 5000 } }).path).toBe("damon.aggregateUs")
    expect(errorOf({ targets: { pids: [0] } }).path).toBe("targets.pids.0")
  })

  it("the package root exports a descriptor core accepts", () => {
    const d = Either.getOrThrow(Plugin.validate("@kmm/backend-linux", Backend, "backend"))
    expect(d.name).toBe("linux")
    expect(Either.getOrThrow(Plugin.decodeConfig(d, { source: "none", targets: { minRss: "1G" } }))).toMatchObject({ source: "none", targets: { minRss: 1024 ** 3 } })
    expect(Either.isLeft(Plugin.decodeConfig(d, { chunkPages: -1 }))).toBe(true)
  })

  it.scoped("a source named in the config must be available, or the backend does not start and says why", () =>
    Effect.gen(function* () {
      for (const d of Sources.detect()) {
        // Each in its own scope: a DAMON source holds DAMON until its scope closes.
        const made = yield* Effect.either(Effect.scoped(Effect.as(LinuxBackend.make({ source: d.id }), "started")))
        if (d.available) {
          expect(Either.isRight(made), d.id).toBe(true)
          continue
        }
        if (Either.isRight(made)) throw new Error(`${d.id} is not available here, yet the backend started with it`)
        expect(made.left._tag).toBe("BackendFailure")
        expect(made.left.message).toContain(`source "${d.id}" is not available: ${d.reason}`)
      }
      const invalid = yield* Effect.flip(LinuxBackend.make({ chunkPages: 7 } as never))
      expect(invalid._tag).toBe("LinuxConfigError")
    })
  )
})

describe("/proc parsing", () => {
  const rules: Maps.Rules = { hugetlbMounts: ["/dev/hugepages", "/mnt/huge"] }
  const maps = [
    "00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/app",
    "0124e000-0126f000 rw-p 00000000 00:00 0           [heap]",
    "7f0000000000-7f0000400000 rw-p 00000000 00:00 0 ",
    "7f0000400000-7f0000401000 ---p 00000000 00:00 0 ",
    "7f0000401000-7f0000402000 rw-s 00000000 00:05 1234  /dev/zero (deleted)",
    "7f0000402000-7f0000403000 rw-s 00000000 00:19 99    /dev/shm/queue",
    "7f0000403000-7f0000503000 rw-s 10000000 00:06 600   /dev/dri/card0",
    "7f0000600000-7f0000800000 rw-p 00000000 00:0f 77    /anon_hugepage (deleted)",
    "7f0000800000-7f0000a00000 rw-s 00000000 00:2a 78    /mnt/huge/pool",
    "7f0000a00000-7f0000a01000 rw-p 00000000 00:00 0     [anon:v8 heap]",
    "7f0000a01000-7f0000a02000 r--p 00002000 08:02 555   /home/user/my file (1).db",
    "7ffd4b9f1000-7ffd4ba12000 rw-p 00000000 00:00 0     [stack]",
    "7ffd4bbf0000-7ffd4bbf4000 r--p 00000000 00:00 0     [vvar]",
    "7ffd4bbf4000-7ffd4bbf6000 r-xp 00000000 00:00 0     [vdso]",
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]"
  ].join("\n")

  it("mappings and the rules for what is scanned", () => {
    const areas = Maps.parse(maps, 12, rules)
    expect(areas).toHaveLength(15)
    const byPath = (p: string) => areas.find((a) => a.path === p)!
    expect(byPath("/usr/bin/app")).toMatchObject({ start: 0x400, pages: 0x52, perms: "r-xp", inode: 173521, skip: undefined })
    expect(byPath("[heap]").skip).toBeUndefined()
    expect(areas[2]).toMatchObject({ start: 0x7f0000000, pages: 1024, path: "", skip: undefined })
    expect(areas[3].skip).toContain("no access")
    expect(byPath("/dev/zero (deleted)").skip).toBeUndefined()
    expect(byPath("/dev/shm/queue").skip).toBeUndefined()
    expect(byPath("/dev/dri/card0")).toMatchObject({ offset: 0x10000, skip: expect.stringContaining("VM_IO/VM_PFNMAP") })
    expect(byPath("/anon_hugepage (deleted)").skip).toContain("hugetlb")
    expect(byPath("/mnt/huge/pool").skip).toContain("hugetlb")
    expect(byPath("[anon:v8 heap]").skip).toBeUndefined()
    expect(byPath("/home/user/my file (1).db").skip).toBeUndefined()
    expect(byPath("[stack]").skip).toBeUndefined()
    for (const special of ["[vvar]", "[vdso]", "[vsyscall]"]) expect(byPath(special).skip).toBe("kernel special mapping")
    // 64-bit addresses are exact in page numbers.
    expect(byPath("[vsyscall]")).toMatchObject({ start: 0xffffffffff600, pages: 1 })
    expect(Maps.scannablePages(areas)).toBe(0x52 + 0x21 + 1024 + 1 + 1 + 1 + 1 + 0x21)
    // 64 KiB pages.
    expect(Maps.parse("7f0000000000-7f0000400000 rw-p 00000000 00:00 0", 16, rules)[0]).toMatchObject({ start: 0x7f0000000000 / 65536, pages: 64 })
  })

  it("/proc/PID/stat, whose command name may hold spaces and parentheses", () => {
    const s = Processes.parseStat(42, "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 123456 10000000 2048 18446744073709551615")!
    expect(s).toEqual({ pid: 42, comm: "my (odd) name", state: "S", flags: 4194560, startTime: 123456, rssPages: 2048 })
    expect(Processes.isKernelThread(Processes.parseStat(2, "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0 18446744073709551615")!)).toBe(true)
    expect(Processes.isKernelThread(s)).toBe(false)
    const self = Processes.stat(process.pid)!
    expect(self.comm).toBe(fs.readFileSync(`/proc/${process.pid}/comm`, "utf8").trim())
    expect(self.rssPages).toBeGreaterThan(0)
  })

  it("cgroup paths: the cgroup itself and what lies below it", () => {
    expect(Processes.underCgroup("/system.slice/app.service", "/system.slice")).toBe(true)
    expect(Processes.underCgroup("/system.slice", "/system.slice/")).toBe(true)
    expect(Processes.underCgroup("/system.slicer", "/system.slice")).toBe(false)
    expect(Processes.underCgroup("/anything", "/")).toBe(true)
  })
})
