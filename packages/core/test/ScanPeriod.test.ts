import { describe, expect, it } from "@effect/vitest"
import * as ScanPeriod from "../src/ScanPeriod.js"

const bounds = { min: 400, max: 5000, ignorePages: 100 }

describe("ScanPeriod.next", () => {
  it("leaves the period alone below 100 pages of change", () => {
    expect(ScanPeriod.next(2000, 1000, 1099, bounds)).toBe(2000)
    expect(ScanPeriod.next(2000, 1000, 901, bounds)).toBe(2000)
    expect(ScanPeriod.next(2000, 0, 0, bounds)).toBe(2000)
  })
  it("shrinks by 15 % when more is found, grows by 15 % when less", () => {
    expect(ScanPeriod.next(2000, 1000, 1500, bounds)).toBe(1700)
    expect(ScanPeriod.next(2000, 1500, 1000, bounds)).toBe(2300)
  })
  it("changes by a factor of 8 on a large swing", () => {
    expect(ScanPeriod.next(4000, 0, 500, bounds)).toBe(500)
    expect(ScanPeriod.next(4000, 100, 900, bounds)).toBe(500)
    expect(ScanPeriod.next(500, 900, 100, bounds)).toBe(4000)
  })
  it("clamps to [min, max]", () => {
    expect(ScanPeriod.next(2000, 0, 5000, bounds)).toBe(400)
    expect(ScanPeriod.next(2000, 5000, 0, bounds)).toBe(5000)
    expect(ScanPeriod.next(4900, 1500, 1000, bounds)).toBe(5000)
  })
})
