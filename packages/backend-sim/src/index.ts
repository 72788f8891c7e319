/**
 * @kmm/backend-sim: a simulated tiered-memory machine, the embedded default backend of
 * kmm. Each module is also importable on its own, e.g. `@kmm/backend-sim/SimBackend`.
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type { Backend } from "@kmm/core/Backend"
import type { GroundTruth } from "@kmm/core/GroundTruth"
import * as SimBackend from "./SimBackend.js"
import * as SimConfig from "./SimConfig.js"
import type { TraceError } from "./Trace.js"

export * as Machine from "./Machine.js"
export * as Preset from "./Preset.js"
export * as Results from "./Results.js"
export * as SimBackend from "./SimBackend.js"
export * as SimConfig from "./SimConfig.js"
export * as Trace from "./Trace.js"
export * as Workload from "./Workload.js"

/**
 * The plug-in descriptor: how `kmm` finds this backend by name, validates its options
 * (`backend: { name: "sim", options: {...} }`) and builds it.
 *
 * @since 0.1.0
 */
export const descriptor: {
  readonly name: "sim"
  readonly kind: "backend"
  readonly coreRange: string
  readonly configSchema: typeof SimConfig.SimConfig
  readonly layer: (config: SimConfig.SimConfigInput) => Layer.Layer<Backend | GroundTruth | SimBackend.Sim, SimConfig.SimConfigError | TraceError>
} = {
  name: "sim",
  kind: "backend",
  coreRange: "^0.1.0",
  configSchema: SimConfig.SimConfig,
  layer: (config) => SimBackend.layer(config)
}
