import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import * as Plugin from "@kmm/core/Plugin"
import { Policy } from "@kmm/core/Policy"
import * as Index from "../src/index.js"
import { descriptors, Static } from "../src/index.js"
import { budget } from "./helpers.js"

describe("descriptors", () => {
  it("one per baseline, each validating its options", () => {
    expect(descriptors.map((d) => d.name)).toEqual(["static", "numa-balancing", "oracle"])
    const bad: Record<string, unknown> = { static: null, "numa-balancing": { hotThresholdMs: -1 }, oracle: { headroom: 2 } }
    for (const d of descriptors) {
      const decode = Schema.decodeUnknownEither(d.configSchema as Schema.Schema<unknown, unknown>)
      expect(d.kind).toBe("policy")
      expect(d.coreRange).toBe("^0.1.0")
      expect(Either.isRight(decode({}))).toBe(true)
      expect(Either.isLeft(decode(bad[d.name]))).toBe(true)
      expect(Either.isRight(Plugin.validate("@kmm/policy-baselines", Index, "policy", d.name))).toBe(true)
    }
  })

  it.effect("static accepts nothing, plans nothing, holds nothing", () =>
    Effect.gen(function* () {
      const p = yield* Policy.pipe(Effect.provide(Static.layer()))
      expect(p.accepts).toEqual([])
      expect(yield* p.plan(budget())).toEqual([])
      expect(yield* p.stateBytes).toBe(0)
    })
  )
})
