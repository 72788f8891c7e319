/**
 * @kmm/policy-abit: kmmscand's accessed-bit promotion as a kmm policy. Each module is
 * also importable on its own, e.g. `@kmm/policy-abit/Abit`.
 *
 * @since 0.1.0
 */
export * as Abit from "./Abit.js"
export * as Plugin from "./Plugin.js"

/**
 * The policy's options schema (with defaults), its constructor and its layer.
 *
 * @since 0.1.0
 */
export { Config, defaults, layer, make } from "./Abit.js"

/**
 * The plug-in descriptor (`name: "abit"`).
 *
 * @since 0.1.0
 */
export { descriptor } from "./Plugin.js"
