/**
 * Pages the policy has proposed and the migrator has not reported on yet, per
 * destination node. A node's free pages in the topology do not count them, so room
 * on a node is `freePages - inFlight(node)`. Outcomes arrive batch by batch, as views
 * of the plan's page array, so a plan is recognised by its buffer. Plans the daemon
 * never reports on (it should not happen) expire after `ttlMs`.
 *
 * @since 0.1.0
 */
import type { MigrationPlan } from "./MigrationPlan.js"
import type { TargetId } from "./Target.js"

interface Pending {
  readonly target: TargetId
  readonly destination: number
  readonly demote: boolean
  remaining: number
  readonly at: number
}

export class InFlight {
  private readonly plans = new Map<ArrayBufferLike, Pending>()
  private readonly byNode = new Map<number, number>()
  /** Pages of demotion plans in flight (they will leave the top tier). */
  demoting = 0

  constructor(private readonly ttlMs = 60_000) {}

  /** Pages in flight to `node`. */
  to(node: number): number {
    return this.byNode.get(node) ?? 0
  }

  /** Pages in flight in all. */
  get total(): number {
    let n = 0
    for (const v of this.byNode.values()) n += v
    return n
  }

  /** Records a plan just proposed. */
  add(plan: MigrationPlan, now: number): void {
    if (plan.count === 0) return
    const demote = plan.direction === "demote"
    this.plans.set(plan.pages.buffer, { target: plan.target, destination: plan.destination, demote, remaining: plan.count, at: now })
    if (demote) this.demoting += plan.count
    this.byNode.set(plan.destination, this.to(plan.destination) + plan.count)
  }

  /** A batch of a plan was reported on. */
  done(batch: MigrationPlan): void {
    const p = this.plans.get(batch.pages.buffer)
    if (p === undefined) return
    const n = Math.min(p.remaining, batch.count)
    p.remaining -= n
    if (p.demote) this.demoting = Math.max(0, this.demoting - n)
    this.byNode.set(p.destination, Math.max(0, this.to(p.destination) - n))
    if (p.remaining === 0) this.plans.delete(batch.pages.buffer)
  }

  /** Forgets plans older than the time-to-live, and those of a target that is gone. */
  expire(now: number, gone?: TargetId): void {
    for (const [key, p] of this.plans) {
      if (now - p.at > this.ttlMs || p.target === gone) {
        this.byNode.set(p.destination, Math.max(0, this.to(p.destination) - p.remaining))
        if (p.demote) this.demoting = Math.max(0, this.demoting - p.remaining)
        this.plans.delete(key)
      }
    }
  }

  /** Bytes of bookkeeping, roughly. */
  get bytes(): number {
    return this.plans.size * 64 + this.byNode.size * 32
  }
}
