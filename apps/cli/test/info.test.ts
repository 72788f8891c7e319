import { describe, expect, it } from "vitest"
import { kmm } from "./kmm.js"

describe("kmm tunables", () => {
  it("lists every knob with default, range, unit and meaning, and where a value comes from", async () => {
    const r = await kmm(["tunables", "--json", "--set", "scanSleepMs=40"], { env: { KMM_SCAN_SIZE_MB: "512" } })
    expect(r.code).toBe(0)
    const rows = JSON.parse(r.stdout) as Array<{ name: string; value: unknown; origin: string; default: unknown; min: number | null; max: number | null; unit: string; env: string; meaning: string }>
    expect(rows.map((x) => x.name)).toContain("scanPeriodMs")
    expect(rows).toHaveLength(14)
    for (const row of rows) {
      expect(row.meaning.length).toBeGreaterThan(10)
      expect(row.env).toMatch(/^KMM_[A-Z_]+$/)
    }
    expect(rows.find((x) => x.name === "scanSleepMs")).toMatchObject({ value: 40, origin: "set", default: 16, min: 0, max: 600000, unit: "ms" })
    expect(rows.find((x) => x.name === "scanSizeMB")).toMatchObject({ value: 512, origin: "env", default: 1024, unit: "MiB" })
    expect(rows.find((x) => x.name === "scanEnabled")).toMatchObject({ value: true, origin: "default", min: null })
  })

  it("prints a table", async () => {
    const r = await kmm(["tunables"])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/│ scanSleepMs +│ 16 +│ 16 +│ 0 \.\. 600000 +│ ms +│ KMM_SCAN_SLEEP_MS +│ Sleep between scan passes/)
  })
})

describe("kmm topology", () => {
  it("shows the simulated machine's nodes and tiers", async () => {
    const r = await kmm(["topology", "--preset", "small", "--json"])
    expect(r.code).toBe(0)
    const t = JSON.parse(r.stdout) as { pageSize: number; nodes: Array<{ id: number; tier: number; label: string; capacityPages: number; freePages: number }> }
    expect(t.pageSize).toBe(4096)
    expect(t.nodes.map((n) => [n.id, n.label, n.tier, n.capacityPages])).toEqual([
      [0, "DRAM", 0, 16384],
      [1, "CXL", 1, 49152]
    ])
    // The 128 MiB task starts on the CXL node.
    expect(t.nodes[1].capacityPages - t.nodes[1].freePages).toBe(32768)
    const table = await kmm(["topology"])
    expect(table.stdout).toMatch(/│ +1 │ CXL +│ +1 │ +12\.0 GiB │/)
  })
})
