import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import * as Workload from "../src/Workload.js"
import { bucketOf, bucketRange, powerSum } from "../src/internal/zipf.js"

const decode = Schema.decodeUnknownSync(Workload.Workload)
const sum = (a: Float64Array, f: (c: number) => number) => {
  let s = 0
  for (let c = 0; c < a.length; c++) s += f(c)
  return s
}

describe("classify", () => {
  it("uniform: one class, the task's rate spread evenly", () => {
    const heat = new Uint8Array(1000).fill(7)
    const c = Workload.classify(decode({ kind: "uniform", accessesPerSec: 5000 }), heat, { seed: 1 })
    expect(c.size).toBe(1)
    expect(heat.every((h) => h === 0)).toBe(true)
    expect(c.rates[0]).toBeCloseTo(5, 12)
  })

  it("hot set, contiguous: the hot run starts at the offset and wraps", () => {
    const heat = new Uint8Array(1000)
    const w = decode({ kind: "hotset", accessesPerSec: 1000, hotFraction: 0.2, hotAccessFraction: 0.9, offset: 0.9 })
    const c = Workload.classify(w, heat, { seed: 1 })
    expect(c.counts[1]).toBe(200)
    expect(c.counts[0]).toBe(800)
    // 900..999 then 0..99
    for (let i = 0; i < 1000; i++) expect(heat[i]).toBe(i >= 900 || i < 100 ? 1 : 0)
    expect(c.rates[1] * 200).toBeCloseTo(900, 9)
    expect(c.rates[0] * 800).toBeCloseTo(100, 9)
  })

  it("hot set, scattered: the same number of hot pages, spread out, moved by the offset", () => {
    const n = 10_000
    const a = new Uint8Array(n)
    const b = new Uint8Array(n)
    const w = { kind: "hotset", hotFraction: 0.1, layout: "scattered" } as const
    Workload.classify(decode(w), a, { seed: 3 })
    Workload.classify(decode({ ...w, offset: 0.5 }), b, { seed: 3 })
    const hotA = a.reduce((s, h) => s + h, 0)
    expect(hotA).toBe(1000)
    expect(b.reduce((s, h) => s + h, 0)).toBe(1000)
    // Spread: every tenth of the pages holds some hot pages.
    for (let k = 0; k < 10; k++) expect(a.subarray(k * 1000, (k + 1) * 1000).reduce((s, h) => s + h, 0)).toBeGreaterThan(50)
    // Shifted: the two hot sets do not overlap.
    let overlap = 0
    for (let i = 0; i < n; i++) overlap += a[i] & b[i]
    expect(overlap).toBe(0)
  })

  it("zipf: classes hold every page, rates fall with rank, and total the task's rate", () => {
    const n = 100_000
    const heat = new Uint8Array(n)
    const c = Workload.classify(decode({ kind: "zipf", accessesPerSec: 1e6, s: 1 }), heat, { seed: 9 })
    const counts = new Float64Array(256)
    for (const h of heat) counts[h]++
    expect(Array.from(counts)).toEqual(Array.from(c.counts))
    expect(sum(c.rates, (k) => c.rates[k] * c.counts[k])).toBeCloseTo(1e6, 3)
    let prev = Infinity
    for (let k = 0; k < c.size; k++) {
      if (c.counts[k] === 0) continue
      expect(c.rates[k]).toBeLessThan(prev)
      prev = c.rates[k]
    }
    // Rank 1 alone gets 1 / H(n) of the accesses.
    const h = powerSum(1, n, 1)
    expect(c.rates[bucketOf(1)] * c.counts[bucketOf(1)]).toBeCloseTo(1e6 / h, 3)
  })

  it("zipf without permutation puts rank 1 at page 0", () => {
    const heat = new Uint8Array(64)
    Workload.classify(decode({ kind: "zipf", permute: false }), heat, { seed: 1 })
    expect(heat[0]).toBe(bucketOf(1))
    expect(heat[63]).toBe(bucketOf(64))
  })

  it("trace: classes from per-page counts over the trace's span", () => {
    const heat = new Uint8Array(4)
    const c = Workload.classify(decode({ kind: "trace", text: "0 1 0 1" }), heat, {
      seed: 1,
      traceCounts: Uint32Array.from([0, 1, 6, 7]),
      traceSeconds: 2
    })
    expect(Array.from(heat)).toEqual([0, 1, 3, 3])
    expect(c.rates[0]).toBe(0)
    expect(c.rates[1]).toBeCloseTo(0.5, 12)
    expect(c.rates[3]).toBeCloseTo(3.25, 12)
  })
})

describe("zipf buckets", () => {
  it("cover every rank exactly once, in order", () => {
    const n = 5000
    let next = 1
    for (let c = 0; c <= bucketOf(n); c++) {
      const [lo, hi] = bucketRange(c, n)
      if (hi < lo) continue
      expect(lo).toBe(next)
      for (const k of [lo, hi]) expect(bucketOf(k)).toBe(c)
      next = hi + 1
    }
    expect(next).toBe(n + 1)
  })

  it("power sums match the exact sum on long ranges", () => {
    let exact = 0
    for (let k = 5000; k <= 90_000; k++) exact += Math.pow(k, -1.2)
    expect(powerSum(5000, 90_000, 1.2) / exact).toBeCloseTo(1, 8)
  })
})

describe("schema", () => {
  it("fills defaults and refuses bad values", () => {
    const w = decode({ kind: "hotset" })
    expect(w).toMatchObject({ hotFraction: 0.2, hotAccessFraction: 0.9, offset: 0, layout: "contiguous", writeFraction: 0 })
    expect(() => decode({ kind: "hotset", hotFraction: 1.5 })).toThrow()
    expect(() => decode({ kind: "zipf", s: -1 })).toThrow()
    expect(() => decode({ kind: "gups" })).toThrow()
    expect(Workload.describe(w)).toContain("hot set")
  })
})
