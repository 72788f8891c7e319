/**
 * @kmm/policy-hotness: a one-byte hotness record per page, an adaptive promotion
 * threshold, watermark demotion and hysteresis. Each module is also importable on its
 * own, e.g. `@kmm/policy-hotness/Hotness`.
 *
 * @since 0.1.0
 */
export * as Hotness from "./Hotness.js"
export * as Plugin from "./Plugin.js"
export * as Record from "./Record.js"

/**
 * The policy's options schema (with defaults), its constructor and its layer.
 *
 * @since 0.1.0
 */
export { Config, defaults, layer, make } from "./Hotness.js"

/**
 * The plug-in descriptor (`name: "hotness"`).
 *
 * @since 0.1.0
 */
export { descriptor } from "./Plugin.js"
