import { Either } from "effect"
import { describe, expect, it } from "vitest"
import * as Chart from "../src/bench/Chart.js"
import * as Figures from "../src/bench/Figures.js"
import * as Report from "../src/bench/Report.js"
import * as Duration from "../src/Duration.js"
import * as LiveView from "../src/LiveView.js"
import type * as Monitor from "../src/Monitor.js"

describe("Duration", () => {
  it("parses durations and speeds as written on the command line", () => {
    expect(Duration.parse("30s")).toEqual(Either.right(30_000))
    expect(Duration.parse("5m")).toEqual(Either.right(300_000))
    expect(Duration.parse("1h30m")).toEqual(Either.right(5_400_000))
    expect(Duration.parse("250ms")).toEqual(Either.right(250))
    expect(Duration.parse("90")).toEqual(Either.right(90_000))
    for (const bad of ["", "s", "5x", "1h 30m", "-3s", "0s"]) expect(Either.isLeft(Duration.parse(bad))).toBe(true)
    expect(Duration.format(5_400_000)).toBe("1h30m")
    expect(Duration.format(60_000)).toBe("1m")
    expect(Duration.format(2_292)).toBe("2.292s")
    expect(Duration.parseSpeed("10x")).toEqual(Either.right(10))
    expect(Duration.parseSpeed("max")).toEqual(Either.right(Infinity))
    expect(Either.isLeft(Duration.parseSpeed("0"))).toBe(true)
  })
})

const point = (t: number, share: number, oracle: number, scans: number): Figures.Point => ({ t, share, oracle, scans, promoted: 0, demoted: 0, pingPong: 0 })

describe("Figures", () => {
  const series = [point(1, 0, 1, 0), point(2, 0.5, 1, 1), point(3, 0.95, 1, 3), point(4, 0.8, 1, 4), point(5, 1, 0, 5)]
  it("converges at the first second at 90% of the oracle, counted in scans", () => {
    expect(Figures.converged(series)?.t).toBe(3)
    expect(Figures.converged(series, 0.99)).toBeUndefined()
    const f = Figures.compute(series, {
      topTierShare: 0.6,
      oracleShare: 0.8,
      shareOfOracle: 0.75,
      promoted: 30,
      demoted: 10,
      pingPong: 4,
      migrateFailed: 0,
      pagesScanned: 100,
      meanLatencyNs: 120,
      oracleLatencyNs: 90
    })
    expect(f).toMatchObject({ scansToConverge: 3, secondsToConverge: 3, holdsAfterConverged: 0.8, migrations: 40, pingPongShare: 0.1, ratio: 0.75 })
  })
  it("a recovery after a change counts scans and seconds from the change", () => {
    const shifted = [point(1, 0.99, 1, 1), point(2, 0.99, 1, 2), point(3, 0.2, 1, 3), point(4, 0.5, 1, 5), point(5, 0.93, 1, 6)]
    expect(Figures.recovery(shifted, { atMs: 2000, detail: "shift" })).toEqual({ atMs: 2000, detail: "shift", scansToRecover: 4, secondsToRecover: 3, lowestShare: 0.2 })
    expect(Figures.recovery(shifted.slice(0, 4), { atMs: 2000, detail: "shift" })).toMatchObject({ scansToRecover: null, lowestShare: 0.2 })
  })
  it("the steady ratio skips seconds without an oracle share", () => {
    expect(Figures.steady(series, 3)).toBeCloseTo((0.95 + 0.8) / 2)
    expect(Figures.steady([])).toBeNaN()
  })
})

describe("Report and Chart", () => {
  const cell = (policy: string): Parameters<typeof Report.resultsCsv>[0][number] => ({
    ...Figures.compute([point(1, 0.9, 1, 2)], {
      topTierShare: 0.9,
      oracleShare: 1,
      shareOfOracle: 0.9,
      promoted: 1,
      demoted: 0,
      pingPong: 0,
      migrateFailed: 0,
      pagesScanned: 1,
      meanLatencyNs: 100,
      oracleLatencyNs: 90
    }),
    policy,
    workload: "small",
    seed: 1,
    durationMs: 1000,
    policyStateBytes: 0,
    recoveries: [],
    wallMs: 1,
    series: [point(1, 0.9, 1, 2), point(2, NaN, 1, 2)]
  })
  it("CSV quotes what needs quoting and leaves missing numbers empty", () => {
    const csv = Report.resultsCsv([cell('@acme/kmm-policy-"x",y')]).split("\n")
    expect(csv[1].startsWith('small,"@acme/kmm-policy-""x"",y",1,1000,0.9,1,0.9,')).toBe(true)
    expect(Report.seriesCsv([cell("p")]).split("\n")[2]).toBe("small,p,2,,1,,2,0,0,0")
  })
  it("the chart has a line per policy and the oracle's, with a legend", () => {
    const svg = Chart.svg("t", "s", [
      { name: "a", points: cell("a").series },
      { name: "b<c", points: cell("b").series }
    ])
    expect(svg.match(/<path d="M/g)).toHaveLength(3)
    expect(svg).toContain("<title>b&lt;c</title>")
    expect(svg).toContain('stroke-dasharray="6 4"')
    expect(svg).toContain(">100%<")
  })
})

describe("LiveView.render", () => {
  const header = {
    type: "start" as const,
    stack: { backend: { name: "sim", ref: "sim", source: "builtin" as const, options: {} }, policy: { name: "hotness", ref: "hotness", source: "builtin" as const, options: {} }, tunables: {} as never, origins: {} },
    clock: "virtual" as const,
    durationMs: 60_000,
    speed: 10
  }
  const sample: Monitor.Sample = {
    type: "sample",
    t: 3,
    intervalMs: 1000,
    pageSize: 4096,
    nodes: [
      { id: 0, label: "DRAM", tier: 0, capacityPages: 1 << 20, usedPages: 1 << 18, freePages: 3 << 18 },
      { id: 1, label: "CXL", tier: 1, capacityPages: 3 << 20, usedPages: 1 << 21, freePages: 1 << 20 }
    ],
    promotedPerSec: 18_500,
    demotedPerSec: 0,
    scannedPerSec: 3_930_000,
    migrateFailedPerSec: 0,
    totals: { promoted: 275_000, demoted: 0, scanned: 8_000_000, migrateFailed: 0 },
    topTierShare: 0.5,
    oracleShare: 1,
    events: ["phase 1: hot set moved"]
  }
  it("shows per node used and free, the rates, and the share next to the oracle's", () => {
    const frame = LiveView.render(header, sample, [0, 0.5, 1])
    expect(frame).toContain("t = 3.0s / 1m")
    expect(frame).toMatch(/0 +DRAM +0 +1\.0 GiB +3\.0 GiB .* 25\.0%/)
    expect(frame).toMatch(/1 +CXL +1 +8\.0 GiB +4\.0 GiB .* 66\.7%/)
    expect(frame).toContain("promotions   18.5k/s")
    expect(frame).toContain("scanned   3.93M pages/s")
    expect(frame).toContain("top-tier share  50.0%")
    expect(frame).toContain("(50.0% of the oracle)")
    expect(frame).toContain("share history  ▁▅█")
    expect(frame).toContain("phase 1: hot set moved")
  })
  it("leaves the shares out on a backend without an oracle", () => {
    const { topTierShare: _t, oracleShare: _o, events: _e, ...plain } = sample
    expect(LiveView.render({ ...header, clock: "wall", durationMs: null }, plain, [])).not.toContain("oracle")
  })
})
