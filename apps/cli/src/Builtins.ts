/**
 * The plug-ins `kmm` ships with, the defaults, and what the CLI knows about the
 * simulated backend (whether a stack runs in virtual time, a preset's natural length).
 */
import * as SimBackend from "@kmm/backend-sim"
import * as SimConfig from "@kmm/backend-sim/SimConfig"
import type * as Plugin from "@kmm/core/Plugin"
import type * as Stack from "@kmm/core/Stack"
import * as Abit from "@kmm/policy-abit"
import * as Baselines from "@kmm/policy-baselines"
import * as Hotness from "@kmm/policy-hotness"
import * as Either from "effect/Either"

/** A built-in plug-in with the package it comes from. */
export interface Entry {
  readonly descriptor: Plugin.Descriptor
  readonly package: string
  readonly description: string
}

/** Every built-in, backends first. */
export const entries: ReadonlyArray<Entry> = [
  {
    descriptor: SimBackend.descriptor as Plugin.BackendDescriptor,
    package: "@kmm/backend-sim",
    description: "Simulated tiered machine in virtual time, with an oracle (the default)"
  },
  {
    descriptor: Hotness.descriptor as Plugin.PolicyDescriptor,
    package: "@kmm/policy-hotness",
    description: "One-byte hotness per page, adaptive promotion threshold, watermark demotion (the default)"
  },
  {
    descriptor: Abit.descriptor as Plugin.PolicyDescriptor,
    package: "@kmm/policy-abit",
    description: "kmmscand's accessed-bit promotion (first or second access)"
  },
  ...Baselines.descriptors.map(
    (d): Entry => ({
      descriptor: d as Plugin.PolicyDescriptor,
      package: "@kmm/policy-baselines",
      description:
        d.name === "static"
          ? "Baseline: never migrates"
          : d.name === "oracle"
            ? "Baseline: the hottest pages that fit, from the true rates (simulated backend only)"
            : "Baseline: the kernel's NUMA balancing in tiering mode, modelled (sampled accesses)"
    })
  )
]

/** The built-ins as `Stack` takes them. */
export const builtins: Stack.Builtins = {
  backends: entries.filter((e) => e.descriptor.kind === "backend").map((e) => e.descriptor as Plugin.BackendDescriptor),
  policies: entries.filter((e) => e.descriptor.kind === "policy").map((e) => e.descriptor as Plugin.PolicyDescriptor)
}

/** What `kmm run` uses when nothing names a plug-in. */
export const defaults = { backend: "sim", policy: "hotness" } as const

/** Whether a stack runs on the built-in simulated backend (and so in virtual time). */
export const isSimulated = (stack: Stack.Stack): boolean => stack.backend.descriptor === (SimBackend.descriptor as unknown)

/** Virtual time a simulation runs when `--duration` is not given, at least this long. */
export const MIN_NATURAL_MS = 60_000

/** Time left after the last scheduled change, to watch the policy recover from it. */
export const AFTER_LAST_CHANGE_MS = 30_000

/**
 * A simulation's natural length: 30 s after its last scheduled change (a hot-set
 * shift, a task starting or exiting, a capacity change), and at least 60 s. The
 * default preset shifts at 30 s, so it runs 60 s.
 */
export const naturalDurationMs = (simOptions: unknown): number => {
  const resolved = SimConfig.decode(simOptions)
  if (Either.isLeft(resolved)) return MIN_NATURAL_MS
  const r = resolved.right
  const times = [
    ...r.tasks.flatMap((t) => [t.startMs, ...(t.exitAtMs === undefined ? [] : [t.exitAtMs]), ...t.phases.map((p) => p.atMs)]),
    ...r.faults.capacity.map((c) => c.atMs)
  ]
  return Math.max(MIN_NATURAL_MS, Math.max(0, ...times) + AFTER_LAST_CHANGE_MS)
}
