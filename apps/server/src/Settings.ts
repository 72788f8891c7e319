/**
 * Settings: what the handlers know of the server itself (version, start time, limits).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type { Limits } from "./Limits.js"

/**
 * @since 0.1.0
 */
export interface Settings {
  readonly version: string
  /** ms since the epoch. */
  readonly startedAt: number
  readonly limits: Limits
}

/**
 * The Settings tag.
 *
 * @since 0.1.0
 */
export class ServerSettings extends Context.Tag("@kmm/server/ServerSettings")<ServerSettings, Settings>() {}
