/**
 * One policy-quality run: core's daemon with a policy on the simulated machine, in
 * virtual time, with the default tunables; one sample per second of the simulator's
 * result interval (top-tier share, the oracle's share, migrations, ping-pong) and of
 * the daemon (completed sweeps of the task = scan periods).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Daemon from "@kmm/core/Daemon"
import * as Tunables from "@kmm/core/Tunables"
import * as VirtualTime from "@kmm/core/VirtualTime"
import * as SimBackend from "@kmm/backend-sim/SimBackend"
import type * as Policies from "./Policies.js"
import type * as Workloads from "./Workloads.js"

/** One second of a run. */
export interface Second {
  /** End of the interval, s. */
  readonly t: number
  readonly share: number
  readonly oracle: number
  /** share / oracle (0 when the oracle's share is 0). */
  readonly ratio: number
  /** Sweeps of the task completed by the end of the interval. */
  readonly sweeps: number
  readonly promoted: number
  readonly demoted: number
  readonly pingPong: number
  /** Top-tier pages used / capacity at the end of the interval. */
  readonly topUsed: number
}

/** A whole run. */
export interface Run {
  readonly policy: string
  readonly workload: string
  readonly seed: number
  readonly seconds: ReadonlyArray<Second>
  readonly promoted: number
  readonly demoted: number
  readonly pingPong: number
  readonly migrateFailed: number
  readonly samples: number
  readonly shareOfOracle: number
  readonly stateBytes: number
  readonly pages: number
  readonly wallMs: number
}

/** Runs one policy on one workload with one seed. */
export const run = async (policy: Policies.Entry, workload: Workloads.Workload, seed: number, durationMs = workload.durationMs): Promise<Run> => {
  const sim = SimBackend.layer(workload.config(seed))
  const stack = Layer.mergeAll(Layer.provideMerge(policy.layer(), sim), Tunables.layer())
  const seconds = Math.floor(durationMs / 1000)
  const program = Effect.gen(function* () {
    const s = yield* SimBackend.Sim
    const daemon = yield* Daemon.make()
    const sweeps: Array<number> = []
    for (let k = 0; k < seconds; k++) {
      yield* Effect.sleep("1 second")
      const targets = yield* daemon.targets
      sweeps.push(targets.reduce((n, t) => n + t.sweeps, 0))
    }
    const history = yield* s.history
    const summary = yield* s.summary
    const pages = (yield* daemon.targets).reduce((n, t) => n + t.pages, 0)
    return { history, summary, sweeps, stateBytes: yield* daemon.policyBytes, pages }
  }).pipe(Effect.scoped, Effect.provide(stack))
  const t0 = performance.now()
  const result = await VirtualTime.make().run(program)
  const wallMs = performance.now() - t0
  if (!Exit.isSuccess(result.exit)) throw new Error(`${policy.name} on ${workload.name} (seed ${seed}) failed: ${String(result.exit)}`)
  const { history, summary, sweeps, stateBytes, pages } = result.exit.value
  const out: Array<Second> = []
  for (let k = 0; k < Math.min(history.length, sweeps.length); k++) {
    const h = history[k]
    const top = h.occupancy.filter((o) => o.tier === Math.min(...h.occupancy.map((x) => x.tier)))
    const used = top.reduce((n, o) => n + o.usedPages, 0)
    const cap = top.reduce((n, o) => n + o.capacityPages, 0)
    out.push({
      t: k + 1,
      share: h.topTierShare,
      oracle: h.oracleShare,
      ratio: h.oracleShare > 0 ? h.topTierShare / h.oracleShare : 0,
      sweeps: sweeps[k],
      promoted: h.promoted,
      demoted: h.demoted,
      pingPong: h.pingPong,
      topUsed: cap > 0 ? used / cap : 0
    })
  }
  return {
    policy: policy.name,
    workload: workload.name,
    seed,
    seconds: out,
    promoted: summary.promoted,
    demoted: summary.demoted,
    pingPong: summary.pingPong,
    migrateFailed: summary.migrateFailed,
    samples: summary.samples,
    shareOfOracle: summary.shareOfOracle,
    stateBytes,
    pages,
    wallMs
  }
}

/** When a run first reached `target` x the oracle's share at or after second `from`. */
export interface Reached {
  /** Seconds after `from`. */
  readonly seconds: number
  /** Sweeps (scan periods) after `from`. */
  readonly sweeps: number
  /** Lowest ratio from then to the end (does it hold?). */
  readonly lowestAfter: number
}

/** First interval (ending after `fromS`) whose ratio reached `target`. */
export const reached = (run: Run, target: number, fromS = 0): Reached | undefined => {
  const base = fromS === 0 ? 0 : (run.seconds.find((s) => s.t === fromS)?.sweeps ?? 0)
  const k = run.seconds.findIndex((s) => s.t > fromS && s.ratio >= target)
  if (k < 0) return undefined
  let lowest = Infinity
  for (let j = k; j < run.seconds.length; j++) lowest = Math.min(lowest, run.seconds[j].ratio)
  return { seconds: run.seconds[k].t - fromS, sweeps: run.seconds[k].sweeps - base, lowestAfter: lowest }
}

/** Mean ratio over the last `n` seconds. */
export const steady = (run: Run, n = 20): number => {
  const tail = run.seconds.slice(-n)
  return tail.reduce((s, x) => s + x.ratio, 0) / Math.max(1, tail.length)
}

/** Pages migrated (promoted + demoted) in the last `n` seconds. */
export const lateMigrations = (run: Run, n = 30): number =>
  run.seconds.slice(-n).reduce((s, x) => s + x.promoted + x.demoted, 0)

/** Ping-pong as a share of all migrations. */
export const pingPongShare = (run: Run): number => (run.promoted + run.demoted > 0 ? run.pingPong / (run.promoted + run.demoted) : 0)

/** The median of numbers (NaN for none; undefined values count as +Infinity). */
export const median = (xs: ReadonlyArray<number | undefined>): number => {
  if (xs.length === 0) return NaN
  const s = xs.map((x) => (x === undefined ? Infinity : x)).sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
