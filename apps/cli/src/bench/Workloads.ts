/**
 * The workloads of `kmm bench`: the simulated backend's presets, each on its own
 * machine, with hint-fault samples on for every run so every policy (the NUMA-balancing
 * model included) sees the same machine.
 */
import * as Preset from "@kmm/backend-sim/Preset"
import * as Builtins from "../Builtins.js"

/** Sampled accesses (hint faults) reported per scan call, at most, in every bench run (the simulator's default is 256). */
export const SAMPLES_PER_SCAN = 65_536

/** A bench workload. */
export interface Workload {
  readonly name: Preset.Name
  readonly description: string
  /** The preset's natural length: 30 s after its last scheduled change, at least 60 s. */
  readonly durationMs: number
}

/** The simulator options of a workload's runs. */
export const simOptions = (name: Preset.Name, seed: number) => ({ preset: name, seed, observe: { samplesPerScan: SAMPLES_PER_SCAN } })

/** Every workload, in report order. */
export const all: ReadonlyArray<Workload> = Preset.names.map((name) => ({
  name,
  description: Preset.describe(name),
  durationMs: Builtins.naturalDurationMs(simOptions(name, 1))
}))

/** What `kmm bench` runs when `--workloads` is not given (small is for quick tries and tests). */
export const defaultSelection: ReadonlyArray<Preset.Name> = ["default", "abench", "gups", "zipf", "multi"]

/** The workload of a name, if any. */
export const find = (name: string): Workload | undefined => all.find((w) => w.name === name)
