/**
 * The per-target scan period, adapted to what each sweep finds (kmmscand patch 5).
 *
 * After a sweep of a target's address space, `found` is the number of slow-tier pages
 * seen accessed (what kmmscand would add for migration) and `previous` the same for
 * the sweep before:
 * - a difference under `ignorePages` leaves the period alone;
 * - a large swing (one count is zero, or 8 times the other) divides or multiplies the
 *   period by 8;
 * - otherwise more found shrinks the period by 15 %, less found grows it by 15 %;
 * - the result is clamped to [min, max].
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export interface PeriodBounds {
  readonly min: number
  readonly max: number
  readonly ignorePages: number
}

/** Step for ordinary changes. */
export const STEP = 0.15

/** Factor for large swings. */
export const SWING_FACTOR = 8

/**
 * The next period, in ms.
 *
 * @since 0.1.0
 */
export const next = (period: number, previous: number, found: number, bounds: PeriodBounds): number => {
  const clamp = (p: number) => Math.min(bounds.max, Math.max(bounds.min, Math.round(p)))
  if (Math.abs(found - previous) < bounds.ignorePages) return clamp(period)
  const largeUp = found >= SWING_FACTOR * previous
  const largeDown = previous >= SWING_FACTOR * found
  if (found > previous) return clamp(largeUp ? period / SWING_FACTOR : period * (1 - STEP))
  return clamp(largeDown ? period * SWING_FACTOR : period * (1 + STEP))
}
