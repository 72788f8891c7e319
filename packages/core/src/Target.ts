/**
 * Targets: the address spaces a backend can scan (a process, a simulated task).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * A target id. For the Linux backend it is the pid; other backends choose their own.
 *
 * @since 0.1.0
 */
export const TargetId = Schema.Int.pipe(Schema.nonNegative(), Schema.brand("@kmm/core/TargetId"))

/** @since 0.1.0 */
export type TargetId = Schema.Schema.Type<typeof TargetId>

/**
 * Makes a TargetId from a number (no check beyond the type).
 *
 * @since 0.1.0
 */
export const targetId = (n: number): TargetId => n as TargetId

/**
 * A contiguous run of virtual pages of one target, e.g. a VMA. Scan chunks never
 * cross a mapping, so policies can keep one dense array per mapping.
 *
 * @since 0.1.0
 */
export const Mapping = Schema.Struct({
  /** First virtual page number. */
  start: Schema.Number,
  /** Number of pages. */
  pages: Schema.Number.pipe(Schema.nonNegative()),
  /** Free-form label, e.g. "[heap]" or a file path. */
  label: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export interface Mapping extends Schema.Schema.Type<typeof Mapping> {}

/**
 * A target as the backend lists it.
 *
 * @since 0.1.0
 */
export const Target = Schema.Struct({
  id: TargetId,
  name: Schema.String,
  /** Pages the target maps in all (its scannable footprint). */
  pages: Schema.Number.pipe(Schema.nonNegative())
})

/** @since 0.1.0 */
export interface Target extends Schema.Schema.Type<typeof Target> {}
