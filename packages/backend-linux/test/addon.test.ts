/**
 * Where the move_pages addon could not be built: everything but migration works, and
 * the backend says why migration does not. (This file points the loader at a file that
 * does not exist; other test files load the built addon.)
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as MigrationPlan from "@kmm/core/MigrationPlan"
import { targetId } from "@kmm/core/Target"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { noCompiler, sharedTempDir } from "./helpers.js"

const saved = process.env.KMM_MOVE_PAGES_ADDON
process.env.KMM_MOVE_PAGES_ADDON = "/nonexistent/kmm_move_pages.node"
// Imported after the variable is set: the loader reads it once, on first use.
const { LinuxBackend, Doctor, MovePages } = await import("../src/index.js")
afterAll(() => {
  if (saved === undefined) delete process.env.KMM_MOVE_PAGES_ADDON
  else process.env.KMM_MOVE_PAGES_ADDON = saved
})

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

describe("without the move_pages addon", () => {
  it.scoped("the backend starts, scans, and says migration is unavailable; migrate fails with the reason", () =>
    Effect.gen(function* () {
      const status = MovePages.status()
      expect(status.available).toBe(false)
      expect(status.reason).toContain("not built")
      expect(status.reason).toContain("npm rebuild @kmm/backend-linux")
      const { backend, linux } = yield* LinuxBackend.make({ targets: { pids: [process.pid], includeSelf: true } })
      expect(linux.migration.available).toBe(false)
      expect(linux.nodeSource).toBe(process.getuid?.() === 0 ? "pfn" : "single")
      expect(linux.pfnVisible).toBe(process.getuid?.() === 0)
      expect((yield* backend.capabilities).canDemote).toBe(false)
      const step = yield* linux.scan(targetId(process.pid), 0, 4096)
      expect(step.scanned).toBeGreaterThan(0)
      const err = yield* Effect.flip(backend.migrate(MigrationPlan.make({ target: targetId(process.pid), destination: 0, pages: [1] })))
      expect(err._tag).toBe("BackendFailure")
      expect(err.message).toContain("the move_pages addon is not built")
      const wanted = yield* Effect.flip(LinuxBackend.make({ nodeSource: "move-pages" }))
      expect(wanted.message).toContain('nodeSource "move-pages"')
      const doctor = yield* Doctor.check()
      expect(doctor.checks.find((c) => c.name === "move_pages")).toMatchObject({ available: false, reason: expect.stringContaining("not built") })
    })
  )
})

/** Runs the install script in a copy of the package's native parts. */
const install = (env: NodeJS.ProcessEnv, strict: boolean) =>
  Effect.async<{ code: number; output: string; built: boolean; dir: string }>((resume) => {
    const dir = sharedTempDir("kmm-install-")
    for (const part of ["binding.gyp", "native", "scripts"]) fs.cpSync(path.join(root, part), path.join(dir, part), { recursive: true })
    execFile(process.execPath, [path.join(dir, "scripts", "build-addon.mjs"), ...(strict ? ["--strict"] : [])], { cwd: dir, env }, (err, stdout, stderr) => {
      const built = fs.existsSync(path.join(dir, "build", "Release", "kmm_move_pages.node"))
      fs.rmSync(dir, { recursive: true, force: true })
      resume(Effect.succeed({ code: err === null ? 0 : Number(err.code ?? 1), output: `${stdout}${stderr}`, built, dir }))
    })
  })

describe("the install script", () => {
  it.live("never fails the install where the addon cannot be built, and says why; --strict fails", () =>
    Effect.gen(function* () {
      const broken = { ...process.env, CC: "/bin/false", CXX: "/bin/false" }
      const soft = yield* install(broken, false)
      expect(soft.code).toBe(0)
      expect(soft.built).toBe(false)
      expect(soft.output).toContain("kmm: move_pages addon not built: node-gyp exited with")
      expect(soft.output).toContain("npm rebuild @kmm/backend-linux")
      const strict = yield* install(broken, true)
      expect(strict.code).toBe(1)
    }),
    180_000
  )

  it.live.skipIf(noCompiler)("builds the addon from a clean copy without downloading anything", () =>
    Effect.gen(function* () {
      // No network is needed: Node's headers are found next to this node.
      const r = yield* install({ ...process.env, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" }, true)
      expect(r.output).toContain("move_pages addon built")
      expect(r.code).toBe(0)
      expect(r.built).toBe(true)
    }),
    180_000
  )
})
