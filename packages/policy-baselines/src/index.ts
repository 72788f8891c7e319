/**
 * @kmm/policy-baselines: policies to measure others against. `static` never migrates;
 * `numa-balancing` models the kernel's NUMA balancing in tiering mode; `oracle` places
 * the hottest pages that fit from the true rates (the upper bound). Each module is also
 * importable on its own, e.g. `@kmm/policy-baselines/Oracle`.
 *
 * @since 0.1.0
 */
export * as NumaBalancing from "./NumaBalancing.js"
export * as Oracle from "./Oracle.js"
export * as Plugin from "./Plugin.js"
export * as Static from "./Static.js"

/**
 * One plug-in descriptor per baseline, and all of them.
 *
 * @since 0.1.0
 */
export { descriptors, numaBalancingDescriptor, oracleDescriptor, staticDescriptor } from "./Plugin.js"
