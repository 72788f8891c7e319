import { describe, expect, it } from "vitest"
import * as Policies from "../src/Policies.js"
import * as Quality from "../src/Quality.js"
import * as Report from "../src/Report.js"
import * as Throughput from "../src/Throughput.js"
import type { Workload } from "../src/Workloads.js"

const MiB = 1024 ** 2

/** A small machine (64 MiB DRAM, 128 MiB task on CXL, hot set of 1/8 moving at 8 s): seconds of work. */
const small: Workload = {
  name: "shift",
  title: "small shift",
  checks: "smoke",
  config: (seed) => ({
    seed,
    nodes: [
      { label: "DRAM", tier: 0, capacity: 64 * MiB },
      { label: "CXL", tier: 1, capacity: 192 * MiB }
    ],
    tasks: [
      {
        id: 1,
        size: 128 * MiB,
        node: 1,
        workload: { kind: "hotset", accessesPerSec: 16_000, hotFraction: 0.125, hotAccessFraction: 0.9 },
        phases: [{ atMs: 8000, workload: { kind: "hotset", accessesPerSec: 16_000, hotFraction: 0.125, hotAccessFraction: 0.9, offset: 0.5 } }]
      }
    ],
    observe: { samplesPerScan: 1024 }
  }),
  durationMs: 16_000,
  shiftAtMs: 8000
}

const policy = (name: string) => Policies.all.find((p) => p.name === name)!

describe("the benchmark runner (smoke)", () => {
  it("runs a policy on the simulator, samples every second and derives the figures", async () => {
    const hot = await Quality.run(policy("hotness"), small, 1)
    const stat = await Quality.run(policy("static"), small, 1)
    expect(hot.seconds).toHaveLength(16)
    expect(hot.seconds[15].sweeps).toBeGreaterThan(hot.seconds[3].sweeps)
    // The static baseline never moves a page; hotness brings the hot set up, before and after the shift.
    expect(stat.promoted).toBe(0)
    expect(Quality.steady(stat, 4)).toBe(0)
    expect(hot.promoted).toBeGreaterThan(4096)
    expect(Quality.reached(hot, 0.9)).toBeDefined()
    expect(Quality.reached(hot, 0.9, 8)).toBeDefined()
    const f = Report.figures([hot], small)
    expect(f.sweeps90).toBeGreaterThan(0)
    expect(f.series).toHaveLength(16)
    expect(f.shiftSweeps90).toBeLessThan(Infinity)
  }, 60_000)

  it("measures update throughput and writes a report with the targets", () => {
    const m = Throughput.run(1 << 17, 1)
    expect(m.map((x) => x.name)[0]).toBe("hotness")
    for (const x of m) expect(x.pagesPerSec).toBeGreaterThan(0)
    expect(m[0].bytesPerPage).toBeLessThan(1.01)
    const checks = Report.checks([], m, 1 << 20)
    expect(checks.some((c) => c.target.startsWith("Policy update"))).toBe(true)
    const text = Report.markdown({
      date: "2026-01-01",
      machine: "test",
      runs: 1,
      seeds: [1],
      pages: 1 << 17,
      workloads: [],
      policies: [],
      figures: [],
      throughput: m,
      checks,
      command: "test",
      samplesPerScan: 1024
    })
    expect(text).toContain("| target | measured (median) | met |")
    expect(text).toContain("| hotness |")
  })

  it("takes medians, counting runs that never got there as never", () => {
    expect(Quality.median([3, 1, 2])).toBe(2)
    expect(Quality.median([1, undefined, undefined])).toBe(Infinity)
    expect(Quality.median([1, 2, 3, 4])).toBe(2.5)
  })
})
