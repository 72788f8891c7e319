import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Schema, TestClock } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Daemon from "../src/Daemon.js"
import { GroundTruth } from "../src/GroundTruth.js"
import type * as Plugin from "../src/Plugin.js"
import { Policy } from "../src/Policy.js"
import * as Stack from "../src/Stack.js"
import * as TestBackend from "../src/TestBackend.js"
import * as TestPolicy from "../src/TestPolicy.js"
import * as Tunables from "../src/Tunables.js"

// Core's test doubles, wrapped as the descriptors an app would pass in as built-ins.
const BackendOptions = Schema.Struct({ pages: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 4096 }) })
const testBackend: Plugin.BackendDescriptor<typeof BackendOptions> = {
  kind: "backend",
  name: "test",
  coreRange: "^0.1.0",
  configSchema: BackendOptions,
  layer: (o) => TestBackend.layerTest({ targets: [{ id: 1, pages: o.pages, hot: [[0, 64]] }] })
}
/** The same machine, plus a GroundTruth that says the first 64 pages are hot. */
const truthBackend: Plugin.BackendDescriptor<typeof BackendOptions> = {
  ...testBackend,
  name: "truthful",
  layer: (o) =>
    Layer.merge(
      testBackend.layer(o),
      Layer.succeed(GroundTruth, {
        targets: Effect.succeed([]),
        rates: () => Effect.succeed([])
      })
    )
}
const PolicyOptions = Schema.Struct({ threshold: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 7)), { default: () => 2 }) })
const testPolicy: Plugin.PolicyDescriptor<typeof PolicyOptions> = {
  kind: "policy",
  name: "first-access",
  coreRange: "^0.1.0",
  configSchema: PolicyOptions,
  layer: () => TestPolicy.layerTest
}
/** A policy that, like the oracle, reads the ground truth when it is built. */
const truthPolicy: Plugin.PolicyDescriptor = {
  kind: "policy",
  name: "needs-truth",
  coreRange: "^0.1.0",
  configSchema: Schema.Struct({}),
  layer: () =>
    Layer.effect(
      Policy,
      Effect.map(GroundTruth, () => TestPolicy.make())
    )
}

const builtins: Stack.Builtins = { backends: [testBackend, truthBackend], policies: [testPolicy, truthPolicy] }
/** Packages are looked up from the temp folder only, unless a test says otherwise. */
const noPackages: Stack.Options = { builtins, defaults: { backend: "test", policy: "first-access" } }
const base: Stack.Options = { ...noPackages, resolveFrom: [os.tmpdir()] }

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kmm-stack-"))
const write = (name: string, text: string) => {
  const file = path.join(tmp, name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text)
  return file
}

/** A plug-in package installed in `dir/node_modules`, CommonJS, depending on `effect` alone. */
const installPackage = (dir: string, name: string, source: string) => {
  const pkgDir = path.join(dir, "node_modules", ...name.split("/"))
  fs.mkdirSync(pkgDir, { recursive: true })
  fs.writeFileSync(path.join(pkgDir, "package.json"), JSON.stringify({ name, version: "1.0.0", main: "index.cjs" }))
  fs.writeFileSync(path.join(pkgDir, "index.cjs"), source)
  const effectLink = path.join(dir, "node_modules", "effect")
  if (!fs.existsSync(effectLink)) fs.symlinkSync(path.resolve(__dirname, "../../../node_modules/effect"), effectLink)
}

describe("Stack.resolve", () => {
  it.effect("with no config: the default plug-ins with their default options, and the default tunables", () =>
    Effect.gen(function* () {
      const s = yield* Stack.resolve({}, base)
      expect(s.backend.descriptor.name).toBe("test")
      expect(s.backend.source).toBe("builtin")
      expect(s.backend.options).toEqual({ pages: 4096 })
      expect(s.policy.ref).toBe("first-access")
      expect(s.policy.options).toEqual({ threshold: 2 })
      expect(s.tunables).toEqual(Tunables.defaults)
      expect(new Set(Object.values(s.origins))).toEqual(new Set(["default"]))
    })
  )

  it.effect("tunables: defaults < config file < environment < --set, each knob remembering where it came from", () =>
    Effect.gen(function* () {
      const s = yield* Stack.resolve(
        { tunables: { scanSleepMs: 20, migrateRateMBps: 100, targetNode: 0 } },
        {
          ...base,
          env: { KMM_SCAN_SLEEP_MS: "30", KMM_MIGRATE_BATCH_PAGES: "64", UNRELATED: "x" },
          set: ["scanSleepMs=40", "scanEnabled=false"]
        }
      )
      expect(s.tunables).toMatchObject({ scanSleepMs: 40, migrateRateMBps: 100, targetNode: 0, migrateBatchPages: 64, scanEnabled: false, scanPeriodMs: 2000 })
      expect(s.origins).toMatchObject({ scanSleepMs: "set", migrateRateMBps: "config", targetNode: "config", migrateBatchPages: "env", scanEnabled: "set", scanPeriodMs: "default" })
    })
  )

  it.effect("refuses bad tunables from each source, naming the knob (or the variable) and what it accepts", () =>
    Effect.gen(function* () {
      const noEq = yield* Effect.flip(Stack.resolve({}, { ...base, set: ["scanSleepMs"] }))
      expect(noEq._tag).toBe("InvalidTunable")
      expect(noEq.message).toContain("KNOB=VALUE")
      const typo = yield* Effect.flip(Stack.resolve({}, { ...base, set: ["scanSleepMS=3"] }))
      expect(typo.message).toContain('did you mean "scanSleepMs"')
      const range = yield* Effect.flip(Stack.resolve({}, { ...base, set: ["scanSizeMB=9"] }))
      expect(range.message).toContain("an integer from 256 to 4096")
      const env = yield* Effect.flip(Stack.resolve({}, { ...base, env: { KMM_SCAN_SLEEP_MS: "soon" } }))
      expect(env.message).toContain("KMM_SCAN_SLEEP_MS")
      // Knobs that relate are checked on the merged result.
      const related = yield* Effect.flip(Stack.resolve({ tunables: { scanPeriodMinMs: 1000 } }, { ...base, set: ["scanPeriodMaxMs=500"] }))
      expect(related.message).toContain("scanPeriodMinMs <= scanPeriodMaxMs")
    })
  )

  it.effect("an override replaces the configured plug-in; the config's options stay only for the same plug-in", () =>
    Effect.gen(function* () {
      const config = { backend: { name: "test", options: { pages: 100 } } }
      const same = yield* Stack.resolve(config, { ...base, backend: "test" })
      expect(same.backend.options).toEqual({ pages: 100 })
      const other = yield* Stack.resolve(config, { ...base, backend: "truthful" })
      expect(other.backend.descriptor.name).toBe("truthful")
      expect(other.backend.options).toEqual({ pages: 4096 })
    })
  )

  it.effect("invalid options in a config file name the file, the path, what was expected and found; unknown keys get the closest", () =>
    Effect.gen(function* () {
      const file = write("bad-options.yaml", "policy:\n  name: first-access\n  options:\n    threshold: 9\n")
      const e = yield* Effect.flip(Stack.fromFile(file, base))
      expect(e._tag).toBe("ConfigError")
      expect(e.message).toContain(file)
      expect(e.message).toContain("at policy.options.threshold")
      expect(e.message).toContain("number 9")
      const typo = yield* Effect.flip(Stack.fromFile(write("typo.yaml", "backend:\n  name: test\n  options:\n    pagez: 10\n"), base))
      expect(typo.message).toContain("at backend.options.pagez")
      expect(typo.message).toContain('did you mean "pages"')
      // Without a file (options given programmatically), the plug-in's own error.
      const direct = yield* Effect.flip(Stack.resolve({ policy: { name: "first-access", options: { threshold: 0 } } }, base))
      expect(direct._tag).toBe("PluginError")
      expect(direct.message).toContain("invalid options at options.threshold")
    })
  )

  it.effect("an unknown name that is no installed package says so, with the closest built-in", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(Stack.resolve({ policy: "first-acces" }, base))
      expect(e._tag).toBe("PluginError")
      expect(e.message).toContain('plug-in "first-acces"')
      expect(e.message).toContain("no built-in policy has this name")
      expect(e.message).toContain('Did you mean "first-access"?')
    })
  )

  it.effect("loads a policy package by name from the config file's folder, and reports a broken one", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(tmp, "project-"))
      installPackage(
        dir,
        "@acme/kmm-policy-count",
        [
          "const { Context, Effect, Layer, Schema } = require('effect')",
          "const Policy = Context.GenericTag('@kmm/core/Policy')",
          "const Config = Schema.Struct({ label: Schema.optionalWith(Schema.String, { default: () => 'plain' }) })",
          "exports.descriptor = { kind: 'policy', name: 'count', coreRange: '^0.1.0', configSchema: Config,",
          "  layer: (config) => Layer.sync(Policy, () => {",
          "    globalThis.kmmCountPolicy = { label: config.label, observed: 0 }",
          "    return { name: 'count', accepts: ['accessed-bit'],",
          "      observe: () => Effect.sync(() => { globalThis.kmmCountPolicy.observed++ }),",
          "      plan: () => Effect.succeed([]), feedback: () => Effect.void, forget: () => Effect.void, stateBytes: Effect.succeed(0) }",
          "  }) }",
          ""
        ].join("\n")
      )
      installPackage(dir, "kmm-policy-broken", "throw new Error('broken on purpose')\n")
      const file = path.join(dir, "kmm.yaml")
      fs.writeFileSync(file, "policy:\n  name: '@acme/kmm-policy-count'\n  options: { label: custom }\n")
      // Looked up next to the config file, whatever the working directory.
      const s = yield* Stack.fromFile(file, noPackages)
      expect(s.policy.source).toBe("package")
      expect(s.policy.descriptor.name).toBe("count")
      expect(s.policy.options).toEqual({ label: "custom" })
      const daemon = yield* Daemon.make().pipe(Effect.provide(Stack.layer(s)))
      yield* TestClock.adjust("5 seconds")
      expect((yield* daemon.counters).pages_scanned).toBeGreaterThan(0)
      const seen = (globalThis as { kmmCountPolicy?: { label: string; observed: number } }).kmmCountPolicy
      expect(seen?.label).toBe("custom")
      expect(seen?.observed).toBeGreaterThan(0)

      const broken = yield* Effect.flip(Stack.resolve({ policy: "kmm-policy-broken" }, { ...base, resolveFrom: [dir] }))
      expect(broken._tag).toBe("PluginError")
      expect(broken.message).toContain("failed to load: broken on purpose")
      const wrongKind = yield* Effect.flip(Stack.resolve({ backend: "@acme/kmm-policy-count" }, { ...base, resolveFrom: [dir] }))
      expect(wrongKind.message).toContain("it is not a backend")
    }).pipe(Effect.scoped)
  )
})

describe("Stack.layer", () => {
  it.scoped("runs the daemon on the resolved stack, with the backend's own services still reachable", () =>
    Effect.gen(function* () {
      const s = yield* Stack.resolve({ tunables: { scanSleepMs: 100 } }, base)
      const { daemon, tb } = yield* Effect.all({ daemon: Daemon.make(), tb: Effect.serviceOption(TestBackend.TestBackend) }).pipe(
        Effect.provide(Stack.layer(s))
      )
      yield* TestClock.adjust("10 seconds")
      expect((yield* daemon.counters).migrated).toBe(64)
      expect(Option.isSome(tb) && tb.value.nodeOf(1, 10)).toBe(0)
      expect((yield* daemon.tunables.get).scanSleepMs).toBe(100)
    })
  )

  it.scoped("gives the policy the backend's GroundTruth, and refuses a policy that needs it on a backend without it", () =>
    Effect.gen(function* () {
      const ok = yield* Stack.resolve({ backend: "truthful", policy: "needs-truth" }, base)
      const policy = yield* Policy.pipe(Effect.provide(Stack.layer(ok)))
      expect(policy.name).toBe("test")
      const missing = yield* Stack.resolve({ policy: "needs-truth" }, base)
      const e = yield* Effect.flip(Policy.pipe(Effect.provide(Stack.layer(missing))))
      expect((e as Plugin.PluginError)._tag).toBe("PluginError")
      expect((e as Plugin.PluginError).message).toContain('backend "test" does not provide')
    })
  )

  it("parseAssignment types the value", () => {
    expect(Stack.parseAssignment("scanEnabled=false")).toEqual(Either.right({ scanEnabled: false }))
    expect(Stack.parseAssignment("scanSleepMs= 25")).toEqual(Either.right({ scanSleepMs: 25 }))
    expect(Either.isLeft(Stack.parseAssignment("=3"))).toBe(true)
  })
})
