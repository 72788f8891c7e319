/**
 * Named machine-and-workload presets. A configuration names one in `preset` (default
 * "default") and overrides what it wants.
 *
 * @since 0.1.0
 */
import type { SimConfigInput } from "./SimConfig.js"

/**
 * Preset names.
 *
 * @since 0.1.0
 */
export const names = ["default", "abench", "gups", "zipf", "multi", "small"] as const

/** @since 0.1.0 */
export type Name = (typeof names)[number]

const dramCxl = (dram: string, cxl: string) => [
  { label: "DRAM", tier: 0, capacity: dram, latencyNs: 90, bandwidth: "50GiB", cpus: 2 },
  { label: "CXL", tier: 1, capacity: cxl, latencyNs: 250, bandwidth: "20GiB", cpus: 0 }
]

/**
 * The default hot set: 99 % of 500k accesses a second go to 1/8 of the pages. At
 * 8 GiB that is 1 GiB of hot pages, each touched about twice a second, while a cold
 * page is touched about once every 6 minutes: an accessed-bit scan every 0.4 to 5 s
 * tells them apart, and a policy that promotes on first access still leaves DRAM room
 * for the hot set after it moves.
 */
const hotset = (offset: number, scale = 1) => ({
  kind: "hotset" as const,
  accessesPerSec: 500_000 * scale,
  hotFraction: 0.125,
  hotAccessFraction: 0.99,
  offset
})

/**
 * Every preset with what it shows.
 *
 * @since 0.1.0
 */
export const presets: ReadonlyArray<{ readonly name: Name; readonly description: string; readonly config: SimConfigInput }> = [
  {
    name: "default",
    description:
      "4 GiB DRAM + 12 GiB CXL; one 8 GiB GUPS task with a 1 GiB hot set (99 % of accesses), allocated on CXL; the hot set moves at 30 s. Watch the top-tier share climb, drop at the shift, and recover.",
    config: {
      seed: 1,
      nodes: dramCxl("4GiB", "12GiB"),
      tasks: [{ id: 1, name: "gups", size: "8GiB", node: 1, workload: hotset(0), phases: [{ atMs: 30_000, workload: hotset(0.5) }] }]
    }
  },
  {
    name: "abench",
    description: "kmmscand's benchmark: 8 GiB of uniform random accesses allocated on the CXL node; every page is as hot as any other.",
    config: {
      seed: 1,
      nodes: dramCxl("4GiB", "12GiB"),
      tasks: [{ id: 1, name: "abench", size: "8GiB", node: 1, workload: { kind: "uniform", accessesPerSec: 2_000_000 } }]
    }
  },
  {
    name: "gups",
    description: "HeMem-style GUPS: 12 GiB with 90 % of accesses to a scattered 20 %; first touch fills DRAM, the rest spills to CXL.",
    config: {
      seed: 1,
      nodes: dramCxl("4GiB", "12GiB"),
      tasks: [
        {
          id: 1,
          name: "gups",
          size: "12GiB",
          node: 0,
          workload: { kind: "hotset", accessesPerSec: 4_000_000, hotFraction: 0.2, hotAccessFraction: 0.9, layout: "scattered" }
        }
      ]
    }
  },
  {
    name: "zipf",
    description: "8 GiB of Zipf(1) accesses over scattered ranks, allocated on CXL.",
    config: {
      seed: 1,
      nodes: dramCxl("4GiB", "12GiB"),
      tasks: [{ id: 1, name: "zipf", size: "8GiB", node: 1, workload: { kind: "zipf", accessesPerSec: 2_000_000, s: 1 } }]
    }
  },
  {
    name: "multi",
    description:
      "Three tasks at once: a GUPS hot set on CXL, a Zipf task in DRAM with writes, and a streaming task that starts at 10 s and exits at 50 s.",
    config: {
      seed: 1,
      nodes: dramCxl("4GiB", "12GiB"),
      tasks: [
        { id: 1, name: "gups", size: "4GiB", node: 1, workload: hotset(0, 0.5), phases: [{ atMs: 30_000, workload: hotset(0.5, 0.5) }] },
        { id: 2, name: "kv", size: "3GiB", node: 0, workload: { kind: "zipf", accessesPerSec: 1_000_000, s: 0.9, writeFraction: 0.3 } },
        {
          id: 3,
          name: "scan",
          size: "2GiB",
          node: 0,
          startMs: 10_000,
          exitAtMs: 50_000,
          workload: { kind: "stream", pagesPerSec: 65_536 }
        }
      ]
    }
  },
  {
    name: "small",
    description: "A small machine for quick tries and tests: 64 MiB DRAM + 192 MiB CXL, one 128 MiB hot-set task on CXL that shifts at 30 s.",
    config: {
      seed: 1,
      nodes: dramCxl("64MiB", "192MiB"),
      tasks: [
        {
          id: 1,
          name: "gups",
          size: "128MiB",
          node: 1,
          // The default's per-page rates, on 1/64 of its pages.
          workload: hotset(0, 1 / 64),
          phases: [{ atMs: 30_000, workload: hotset(0.5, 1 / 64) }]
        }
      ]
    }
  }
]

/**
 * The configuration of a preset.
 *
 * @since 0.1.0
 */
export const get = (name: Name): SimConfigInput => presets.find((p) => p.name === name)!.config

/**
 * A preset's description.
 *
 * @since 0.1.0
 */
export const describe = (name: Name): string => presets.find((p) => p.name === name)!.description
