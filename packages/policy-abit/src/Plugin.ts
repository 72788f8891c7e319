/**
 * The plug-in descriptor (core's `Plugin.PolicyDescriptor`): how a stack config's
 * `policy: { name: "abit", options }` block finds this package, validates its options
 * and builds its layer.
 *
 * @since 0.1.0
 */
import type { PolicyDescriptor } from "@kmm/core/Plugin"
import * as Abit from "./Abit.js"

/**
 * The descriptor of the abit policy.
 *
 * @since 0.1.0
 */
export const descriptor: PolicyDescriptor<typeof Abit.Config> & { readonly name: "abit" } = {
  kind: "policy",
  name: "abit",
  coreRange: "^0.1.0",
  description: "kmmscand's accessed-bit promotion: first or second access, fixed or auto destination with fallback, no demotion",
  configSchema: Abit.Config,
  layer: (config) => Abit.layer(config)
}
