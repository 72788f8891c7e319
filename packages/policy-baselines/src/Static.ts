/**
 * The static baseline: never migrates. Whatever first touch placed stays where it is;
 * every other policy should do better than this.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { Policy as PolicyService } from "@kmm/core/Policy"
import { Policy } from "@kmm/core/Policy"

/**
 * No options.
 *
 * @since 0.1.0
 */
export const Config = Schema.Struct({})

/** @since 0.1.0 */
export type Config = Schema.Schema.Type<typeof Config>

/** @since 0.1.0 */
export type ConfigInput = Schema.Schema.Encoded<typeof Config>

/**
 * Builds the policy: it accepts no observations, plans nothing and holds no state.
 *
 * @since 0.1.0
 */
export const make = (_config: ConfigInput = {}): PolicyService => ({
  name: "static",
  accepts: [],
  observe: () => Effect.void,
  plan: () => Effect.succeed([]),
  feedback: () => Effect.void,
  forget: () => Effect.void,
  stateBytes: Effect.succeed(0)
})

/**
 * A layer providing the policy as core's `Policy`.
 *
 * @since 0.1.0
 */
export const layer = (config: ConfigInput = {}): Layer.Layer<Policy> => Layer.sync(Policy, () => make(config))
