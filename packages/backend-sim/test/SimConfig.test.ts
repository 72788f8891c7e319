import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Preset from "../src/Preset.js"
import * as SimConfig from "../src/SimConfig.js"

const ok = (input: unknown) => Either.getOrThrow(SimConfig.decode(input))
const err = (input: unknown) => {
  const r = SimConfig.decode(input)
  if (Either.isRight(r)) throw new Error("expected a config error")
  return r.left
}

describe("SimConfig", () => {
  it("the default preset: 4 GiB DRAM + 12 GiB CXL, an 8 GiB task on CXL that shifts once", () => {
    const c = ok(undefined)
    expect(c.preset).toBe("default")
    expect(c.nodes.map((n) => [n.label, n.tier, n.capacityPages, n.latencyNs])).toEqual([
      ["DRAM", 0, 1 << 20, 90],
      ["CXL", 1, 3 << 20, 250]
    ])
    expect(c.tasks).toHaveLength(1)
    expect(c.tasks[0]).toMatchObject({ id: 1, pages: 2 << 20, node: 1, cpuNode: 0 })
    expect(c.tasks[0].phases.map((p) => p.atMs)).toEqual([0, 30_000])
    expect(c.costs).toEqual({ scanNsPerPage: 20, migrateNsPerPage: 1500, migrateCallNs: 5000, faultLatencyNs: 2000, charge: "sleep" })
  })

  it("every preset resolves", () => {
    for (const name of Preset.names) {
      const c = ok({ preset: name })
      expect(c.tasks.length).toBeGreaterThan(0)
      expect(Preset.describe(name).length).toBeGreaterThan(20)
    }
  })

  it("overrides a preset key by key, and reads sizes with units", () => {
    const c = ok({ preset: "small", seed: 42, costs: { scanNsPerPage: 5 }, nodes: [{ capacity: "1.5 GiB" }, { capacity: 8 * 4096, tier: 3 }] })
    expect(c.seed).toBe(42)
    expect(c.costs.scanNsPerPage).toBe(5)
    expect(c.costs.migrateNsPerPage).toBe(1500)
    expect(c.nodes[0].capacityPages).toBe(393_216)
    expect(c.nodes[1]).toMatchObject({ capacityPages: 8, tier: 3, latencyNs: 250, cpus: [] })
    expect(c.tasks[0].pages).toBe(32_768) // from the preset
  })

  it("refuses bad input with the path and a clear reason", () => {
    expect(err({ seed: "x" })).toMatchObject({ path: "seed" })
    expect(err({ nodes: [{ capacity: "4 XB" }] })).toMatchObject({ path: "nodes.0.capacity", reason: expect.stringContaining('"4 XB"') })
    expect(err({ tasks: [{ size: "1GiB", node: 5, workload: { kind: "uniform" } }] })).toMatchObject({ path: "tasks.0.node" })
    expect(err({ tasks: [{ workload: { kind: "uniform" } }] })).toMatchObject({ path: "tasks.0", reason: expect.stringContaining("size or mappings") })
    expect(
      err({ tasks: [{ id: 3, size: "1MiB", workload: { kind: "idle" } }, { id: 3, size: "1MiB", workload: { kind: "idle" } }] })
    ).toMatchObject({ path: "tasks.1.id" })
    expect(err({ tasks: [{ size: "1MiB", workload: { kind: "idle" }, phases: [{ atMs: 0, workload: { kind: "idle" } }] }] })).toMatchObject({
      path: "tasks.0.phases.0.atMs"
    })
    expect(err({ tasks: [{ size: "1MiB", workload: { kind: "trace" } }] })).toMatchObject({ path: "tasks.0.workload" })
    expect(err({ preset: "huge" })).toMatchObject({ path: "preset" })
    expect(err({ sed: 1 })).toMatchObject({ path: "sed" })
    expect(err({ chunkPages: 1000 })).toMatchObject({ path: "chunkPages" })
    expect(err({ pageSize: 3000 })).toMatchObject({ path: "pageSize" })
    expect(err({ faults: { capacity: [{ atMs: 1, node: 9, capacity: 0 }] } })).toMatchObject({ path: "faults.capacity.0.node" })
    expect(err({ seed: "x" }).message).toMatch(/^sim config at seed: /)
  })
})
