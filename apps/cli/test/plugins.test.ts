import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { installPlugin, jsonLines, kmm, tempDir } from "./kmm.js"

/** A project with an installed policy package, a broken one, one without a descriptor and one built for another core. */
const project = tempDir("plugins")
installPlugin(project, "@acme/kmm-policy-foo", {
  "index.js": [
    'import { Layer, Schema } from "effect"',
    'import { Policy, TestPolicy } from "@kmm/core"',
    "// The options schema: a label, shown back as the policy's name.",
    'const Config = Schema.Struct({ label: Schema.optionalWith(Schema.String, { default: () => "foo" }) })',
    "export const descriptor = {",
    '  kind: "policy", name: "foo", coreRange: "^0.1.0", configSchema: Config,',
    "  layer: (config) => Layer.sync(Policy.Policy, () => ({ ...TestPolicy.make(), name: config.label }))",
    "}"
  ].join("\n")
})
installPlugin(project, "kmm-policy-broken", { "index.js": 'throw new Error("broken on purpose")\n' })
installPlugin(project, "kmm-policy-empty", { "index.js": "export const nothing = 1\n" })
installPlugin(project, "kmm-policy-future", {
  "index.js": [
    'import { Layer, Schema } from "effect"',
    'export const descriptor = { kind: "policy", name: "future", coreRange: "^9.0.0", configSchema: Schema.Struct({}), layer: () => Layer.empty }'
  ].join("\n")
})

describe("plug-ins by package name", () => {
  it("kmm run --policy PACKAGE loads and runs it", async () => {
    const r = await kmm(["run", "--policy", "@acme/kmm-policy-foo", "--preset", "small", "--duration", "5s", "--json"], { cwd: project })
    expect(r.code).toBe(0)
    const lines = jsonLines(r.stdout)
    expect(lines[0]).toMatchObject({ stack: { policy: { name: "foo", ref: "@acme/kmm-policy-foo", source: "package", options: { label: "foo" } } } })
    const summary = lines[lines.length - 1] as { counters: { migrated: number }; sim: { topTierShare: number } }
    expect(summary.counters.migrated).toBeGreaterThan(0)
    expect(summary.sim.topTierShare).toBeGreaterThan(0.5)
  })

  it("kmm bench runs a policy package in its worker threads, next to a built-in one", async () => {
    const r = await kmm(["bench", "--workloads", "small", "--duration", "4s", "--policies", "@acme/kmm-policy-foo,static", "--out", "out", "--json"], { cwd: project })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as { results: Array<{ policy: string; migrations: number }> }
    expect(doc.results.map((c) => c.policy)).toEqual(["@acme/kmm-policy-foo", "static"])
    expect(doc.results[0].migrations).toBeGreaterThan(0)
    expect(doc.results[1].migrations).toBe(0)
  })

  it("a config file names a package with options, found next to the file", async () => {
    const file = path.join(project, "kmm.yaml")
    fs.writeFileSync(file, "backend: { name: sim, options: { preset: small } }\npolicy:\n  name: '@acme/kmm-policy-foo'\n  options: { label: custom }\n")
    const r = await kmm(["run", "--config", file, "--duration", "2s", "--json"])
    expect(r.code).toBe(0)
    expect(jsonLines(r.stdout)[0]).toMatchObject({ stack: { policy: { source: "package", options: { label: "custom" } } } })
    const bad = path.join(project, "bad-options.yaml")
    fs.writeFileSync(bad, "policy:\n  name: '@acme/kmm-policy-foo'\n  options: { labl: x }\n")
    const e = await kmm(["run", "--config", bad])
    expect(e.code).toBe(2)
    expect(e.stderr).toContain(`${bad} at policy.options.labl: unknown key "labl" for policy "@acme/kmm-policy-foo"; did you mean "label"?`)
  })

  it.each([
    ["kmm-policy-broken", "failed to load: broken on purpose"],
    ["kmm-policy-empty", "the package exports no `descriptor`"],
    ["kmm-policy-future", "it supports @kmm/core ^9.0.0, but this is @kmm/core"],
    ["@acme/kmm-policy-missing", 'no package "@acme/kmm-policy-missing" is installed']
  ])("a broken plug-in %s gives the documented error and exit 2", async (name, reason) => {
    const r = await kmm(["run", "--policy", name], { cwd: project })
    expect(r.code).toBe(2)
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain(`kmm: plug-in "${name}": `)
    expect(r.stderr).toContain(reason)
  })

  it("a policy package named as a backend says what it is", async () => {
    const r = await kmm(["run", "--backend", "@acme/kmm-policy-foo"], { cwd: project })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('it is not a backend (it provides policy "foo")')
  })

  it("kmm plugins lists built-in and installed plug-ins, each checked", async () => {
    const r = await kmm(["plugins", "--json"], { cwd: project })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as {
      builtin: Array<{ kind: string; name: string; package: string }>
      installed: Array<{ package: string; name: string; status: string }>
    }
    expect(doc.builtin.map((b) => `${b.kind}:${b.name}`)).toEqual(["backend:sim", "policy:hotness", "policy:abit", "policy:static", "policy:numa-balancing", "policy:oracle"])
    const byPackage = Object.fromEntries(doc.installed.map((i) => [i.package, i]))
    expect(byPackage["@acme/kmm-policy-foo"]).toMatchObject({ name: "foo", status: "ok" })
    expect(byPackage["kmm-policy-broken"].status).toContain("failed to load: broken on purpose")
    expect(byPackage["kmm-policy-empty"].status).toContain("exports no `descriptor`")
    expect(byPackage["kmm-policy-future"].status).toContain("^9.0.0")
    expect(doc.installed).toHaveLength(4)
    const text = await kmm(["plugins"], { cwd: project })
    expect(text.stdout).toContain("Installed plug-in packages")
    expect(text.stdout).toMatch(/│ policy +│ foo +│ @acme\/kmm-policy-foo/)
  })

  it("kmm plugins --config checks the plug-ins a config names; a broken one exits 2", async () => {
    const good = path.join(project, "good.yaml")
    fs.writeFileSync(good, "policy: '@acme/kmm-policy-foo'\n")
    const ok = await kmm(["plugins", "--config", good, "--json"])
    expect(ok.code).toBe(0)
    expect((JSON.parse(ok.stdout) as { configured: unknown }).configured).toEqual([{ kind: "policy", ref: "@acme/kmm-policy-foo", source: "package", name: "foo", status: "ok" }])
    const broken = path.join(project, "broken.yaml")
    fs.writeFileSync(broken, "backend: sim\npolicy: kmm-policy-broken\n")
    const r = await kmm(["plugins", "--config", broken])
    expect(r.code).toBe(2)
    expect(r.stdout).toContain(`Named in ${broken}`)
    expect(r.stderr).toContain("the policy named in")
    expect(r.stderr).toContain("broken on purpose")
  })
})
