/**
 * The benchmark's workloads on the simulated machine, written out in full (not taken
 * from the simulator's presets, so the figures stay comparable when presets change).
 *
 * The machine: DRAM (tier 0, 90 ns) and CXL (tier 1, 250 ns). Every task is
 * allocated on CXL. Hint faults (sampled accesses, for the NUMA-balancing model) are
 * on for every run, so every policy runs on the same machine.
 */
import type { SimConfigInput, TaskConfigInput } from "@kmm/backend-sim/SimConfig"

/** One benchmark workload. */
export interface Workload {
  readonly name: string
  /** One line for the report. */
  readonly title: string
  /** What the run checks. */
  readonly checks: string
  readonly config: (seed: number) => SimConfigInput
  readonly durationMs: number
  /** When the hot set moves, ms (the shift workload). */
  readonly shiftAtMs?: number
}

const GiB = 1024 ** 3

const machine = (dram: number, cxl: number) => [
  { label: "DRAM", tier: 0, capacity: dram, latencyNs: 90, bandwidth: 50 * GiB, cpus: 2 },
  { label: "CXL", tier: 1, capacity: cxl, latencyNs: 250, bandwidth: 20 * GiB, cpus: 0 }
]

/** Hint faults reported per scan call, at most (the simulator's default is 256). */
export const SAMPLES_PER_SCAN = 65_536

const hotset = (offset: number) => ({
  kind: "hotset" as const,
  accessesPerSec: 1_000_000,
  hotFraction: 0.125,
  hotAccessFraction: 0.9,
  offset
})

/** The machine with `dram` of DRAM and 12 GiB of CXL, and one 8 GiB task allocated on CXL. */
const base = (seed: number, dram: number, task: Omit<TaskConfigInput, "id" | "size" | "node">): SimConfigInput => ({
  seed,
  nodes: machine(dram, 12 * GiB),
  tasks: [{ id: 1, size: 8 * GiB, node: 1, ...task }],
  observe: { samplesPerScan: SAMPLES_PER_SCAN }
})

/** GUPS: 8 GiB, 90 % of 1M accesses/s to a contiguous 1 GiB hot set; 4 GiB DRAM. */
export const gups: Workload = {
  name: "gups",
  title: "GUPS hot set on CXL: 8 GiB task, 90 % of 1M accesses/s to 1 GiB, DRAM 4 GiB",
  checks: "hotness >= 95 % of the oracle within 10 scan periods and holds it; abit >= 90 %",
  config: (seed) => base(seed, 4 * GiB, { name: "gups", workload: hotset(0) }),
  durationMs: 60_000
}

/** The same, with the hot set moving to the middle of the task at 30 s. */
export const shift: Workload = {
  name: "shift",
  title: "Hot-set shift: GUPS as above, the hot set moves by 4 GiB at 30 s",
  checks: "hotness back to 90 % of the oracle within 5 scan periods of the shift; ping-pong <= 5 % of migrations",
  config: (seed) => base(seed, 4 * GiB, { name: "gups", workload: hotset(0), phases: [{ atMs: 30_000, workload: hotset(0.5) }] }),
  durationMs: 60_000,
  shiftAtMs: 30_000
}

/** Zipf(0.99) over 8 GiB with scattered ranks; DRAM 2 GiB (25 % of the footprint). */
export const zipf: Workload = {
  name: "zipf",
  title: "Zipf(0.99): 8 GiB task, 1M accesses/s, ranks scattered, DRAM 2 GiB (25 % of the footprint)",
  checks: "hotness >= 90 % of the oracle",
  config: (seed) => base(seed, 2 * GiB, { name: "zipf", workload: { kind: "zipf", accessesPerSec: 1_000_000, s: 0.99 } }),
  durationMs: 60_000
}

/** kmmscand's abench: uniform random over 8 GiB on CXL; DRAM 4 GiB. */
export const uniform: Workload = {
  name: "uniform",
  title: "Uniform random (abench): 8 GiB task, 1M accesses/s, DRAM 4 GiB",
  checks: "no thrash: migrations stop once the top tier is full",
  config: (seed) => base(seed, 4 * GiB, { name: "abench", workload: { kind: "uniform", accessesPerSec: 1_000_000 } }),
  durationMs: 60_000
}

/** Every workload, in report order. */
export const all: ReadonlyArray<Workload> = [gups, shift, zipf, uniform]
