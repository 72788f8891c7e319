/**
 * Migration plans and their outcomes, as typed arrays.
 *
 * A plan moves pages of one target to one destination node. An outcome holds one
 * status per page, like move_pages(2): the node the page now sits on (>= 0), or a
 * negative reason code.
 *
 * @since 0.1.0
 */
import type { TargetId } from "./Target.js"

/**
 * @since 0.1.0
 */
export interface MigrationPlan {
  readonly target: TargetId
  /** Destination node. */
  readonly destination: number
  /** Virtual page numbers; entries [0, count) are used. */
  readonly pages: Float64Array
  readonly count: number
  /** Why: promotion (to a faster tier) or demotion (to a slower one). */
  readonly direction: "promote" | "demote"
}

/**
 * Per-page outcome codes below zero; a value >= 0 is the node the page sits on.
 *
 * @since 0.1.0
 */
export const Status = {
  /** The page is busy (locked, under writeback, pinned): try later. EBUSY. */
  BUSY: -1,
  /** The destination has no free memory. ENOMEM. */
  NO_MEMORY: -2,
  /** The page or its target is gone (unmapped, process exited). ENOENT / ESRCH. */
  GONE: -3,
  /** Not allowed (privilege, mempolicy, unmovable mapping). EPERM / EACCES. */
  DENIED: -4,
  /** The request was invalid (bad node, bad address). EINVAL / EFAULT. */
  INVALID: -5,
  /** The daemon did not attempt the page (backed off after a failure). */
  SKIPPED: -6
} as const

/** @since 0.1.0 */
export type Status = (typeof Status)[keyof typeof Status]

/**
 * Name of a status code, for logs and events.
 *
 * @since 0.1.0
 */
export const statusName = (code: number): string => {
  switch (code) {
    case Status.BUSY:
      return "busy"
    case Status.NO_MEMORY:
      return "no-memory"
    case Status.GONE:
      return "gone"
    case Status.DENIED:
      return "denied"
    case Status.INVALID:
      return "invalid"
    case Status.SKIPPED:
      return "skipped"
    default:
      return code >= 0 ? `node${code}` : `unknown(${code})`
  }
}

/**
 * @since 0.1.0
 */
export interface MigrationOutcome {
  /** One status per plan page; entries [0, plan.count) are used. */
  readonly status: Int16Array
}

/**
 * Makes a plan from page numbers.
 *
 * @since 0.1.0
 */
export const make = (options: {
  readonly target: TargetId
  readonly destination: number
  readonly pages: Float64Array | ReadonlyArray<number>
  readonly count?: number
  readonly direction?: "promote" | "demote"
}): MigrationPlan => {
  const pages = options.pages instanceof Float64Array ? options.pages : Float64Array.from(options.pages)
  return {
    target: options.target,
    destination: options.destination,
    pages,
    count: options.count ?? pages.length,
    direction: options.direction ?? "promote"
  }
}

/**
 * A view of pages [from, to) of a plan, sharing its page array.
 *
 * @since 0.1.0
 */
export const slice = (plan: MigrationPlan, from: number, to: number): MigrationPlan => ({
  target: plan.target,
  destination: plan.destination,
  pages: plan.pages.subarray(from, to),
  count: to - from,
  direction: plan.direction
})

/**
 * An outcome where every page has the same status.
 *
 * @since 0.1.0
 */
export const uniformOutcome = (count: number, status: number): MigrationOutcome => ({
  status: new Int16Array(count).fill(status)
})

/**
 * Counts of an outcome: moved (now on the destination) and failed, by reason.
 *
 * @since 0.1.0
 */
export interface OutcomeSummary {
  moved: number
  failed: number
  busy: number
  noMemory: number
  gone: number
  denied: number
  invalid: number
  skipped: number
}

/**
 * Summarises an outcome against its plan. O(count).
 *
 * @since 0.1.0
 */
export const summarize = (plan: MigrationPlan, outcome: MigrationOutcome): OutcomeSummary => {
  const s: OutcomeSummary = { moved: 0, failed: 0, busy: 0, noMemory: 0, gone: 0, denied: 0, invalid: 0, skipped: 0 }
  const status = outcome.status
  for (let i = 0; i < plan.count; i++) {
    const code = status[i]
    if (code === plan.destination) {
      s.moved++
      continue
    }
    s.failed++
    if (code === Status.BUSY) s.busy++
    else if (code === Status.NO_MEMORY) s.noMemory++
    else if (code === Status.GONE) s.gone++
    else if (code === Status.DENIED) s.denied++
    else if (code === Status.SKIPPED) s.skipped++
    else s.invalid++
  }
  return s
}
