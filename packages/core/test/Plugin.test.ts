import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Plugin from "../src/Plugin.js"
import * as TestPolicy from "../src/TestPolicy.js"

const Config = Schema.Struct({ threshold: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 7)), { default: () => 2 }) })
const good: Plugin.PolicyDescriptor<typeof Config> = {
  kind: "policy",
  name: "good",
  coreRange: "^0.1.0",
  configSchema: Config,
  layer: () => TestPolicy.layerTest
}

describe("Plugin", () => {
  it("accepts a well-formed descriptor", () => {
    const d = Plugin.validate("good", { descriptor: good }, "policy")
    expect(Either.isRight(d) && d.right.name).toBe("good")
  })

  it("finds a named descriptor in a `descriptors` list, and says what a package provides", () => {
    const other = { ...good, name: "other" }
    const d = Plugin.validate("pkg", { descriptors: [good, other] }, "policy", "other")
    expect(Either.isRight(d) && d.right.name).toBe("other")
    const wrongKind = Plugin.validate("pkg", { descriptor: good }, "backend")
    expect(Either.isLeft(wrongKind) && wrongKind.left.message).toContain('it is not a backend (it provides policy "good")')
  })

  it("names what is wrong with a malformed descriptor", () => {
    const none = Plugin.validate("x", { something: 1 }, "policy")
    expect(Either.isLeft(none) && none.left.message).toContain("exports no `descriptor`")
    const noLayer = Plugin.validate("x", { descriptor: { ...good, layer: 3 } }, "policy")
    expect(Either.isLeft(noLayer) && noLayer.left.message).toContain('malformed at "layer"')
    const noSchema = Plugin.validate("x", { descriptor: { ...good, configSchema: {} } }, "policy")
    expect(Either.isLeft(noSchema) && noSchema.left.message).toContain('malformed at "configSchema"')
  })

  it("refuses a plug-in built for another core", () => {
    const old = Plugin.validate("x", { descriptor: { ...good, coreRange: "^2.0.0" } }, "policy")
    expect(Either.isLeft(old) && old.left.message).toContain(`supports @kmm/core ^2.0.0, but this is @kmm/core ${Plugin.coreVersion}`)
    const bad = Plugin.validate("x", { descriptor: { ...good, coreRange: "soon" } }, "policy")
    expect(Either.isLeft(bad) && bad.left.message).toContain("not a semver range")
  })

  it("validates options against the plug-in's schema, naming the path", () => {
    expect(Plugin.decodeConfig(good, {})).toEqual(Either.right({ threshold: 2 }))
    const e = Plugin.decodeConfig(good, { threshold: 9 })
    expect(Either.isLeft(e) && e.left.message).toContain("invalid options at options.threshold")
    const extra = Plugin.decodeConfig(good, { treshold: 3 })
    expect(Either.isLeft(extra) && extra.left.message).toContain("treshold")
  })

  it.effect("loads an installed package by name from a directory, and reports a missing one", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmm-plugin-"))
      const pkgDir = path.join(dir, "node_modules", "@acme", "kmm-policy-foo")
      fs.mkdirSync(pkgDir, { recursive: true })
      fs.writeFileSync(path.join(pkgDir, "package.json"), JSON.stringify({ name: "@acme/kmm-policy-foo", version: "1.0.0", main: "index.cjs" }))
      fs.writeFileSync(
        path.join(pkgDir, "index.cjs"),
        "const { Schema } = require('effect');\nexports.descriptor = { kind: 'policy', name: 'foo', coreRange: '>=0.1.0', configSchema: Schema.Struct({}), layer: () => null }\n"
      )
      fs.symlinkSync(path.resolve(__dirname, "../../../node_modules/effect"), path.join(dir, "node_modules", "effect"))
      const d = yield* Plugin.load("@acme/kmm-policy-foo", "policy", dir)
      expect(d.name).toBe("foo")
      // An ESM-only package (exports has an "import" entry only) is found too.
      const esmDir = path.join(dir, "node_modules", "kmm-policy-esm")
      fs.mkdirSync(esmDir, { recursive: true })
      fs.writeFileSync(
        path.join(esmDir, "package.json"),
        JSON.stringify({ name: "kmm-policy-esm", version: "1.0.0", type: "module", exports: { ".": { import: "./index.js" } } })
      )
      fs.writeFileSync(
        path.join(esmDir, "index.js"),
        "import { Schema } from 'effect'\nexport const descriptor = { kind: 'policy', name: 'esm', coreRange: '>=0.1.0', configSchema: Schema.Struct({}), layer: () => null }\n"
      )
      const esm = yield* Plugin.load("kmm-policy-esm", "policy", path.join(dir, "sub", "dir"))
      expect(esm.name).toBe("esm")
      const missing = yield* Effect.flip(Plugin.load("@acme/kmm-policy-nope", "policy", dir))
      expect(missing.message).toContain('no package "@acme/kmm-policy-nope" is installed')
      const brokenDir = path.join(dir, "node_modules", "kmm-policy-broken")
      fs.mkdirSync(brokenDir, { recursive: true })
      fs.writeFileSync(path.join(brokenDir, "package.json"), JSON.stringify({ name: "kmm-policy-broken", version: "1.0.0", main: "index.cjs" }))
      fs.writeFileSync(path.join(brokenDir, "index.cjs"), "throw new Error('broken on purpose')\n")
      const broken = yield* Effect.flip(Plugin.load("kmm-policy-broken", "policy", dir))
      expect(broken.message).toContain("failed to load")
    })
  )
})
