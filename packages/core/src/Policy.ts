/**
 * The Policy service: the decisions. A policy consumes observations, keeps its own
 * hotness state (dense typed arrays), and proposes migrations within the budget the
 * daemon gives it.
 *
 * Policy packages provide this tag through `layer` / `layerConfig` constructors.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { MigrationOutcome, MigrationPlan } from "./MigrationPlan.js"
import type { Observation, ObservationKind } from "./Observation.js"
import type { TargetId } from "./Target.js"
import type { Topology } from "./Topology.js"

/**
 * What the daemon allows one `plan` call.
 *
 * @since 0.1.0
 */
export interface PlanBudget {
  /** Pages the policy may propose in all, over every plan it returns. */
  readonly maxPages: number
  /** The machine now, with free pages per node. */
  readonly topology: Topology
  /**
   * Top-tier destinations for a target's promotions, best first (the fixed target
   * node, or auto: where the target's accessed pages mostly sit), then fallbacks.
   */
  readonly destinations: (target: TargetId) => ReadonlyArray<number>
  /** Nodes the daemon is backing off from (a recent no-memory failure). */
  readonly unavailable: ReadonlySet<number>
  /** Current time in milliseconds (the daemon's clock). */
  readonly now: number
}

/**
 * @since 0.1.0
 */
export interface Policy {
  /** Short name, e.g. "abit", "hotness". */
  readonly name: string
  /** Observation kinds this policy uses; the daemon passes only these to `observe`. */
  readonly accepts: ReadonlyArray<ObservationKind>
  /** Apply one observation to the policy's state. */
  readonly observe: (observation: Observation) => Effect.Effect<void>
  /** Propose migrations; the total page count must not exceed `budget.maxPages`. */
  readonly plan: (budget: PlanBudget) => Effect.Effect<ReadonlyArray<MigrationPlan>>
  /** Learn how a plan (or a batch of it) went. */
  readonly feedback: (plan: MigrationPlan, outcome: MigrationOutcome) => Effect.Effect<void>
  /** Drop all state of a target that is gone. */
  readonly forget: (target: TargetId) => Effect.Effect<void>
  /** Bytes of state the policy holds now. */
  readonly stateBytes: Effect.Effect<number>
}

/**
 * The Policy tag: `yield* Policy.Policy` in an Effect gives the policy in use.
 *
 * @since 0.1.0
 */
export const Policy: Context.Tag<Policy, Policy> = Context.GenericTag<Policy>("@kmm/core/Policy")

/**
 * Total pages over a list of plans.
 *
 * @since 0.1.0
 */
export const plannedPages = (plans: ReadonlyArray<MigrationPlan>): number => {
  let total = 0
  for (const p of plans) total += p.count
  return total
}

/**
 * Promotion destinations for a target, best first: the daemon's order (or, when it
 * gives none, the top-tier nodes by free pages), with a fixed node put first when one
 * is given, and only the first when fallback is off.
 *
 * @since 0.1.0
 */
export const destinationsFor = (
  budget: PlanBudget,
  target: TargetId,
  options: { readonly targetNode: number | "auto"; readonly fallback: boolean }
): ReadonlyArray<number> => {
  let list: Array<number> = [...budget.destinations(target)]
  if (list.length === 0) {
    const top = Math.min(...budget.topology.nodes.map((n) => n.tier))
    list = budget.topology.nodes
      .filter((n) => n.tier === top && !budget.unavailable.has(n.id))
      .sort((a, b) => b.freePages - a.freePages || a.id - b.id)
      .map((n) => n.id)
  }
  const fixed = options.targetNode
  if (fixed !== "auto") {
    list = list.filter((n) => n !== fixed)
    if (!budget.unavailable.has(fixed) && budget.topology.nodes.some((n) => n.id === fixed)) list.unshift(fixed)
  }
  return options.fallback ? list : list.slice(0, 1)
}
