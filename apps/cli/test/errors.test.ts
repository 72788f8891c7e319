import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { installPlugin, kmm, tempDir } from "./kmm.js"

const dir = tempDir("errors")
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

/** One line on stderr, starting with "kmm: ". */
const oneLine = (stderr: string) => {
  const lines = stderr.trimEnd().split("\n")
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^kmm: /)
  return lines[0]
}

describe("usage and config errors exit 2 with one line", () => {
  it("an unknown flag", async () => {
    const r = await kmm(["run", "--bogus"])
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain("--bogus")
    expect(r.stderr).toContain("kmm run --help")
    expect(r.stdout).toBe("")
  })

  it("an unknown command", async () => {
    const r = await kmm(["runn"])
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain("'run'")
  })

  it("a malformed duration or speed", async () => {
    const d = await kmm(["run", "--duration", "soon"])
    expect(d.code).toBe(2)
    expect(oneLine(d.stderr)).toContain('--duration: expected a duration such as 30s, 5m, 1h, 1h30m or 250ms, found "soon"')
    const s = await kmm(["run", "--speed", "fast"])
    expect(s.code).toBe(2)
    expect(oneLine(s.stderr)).toContain("--speed")
  })

  it("a config file with an unknown tunable names the file, the key and the closest known key", async () => {
    const file = write("typo.yaml", "policy: hotness\ntunables:\n  scanSleepMS: 20\n")
    const r = await kmm(["run", "--config", file])
    expect(r.code).toBe(2)
    const line = oneLine(r.stderr)
    expect(line).toContain(file)
    expect(line).toContain("at tunables.scanSleepMS")
    expect(line).toContain('did you mean "scanSleepMs"')
  })

  it("a config file with a bad plug-in option names the path inside the file, what was expected and found", async () => {
    const typo = write("option.yaml", "policy:\n  name: hotness\n  options:\n    minThreshhold: 3\n")
    const r = await kmm(["run", "-c", typo])
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain('at policy.options.minThreshhold: unknown key "minThreshhold" for policy "hotness"; did you mean "minThreshold"?')
    const type = write("type.json", JSON.stringify({ backend: { name: "sim", options: { seed: "one" } } }))
    const t = await kmm(["run", "-c", type])
    expect(t.code).toBe(2)
    const line = oneLine(t.stderr)
    expect(line).toContain(`${type} at backend.options.seed`)
    expect(line).toContain('found string "one"')
  })

  it("a simulated machine that does not add up is refused before it runs, with its path in the file", async () => {
    const file = write("machine.yaml", "backend:\n  name: sim\n  options:\n    tasks:\n      - { size: 1GiB, node: 7, workload: { kind: uniform } }\n")
    const r = await kmm(["run", "-c", file, "--json"])
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain(`${file} at backend.options.tasks.0.node: no node 7`)
    expect(r.stdout).toBe("")
  })

  it("a missing config file, a bad --set, a bad KMM_* variable", async () => {
    const missing = await kmm(["run", "-c", path.join(dir, "nope.yaml")])
    expect(missing.code).toBe(2)
    expect(oneLine(missing.stderr)).toContain("cannot read the file: ENOENT")
    const set = await kmm(["run", "--set", "scanSizeMB=9"])
    expect(set.code).toBe(2)
    expect(oneLine(set.stderr)).toBe("kmm: invalid value 9 for tunable \"scanSizeMB\": expected an integer from 256 to 4096 (MiB)")
    const env = await kmm(["run"], { env: { KMM_SCAN_SLEEP_MS: "never" } })
    expect(env.code).toBe(2)
    expect(oneLine(env.stderr)).toContain("KMM_SCAN_SLEEP_MS")
  })

  it("an unknown policy name suggests the closest built-in", async () => {
    const r = await kmm(["run", "--policy", "hotnes"])
    expect(r.code).toBe(2)
    const line = oneLine(r.stderr)
    expect(line).toContain('plug-in "hotnes": no built-in policy has this name and no package "hotnes" is installed')
    expect(line).toContain('Did you mean "hotness"?')
  })

  it("--preset with another backend", async () => {
    const r = await kmm(["run", "--backend", "linux", "--preset", "small"])
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain('--preset applies to the simulated backend (sim), not to "linux"')
  })
})

describe("runtime failures exit 1", () => {
  it("a backend that fails to start", async () => {
    const project = tempDir("failing-backend")
    installPlugin(
      project,
      "kmm-backend-failing",
      {
        "index.js": [
          'import { Effect, Layer, Schema } from "effect"',
          'import { Backend } from "@kmm/core"',
          "export const descriptor = {",
          '  kind: "backend", name: "failing", coreRange: "^0.1.0", configSchema: Schema.Struct({}),',
          '  layer: () => Layer.effect(Backend.Backend, Effect.fail(new Error("the device is gone")))',
          "}"
        ].join("\n")
      },
      { keywords: ["kmm-backend"] }
    )
    const r = await kmm(["run", "--backend", "kmm-backend-failing", "--duration", "1s"], { cwd: project })
    expect(r.code).toBe(1)
    expect(r.stderr.trimEnd()).toBe("kmm: the device is gone")
  })
})
