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
import type { Region } from "./PageState.js"
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
  /** Ranges marked since the last plan, per target: [region, from, to). */
  const dirty = new Map<TargetId, Array<[Region<Uint8Array>, number, number]>>()

  /** Marks accessed pages with 1 + node. O(words + accessed pages). */
  const observe = (obs: Observation) =>
    Effect.sync(() => {
      if (obs._tag !== "AccessedBits") return
      const chunk = obs.chunk
      const region = store.forChunk(chunk)
      const data = region.data
      const base = chunk.start - chunk.mappingStart
      let ranges = dirty.get(chunk.target)
      if (ranges === undefined) dirty.set(chunk.target, (ranges = []))
      ranges.push([region, base, base + chunk.length])
      const words = chunk.accessed
      const node = chunk.node
      for (let w = 0; w < words.length; w++) {
        let bits = words[w]
        while (bits !== 0) {
          const low = bits & -bits
          const i = (w << 5) + 31 - Math.clz32(low)
          const nd = node[i]
          if (nd >= 0 && nd < 255) data[base + i] = nd + 1
          bits ^= low
        }
      }
    })

  /** Picks marked slow-tier pages, target by target, up to the budget. O(pages observed since the last plan). */
  const plan = (budget: PlanBudget) =>
    Effect.sync(() => {
      const tierOf = tierTable(budget.topology)
      const top = Math.min(...budget.topology.nodes.map((n) => n.tier))
      const plans: Array<MigrationPlan> = []
      let left = budget.maxPages
      for (const [id, ranges] of [...dirty]) {
        if (left <= 0) break
        const dest = budget.destinations(id)[0]
        if (dest === undefined) continue
        let pages: Float64Array = new Float64Array(Math.min(left, 4096))
        let count = 0
        while (ranges.length > 0 && count < left) {
          const range = ranges[ranges.length - 1]
          const [region, from, to] = range
          const data = region.data
          let i = from
          for (; i < to && count < left; i++) {
            const mark = data[i]
            if (mark === 0) continue
            data[i] = 0
            if (tierOf[mark - 1] === top) continue
            if (count === pages.length) pages = growTo(pages, Math.min(left, pages.length * 2))
            pages[count++] = region.start + i
          }
          if (i < to) range[1] = i
          else ranges.pop()
        }
        if (ranges.length === 0) dirty.delete(id)
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
    forget: (target: TargetId) =>
      Effect.sync(() => {
        store.forget(target)
        dirty.delete(target)
      }),
    stateBytes: Effect.sync(() => store.byteLength)
  }
}

const growTo = (a: Float64Array, size: number): Float64Array => {
  const next = new Float64Array(size)
  next.set(a)
  return next
}

/**
 * A layer providing the test policy as `Policy`.
 *
 * @since 0.1.0
 */
export const layerTest: Layer.Layer<Policy> = Layer.sync(Policy, make)
