/**
 * The plug-in descriptor (core's `Plugin.PolicyDescriptor`): how a stack config's
 * `policy: { name: "hotness", options }` block finds this package, validates its options
 * and builds its layer.
 *
 * @since 0.1.0
 */
import type { PolicyDescriptor } from "@kmm/core/Plugin"
import * as Hotness from "./Hotness.js"

/**
 * The descriptor of the hotness policy.
 *
 * @since 0.1.0
 */
export const descriptor: PolicyDescriptor<typeof Hotness.Config> & { readonly name: "hotness" } = {
  kind: "policy",
  name: "hotness",
  coreRange: "^0.1.0",
  description: "one-byte hotness records, a promotion threshold that adapts to the budget, watermark demotion, hysteresis",
  configSchema: Hotness.Config,
  layer: (config) => Hotness.layer(config)
}
