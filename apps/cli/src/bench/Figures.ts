/**
 * The figures of one bench cell (a policy on a workload), from its per-second series
 * and the simulator's summary. Pure functions, so any runner (this CLI, a CI job, the
 * server) computes them the same way.
 *
 * - topTierShare, oracleShare: of all accesses over the run, the share the top tier
 *   served, under the policy and under the oracle's placement; ratio = their quotient.
 * - steadyRatio: the mean per-second ratio over the last 20 s (or the whole run if shorter).
 * - converged: the first second whose ratio reached `CONVERGED` (90 % of the oracle),
 *   in seconds and in scans (completed sweeps of the address spaces) from the start.
 * - holdsAfterConverged: the lowest per-second ratio from convergence to the end (does it hold?).
 * - recoveries: after each workload change (a hot-set shift), the scans and seconds
 *   until a second is back at CONVERGED of the oracle.
 * - migrations: pages promoted + demoted; pingPong: pages moved back towards the tier
 *   they last left within the simulator's window, and its share of the migrations.
 */

/** Share of the oracle's share that counts as converged (the simulator's recovery mark). */
export const CONVERGED = 0.9

/** Seconds at the end of a run over which the steady ratio is averaged. */
export const STEADY_SECONDS = 20

/** One second of a cell's run. */
export interface Point {
  /** End of the interval, s. */
  readonly t: number
  readonly share: number
  readonly oracle: number
  /** Completed sweeps of every target so far. */
  readonly scans: number
  readonly promoted: number
  readonly demoted: number
  readonly pingPong: number
}

/** The simulator's totals the figures use. */
export interface Totals {
  readonly topTierShare: number
  readonly oracleShare: number
  readonly shareOfOracle: number
  readonly promoted: number
  readonly demoted: number
  readonly pingPong: number
  readonly migrateFailed: number
  readonly pagesScanned: number
  readonly meanLatencyNs: number
  readonly oracleLatencyNs: number
}

/** A cell's figures. */
export interface Figures {
  readonly topTierShare: number
  readonly oracleShare: number
  readonly ratio: number
  readonly steadyRatio: number
  /** Scans (sweeps) until the ratio first reached CONVERGED; null if it never did. */
  readonly scansToConverge: number | null
  readonly secondsToConverge: number | null
  /** Lowest ratio from convergence to the end (null if it never converged). */
  readonly holdsAfterConverged: number | null
  readonly migrations: number
  readonly promoted: number
  readonly demoted: number
  readonly pingPong: number
  readonly pingPongShare: number
  readonly migrateFailed: number
  readonly pagesScanned: number
  readonly meanLatencyNs: number
  readonly oracleLatencyNs: number
}

/** The ratio of a second (NaN when the oracle's share is 0). */
export const ratioOf = (p: Point): number => (p.oracle > 0 ? p.share / p.oracle : NaN)

/** First second at or above `target` x the oracle's share. O(n). */
export const converged = (series: ReadonlyArray<Point>, target = CONVERGED): Point | undefined => series.find((p) => ratioOf(p) >= target)

/** Mean ratio over the last `seconds` of the series (NaN for none). O(n). */
export const steady = (series: ReadonlyArray<Point>, seconds = STEADY_SECONDS): number => {
  const tail = series.slice(-seconds).map(ratioOf).filter(Number.isFinite)
  return tail.length === 0 ? NaN : tail.reduce((s, x) => s + x, 0) / tail.length
}

/** How a run came back after a workload change. */
export interface Recovery {
  /** When the change happened, ms. */
  readonly atMs: number
  readonly detail: string
  /** Scans and seconds from the change until a second reached CONVERGED of the oracle (null: not by the end). */
  readonly scansToRecover: number | null
  readonly secondsToRecover: number | null
  /** Lowest share after the change (until recovery). */
  readonly lowestShare: number
}

/** Recovery after a change at `atMs`, from the series. O(n). */
export const recovery = (series: ReadonlyArray<Point>, change: { readonly atMs: number; readonly detail: string }, target = CONVERGED): Recovery => {
  const atS = change.atMs / 1000
  const base = [...series].reverse().find((p) => p.t <= atS)?.scans ?? 0
  let lowest = Infinity
  for (const p of series) {
    if (p.t <= atS) continue
    lowest = Math.min(lowest, p.share)
    if (ratioOf(p) >= target) return { ...change, scansToRecover: p.scans - base, secondsToRecover: p.t - atS, lowestShare: lowest }
  }
  return { ...change, scansToRecover: null, secondsToRecover: null, lowestShare: Number.isFinite(lowest) ? lowest : NaN }
}

/** Every figure of a cell. */
export const compute = (series: ReadonlyArray<Point>, totals: Totals): Figures => {
  const c = converged(series)
  const migrations = totals.promoted + totals.demoted
  const after = c === undefined ? [] : series.filter((p) => p.t >= c.t).map(ratioOf).filter(Number.isFinite)
  return {
    topTierShare: totals.topTierShare,
    oracleShare: totals.oracleShare,
    ratio: totals.shareOfOracle,
    steadyRatio: steady(series),
    scansToConverge: c === undefined ? null : c.scans,
    secondsToConverge: c === undefined ? null : c.t,
    holdsAfterConverged: after.length === 0 ? null : Math.min(...after),
    migrations,
    promoted: totals.promoted,
    demoted: totals.demoted,
    pingPong: totals.pingPong,
    pingPongShare: migrations > 0 ? totals.pingPong / migrations : 0,
    migrateFailed: totals.migrateFailed,
    pagesScanned: totals.pagesScanned,
    meanLatencyNs: totals.meanLatencyNs,
    oracleLatencyNs: totals.oracleLatencyNs
  }
}
