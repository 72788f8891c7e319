import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"
import * as Effect from "effect/Effect"
import * as MovePages from "../src/MovePages.js"
import { noCompiler, sharedTempDir, toucher } from "./helpers.js"

/**
 * Runs backend operations in a separate process as `nobody` (uid and gid 65534): a real
 * unprivileged user, without root's real uid or saved capabilities. The operation
 * script is bundled with esbuild into a directory that user can read.
 */
const here = path.dirname(fileURLToPath(import.meta.url))
const NOBODY = 65534
const notRoot = process.getuid?.() !== 0 ? "the tests do not run as root, so they cannot switch to another user" : undefined
const skip = noCompiler ?? notRoot
let dir = ""
let script = ""

interface Outcome {
  readonly ok: boolean
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON from another process, checked field by field
  readonly value?: any
  readonly error?: { readonly _tag: string; readonly message: string; readonly hint?: string; readonly errno?: string; readonly path?: string }
}

const asNobody = (...args: Array<string | number>): Effect.Effect<Outcome> =>
  Effect.async<Outcome>((resume) => {
    const addon = MovePages.status().path
    execFile(
      process.execPath,
      [script, ...args.map(String)],
      { uid: NOBODY, gid: NOBODY, cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...(addon !== undefined ? { KMM_MOVE_PAGES_ADDON: addon } : { KMM_MOVE_PAGES_ADDON: "none" }) } },
      (err, stdout, stderr) => {
        const line = stdout.trim().split("\n").pop() ?? ""
        try {
          resume(Effect.succeed(JSON.parse(line) as Outcome))
        } catch {
          resume(Effect.die(new Error(`the unprivileged run printed no outcome (${err?.message ?? ""}): ${stdout}${stderr}`)))
        }
      }
    )
  })

describe.skipIf(skip !== undefined)("as an unprivileged user (nobody)", () => {
  beforeAll(async () => {
    dir = sharedTempDir("kmm-unprivileged-")
    script = path.join(dir, "unprivileged.mjs")
    await esbuild.build({
      entryPoints: [path.join(here, "fixtures", "unprivileged.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: script,
      logLevel: "error",
      // The bundle lives outside the package: CommonJS dependencies need a require.
      banner: { js: "import { createRequire as __kmmRequire } from 'node:module'; const require = __kmmRequire(import.meta.url);" }
    })
    fs.chmodSync(script, 0o644)
  })
  afterAll(() => {
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true })
  })

  it.scopedLive("scanning a root process fails with PermissionDenied naming the privilege (ptrace access, root)", () =>
    Effect.gen(function* () {
      const t = yield* toucher(64, "all")
      const r = yield* asNobody("scan", t.pid, t.start, t.pages)
      expect(r.ok).toBe(false)
      expect(r.error?._tag).toBe("PermissionDenied")
      expect(r.error?.errno).toBe("EACCES")
      expect(r.error?.path).toMatch(new RegExp(`^/proc/${t.pid}/(maps|pagemap)$`))
      expect(r.error?.hint).toContain("ptrace read access")
      expect(r.error?.hint).toContain("CAP_SYS_PTRACE")
      expect(r.error?.hint).toContain("run kmm as root")
      expect(r.error?.message).toContain("permission denied")
    })
  )

  it.scopedLive("listing a root process by pid, inspecting it, or moving its pages: PermissionDenied with the privilege needed", () =>
    Effect.gen(function* () {
      const t = yield* toucher(64, "all")
      const targets = yield* asNobody("targets", t.pid)
      expect(targets.error?._tag).toBe("PermissionDenied")
      expect(targets.error?.hint).toContain("ptrace read access")
      const inspect = yield* asNobody("inspect", t.pid)
      expect(inspect.error?._tag).toBe("PermissionDenied")
      const migrate = yield* asNobody("migrate", t.pid, t.start, 16)
      if (MovePages.status().available) {
        expect(migrate.error?._tag).toBe("PermissionDenied")
        expect(migrate.error?.errno).toBe("EPERM")
        expect(migrate.error?.hint).toContain("move_pages(2) of another process needs ptrace read access")
        expect(migrate.error?.hint).toContain("CAP_SYS_NICE")
      } else expect(migrate.error?._tag).toBe("BackendFailure")
    })
  )

  it.scopedLive("its own process: scanned in full, without page frame numbers; its pages move", () =>
    Effect.gen(function* () {
      const t = yield* toucher(300, "even", { uid: NOBODY, gid: NOBODY })
      const r = yield* asNobody("scan", t.pid, t.start, t.pages)
      expect(r.error).toBeUndefined()
      expect(r.value).toMatchObject({ present: 150, withPfn: 0, reportsPfn: false, pfnVisible: false })
      if (MovePages.status().available) {
        expect(r.value.nodeSource).toBe("move-pages")
        const m = yield* asNobody("migrate", t.pid, t.start, 4)
        expect(m.value).toEqual([0, -3, 0, -3])
      }
    })
  )

  it.scopedLive("doctor says what is missing and why", () =>
    Effect.gen(function* () {
      const r = yield* asNobody("doctor")
      expect(r.ok).toBe(true)
      const checks = r.value.checks as ReadonlyArray<{ name: string; available: boolean; reason?: string }>
      const pfn = checks.find((c) => c.name === "page frame numbers")!
      expect(pfn.available).toBe(false)
      expect(pfn.reason).toContain("CAP_SYS_ADMIN")
      expect(checks.find((c) => c.name === "kpageflags (huge pages)")!.available).toBe(false)
      expect(r.value.privileges).toEqual({ capSysAdmin: false, capSysNice: false, capSysPtrace: false })
      // The idle page bitmap and DAMON are root's; soft-dirty is the process owner's.
      for (const s of r.value.sources as ReadonlyArray<{ name: string; available: boolean; reason?: string }>) {
        if (s.name === "soft-dirty") continue
        expect(s.available, s.name).toBe(false)
        expect(s.reason, s.name).toBeTruthy()
      }
    })
  )
})
