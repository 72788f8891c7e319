import { describe, expect, it } from "vitest"
import { kmm } from "./kmm.js"

describe("help", () => {
  it("kmm --help lists the commands, with examples", async () => {
    const r = await kmm(["--help"])
    expect(r.code).toBe(0)
    for (const c of ["run", "bench", "topology", "tunables", "plugins"]) expect(r.stdout).toContain(`- ${c}`)
    expect(r.stdout).toContain("EXAMPLES")
    // Not a terminal: no colour codes.
    expect(r.stdout).not.toContain("\u001b[")
  })

  it("kmm alone shows the same help", async () => {
    const [alone, help] = await Promise.all([kmm([]), kmm(["--help"])])
    expect(alone.code).toBe(0)
    expect(alone.stdout).toBe(help.stdout)
  })

  it.each([
    ["run", ["--config FILE", "--policy NAME", "--set KNOB=VALUE", "--duration D", "--speed N|max", "--json", "kmm run --preset small"]],
    ["bench", ["--policies", "--workloads", "--out DIR", "--json", "scansToConverge", "kmm bench --workloads small --duration 10s --json"]],
    ["topology", ["--backend NAME", "kmm topology --preset small --json"]],
    ["tunables", ["--set KNOB=VALUE", "KMM_SCAN_SIZE_MB=512 kmm tunables --json"]],
    ["plugins", ["--config FILE", "kmm plugins --config kmm.yaml"]]
  ])("kmm %s --help documents its flags and has examples", async (command, expected) => {
    const r = await kmm([command, "--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("EXAMPLES")
    for (const e of expected) expect(r.stdout).toContain(e)
  })
})
