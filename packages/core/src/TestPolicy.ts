/**
 * A minimal policy for tests of the core and of backends: it promotes every slow-tier
 * page it has seen accessed since its last plan (kmmscand V0's first-access rule) to
 * the first destination the daemon offers. One byte per page: 0, or 1 + the node the
 * page sat on when it was seen accessed. It is a test double; the real policies are
 * `@kmm/policy-abit` and `@kmm/policy-hotness`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { MigrationPlan } from "./MigrationPlan.js"
import type { Observation } from "./Observation.js"
import { PageStateStore } from "./PageState.js"
import type { PlanBudget, Policy as PolicyService } from "./Policy.js"
import { Policy } from "./Policy.js"
import type { TargetId } from "./Target.js"
import { tierTable } from "./Topology.js"

/**
 * Builds the test policy.
 *
 * @since 0.1.0
 */
export const make = (): PolicyService => {
  const store = new PageStateStore((n) => new Uint8Array(n))

  /** Marks accessed pages with 1 + node. O(words + accessed pages). */
  const observe = (obs: Observation) =>
    Effect.sync(() => {
      if (obs._tag !== "AccessedBits") return
      const chunk = obs.chunk
      const data = store.forChunk(chunk).data
      const base = chunk.start - chunk.mappingStart
      const words = chunk.accessed
      for (let w = 0; w < words.length; w++) {
        let bits = words[w]
        while (bits !== 0) {
          const low = bits & -bits
          const i = (w << 5) + 31 - Math.clz32(low)
          const nd = chunk.node[i]
          if (nd >= 0 && nd < 255) data[base + i] = nd + 1
          bits ^= low
        }
      }
    })

  /** Picks marked slow-tier pages, target by target, up to the budget. O(state). */
  const plan = (budget: PlanBudget) =>
    Effect.sync(() => {
      const tierOf = tierTable(budget.topology)
      const top = Math.min(...budget.topology.nodes.map((n) => n.tier))
      const plans: Array<MigrationPlan> = []
      let left = budget.maxPages
      for (const id of [...store.targetIds()]) {
        if (left <= 0) break
        const dest = budget.destinations(id)[0]
        if (dest === undefined) continue
        const pages = new Float64Array(left)
        let count = 0
        for (const region of store.regionsOf(id)) {
          const data = region.data
          for (let i = 0; i < data.length && count < left; i++) {
            const mark = data[i]
            if (mark === 0) continue
            data[i] = 0
            if (tierOf[mark - 1] !== top) pages[count++] = region.start + i
          }
        }
        if (count > 0) {
          plans.push({ target: id, destination: dest, pages, count, direction: "promote" })
          left -= count
        }
      }
      return plans
    })

  return {
    name: "test",
    accepts: ["accessed-bit"],
    observe,
    plan,
    feedback: () => Effect.void,
    forget: (target: TargetId) => Effect.sync(() => store.forget(target)),
    stateBytes: Effect.sync(() => store.byteLength)
  }
}

/**
 * A layer providing the test policy as `Policy`.
 *
 * @since 0.1.0
 */
export const layerTest: Layer.Layer<Policy> = Layer.sync(Policy, make)
