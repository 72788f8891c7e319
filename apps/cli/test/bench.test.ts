import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { kmm, tempDir } from "./kmm.js"

interface Cell {
  policy: string
  workload: string
  topTierShare: number
  oracleShare: number
  ratio: number
  scansToConverge: number | null
  migrations: number
  pingPong: number
  series: Array<{ t: number; share: number; oracle: number; scans: number }>
}

describe("kmm bench", () => {
  it("the tiny matrix writes its files, and its JSON has the figures per policy and workload", async () => {
    const dir = tempDir("bench")
    const out = path.join(dir, "out")
    const r = await kmm(["bench", "--workloads", "small", "--policies", "hotness,static", "--policies", "oracle", "--duration", "10s", "--out", out, "--json", "--jobs", "2"], {
      cwd: dir
    })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as { kind: string; settings: { policies: Array<string>; workloads: Array<string>; durationMs: number }; results: Array<Cell>; files: Array<string> }
    expect(doc.kind).toBe("kmm-bench")
    expect(doc.settings).toMatchObject({ policies: ["hotness", "static", "oracle"], workloads: ["small"], durationMs: 10_000 })
    expect(doc.results.map((c) => `${c.workload}/${c.policy}`)).toEqual(["small/hotness", "small/static", "small/oracle"])
    for (const c of doc.results) {
      for (const k of ["topTierShare", "oracleShare", "ratio", "migrations", "pingPong"] as const) expect(typeof c[k]).toBe("number")
      expect(c.ratio).toBeCloseTo(c.topTierShare / c.oracleShare, 6)
      expect(c.series).toHaveLength(10)
    }
    const [hotness, stat, oracle] = doc.results
    // static never migrates, so it never converges; the others do, in a few scans.
    expect(stat.migrations).toBe(0)
    expect(stat.scansToConverge).toBeNull()
    expect(hotness.migrations).toBeGreaterThan(0)
    expect(hotness.scansToConverge).toBeGreaterThan(0)
    expect(hotness.ratio).toBeGreaterThan(stat.ratio)
    expect(oracle.ratio).toBeGreaterThan(stat.ratio)
    // The files: the same document, a CSV row per cell, a CSV row per cell and second, a chart.
    expect(doc.files.map((f) => path.basename(f)).sort()).toEqual(["results.csv", "results.json", "series.csv", "share-small.svg"])
    expect(JSON.parse(fs.readFileSync(path.join(out, "results.json"), "utf8"))).toEqual(doc)
    const csv = fs.readFileSync(path.join(out, "results.csv"), "utf8").trimEnd().split("\n")
    expect(csv).toHaveLength(4)
    expect(csv[0].split(",")).toEqual(expect.arrayContaining(["workload", "policy", "topTierShare", "oracleShare", "ratio", "scansToConverge", "migrations", "pingPong"]))
    expect(fs.readFileSync(path.join(out, "series.csv"), "utf8").trimEnd().split("\n")).toHaveLength(1 + 3 * 10)
    const svg = fs.readFileSync(path.join(out, "share-small.svg"), "utf8")
    expect(svg).toMatch(/^<svg /)
    expect(svg.match(/<path d="M/g)).toHaveLength(4) // three policies and the oracle
    for (const name of ["hotness", "static", "oracle"]) expect(svg).toContain(`<title>${name}</title>`)
    // Progress went to stderr, one line per cell (not a terminal).
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(3)
  })

  it("prints a table without --json", async () => {
    const dir = tempDir("bench-table")
    const r = await kmm(["bench", "--workloads", "small", "--policies", "abit", "--duration", "3s"], { cwd: dir })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("top-tier share")
    expect(r.stdout).toMatch(/│ small +│ abit +│/)
    expect(r.stdout).toContain("wrote bench-out/results.json")
    expect(fs.existsSync(path.join(dir, "bench-out", "share-small.svg"))).toBe(true)
  })

  it("refuses an unknown workload or policy before running anything", async () => {
    const dir = tempDir("bench-bad")
    const w = await kmm(["bench", "--workloads", "huge"], { cwd: dir })
    expect(w.code).toBe(2)
    expect(w.stderr).toContain('--workloads: no workload "huge"')
    const p = await kmm(["bench", "--workloads", "small", "--policies", "hotness,nope"], { cwd: dir })
    expect(p.code).toBe(2)
    expect(p.stderr).toContain('plug-in "nope"')
    expect(fs.existsSync(path.join(dir, "bench-out"))).toBe(false)
  })
})
