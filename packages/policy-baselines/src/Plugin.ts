/**
 * Plug-in descriptors (core's `Plugin.PolicyDescriptor`), one per baseline: how a stack
 * config's `policy: { name, options }` block finds a baseline, validates its options and
 * builds its layer.
 *
 * @since 0.1.0
 */
import type { PolicyDescriptor } from "@kmm/core/Plugin"
import * as NumaBalancing from "./NumaBalancing.js"
import * as Oracle from "./Oracle.js"
import * as Static from "./Static.js"

/**
 * `static`: never migrates.
 *
 * @since 0.1.0
 */
export const staticDescriptor: PolicyDescriptor<typeof Static.Config> & { readonly name: "static" } = {
  kind: "policy",
  name: "static",
  coreRange: "^0.1.0",
  description: "baseline: never migrates",
  configSchema: Static.Config,
  layer: (config) => Static.layer(config)
}

/**
 * `numa-balancing`: the kernel's NUMA balancing in tiering mode, modelled.
 *
 * @since 0.1.0
 */
export const numaBalancingDescriptor: PolicyDescriptor<typeof NumaBalancing.Config> & { readonly name: "numa-balancing" } = {
  kind: "policy",
  name: "numa-balancing",
  coreRange: "^0.1.0",
  description: "baseline: a model of the kernel's NUMA balancing in tiering mode (hint faults, hot threshold, rate limit, reclaim)",
  configSchema: NumaBalancing.Config,
  layer: (config) => NumaBalancing.layer(config)
}

/**
 * `oracle`: the hottest pages that fit, from the true rates (needs `GroundTruth`).
 *
 * @since 0.1.0
 */
export const oracleDescriptor: PolicyDescriptor<typeof Oracle.Config> & { readonly name: "oracle" } = {
  kind: "policy",
  name: "oracle",
  coreRange: "^0.1.0",
  description: "baseline: the hottest pages that fit, from the simulator's true rates (needs GroundTruth)",
  configSchema: Oracle.Config,
  layer: (config) => Oracle.layer(config)
}

/**
 * Every baseline's descriptor.
 *
 * @since 0.1.0
 */
export const descriptors = [staticDescriptor, numaBalancingDescriptor, oracleDescriptor] as const
