/**
 * Turns runs into figures (medians over seeds), checks them against the issue's
 * targets, and writes the markdown report.
 */
import type { Measure } from "./Throughput.js"
import type { Run } from "./Quality.js"
import { lateMigrations, median, pingPongShare, reached, steady } from "./Quality.js"
import type { Workload } from "./Workloads.js"

/** Medians of one (policy, workload) over its runs. */
export interface Figures {
  readonly policy: string
  readonly workload: string
  readonly runs: number
  /** Scan periods (sweeps) and seconds to reach 90 % / 95 % of the oracle (Infinity: never). */
  readonly sweeps90: number
  readonly seconds90: number
  readonly sweeps95: number
  readonly seconds95: number
  /** Lowest ratio after first reaching 95 % (and 90 %). */
  readonly holds95: number
  readonly holds90: number
  /** Mean ratio over the last 20 s. */
  readonly steady: number
  /** After the shift: sweeps and seconds back to 90 %. */
  readonly shiftSweeps90: number
  readonly shiftSeconds90: number
  readonly promoted: number
  readonly demoted: number
  readonly pingPong: number
  /** Pages migrated in the last 30 s. */
  readonly late: number
  readonly bytesPerPage: number
  readonly wallMs: number
  /** Median ratio per second. */
  readonly series: ReadonlyArray<number>
}

/** Medians over runs of one policy on one workload. */
export const figures = (runs: ReadonlyArray<Run>, workload: Workload): Figures => {
  const m = (f: (r: Run) => number | undefined) => median(runs.map(f))
  const shiftS = workload.shiftAtMs === undefined ? undefined : workload.shiftAtMs / 1000
  const seconds = Math.max(...runs.map((r) => r.seconds.length))
  const series: Array<number> = []
  for (let k = 0; k < seconds; k++) series.push(median(runs.map((r) => r.seconds[k]?.ratio ?? NaN)))
  return {
    policy: runs[0].policy,
    workload: workload.name,
    runs: runs.length,
    sweeps90: m((r) => reached(r, 0.9)?.sweeps),
    seconds90: m((r) => reached(r, 0.9)?.seconds),
    sweeps95: m((r) => reached(r, 0.95)?.sweeps),
    seconds95: m((r) => reached(r, 0.95)?.seconds),
    holds95: m((r) => reached(r, 0.95)?.lowestAfter ?? 0),
    holds90: m((r) => reached(r, 0.9)?.lowestAfter ?? 0),
    steady: m((r) => steady(r)),
    shiftSweeps90: shiftS === undefined ? NaN : m((r) => reached(r, 0.9, shiftS)?.sweeps),
    shiftSeconds90: shiftS === undefined ? NaN : m((r) => reached(r, 0.9, shiftS)?.seconds),
    promoted: m((r) => r.promoted),
    demoted: m((r) => r.demoted),
    pingPong: m((r) => pingPongShare(r)),
    late: m((r) => lateMigrations(r)),
    bytesPerPage: m((r) => (r.pages > 0 ? r.stateBytes / r.pages : 0)),
    wallMs: m((r) => r.wallMs),
    series
  }
}

/** One target of the issue, checked. */
export interface Check {
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

const pct = (x: number, d = 1) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)} %` : "never")
const num = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : "never")

/** Checks the issue's targets on the figures. */
export const checks = (all: ReadonlyArray<Figures>, throughput: ReadonlyArray<Measure>, topTierPages: number): ReadonlyArray<Check> => {
  const f = (policy: string, workload: string) => all.find((x) => x.policy === policy && x.workload === workload)
  const out: Array<Check> = []
  const hg = f("hotness", "gups")
  const ag = f("abit", "gups")
  if (hg) {
    out.push({
      target: "GUPS: hotness reaches 95 % of the oracle within 10 scan periods and holds it",
      measured: `${num(hg.sweeps95)} scan periods (${num(hg.seconds95)} s); lowest after: ${pct(hg.holds95)}`,
      met: hg.sweeps95 <= 10 && hg.holds95 >= 0.95
    })
  }
  if (ag) {
    out.push({
      target: "GUPS: abit reaches 90 % of the oracle within 10 scan periods and holds it",
      measured: `${num(ag.sweeps90)} scan periods (${num(ag.seconds90)} s); lowest after: ${pct(ag.holds90)}`,
      met: ag.sweeps90 <= 10 && ag.holds90 >= 0.9
    })
  }
  const hs = f("hotness", "shift")
  if (hs) {
    out.push({
      target: "Shift: hotness back to 90 % of the oracle within 5 scan periods",
      measured: `${num(hs.shiftSweeps90)} scan periods (${num(hs.shiftSeconds90)} s)`,
      met: hs.shiftSweeps90 <= 5
    })
    out.push({ target: "Shift: ping-pong at most 5 % of migrations (hotness)", measured: pct(hs.pingPong, 2), met: hs.pingPong <= 0.05 })
  }
  const hz = f("hotness", "zipf")
  if (hz) out.push({ target: "Zipf(0.99), top tier 25 %: hotness at least 90 % of the oracle", measured: `${pct(hz.steady)} (last 20 s)`, met: hz.steady >= 0.9 })
  for (const p of ["hotness", "abit"]) {
    const u = f(p, "uniform")
    if (u) {
      out.push({
        target: `Uniform: no thrash, migrations stop once the top tier is full (${p})`,
        measured: `${num(u.late)} pages migrated in the last 30 s (${pct(u.late / topTierPages, 3)} of the top tier); ping-pong ${pct(u.pingPong, 2)}`,
        met: u.late <= 0.01 * topTierPages && u.pingPong <= 0.05
      })
    }
  }
  const nb = (w: string) => f("numa-balancing", w)
  for (const p of ["hotness", "abit"]) {
    const g = f(p, "gups")
    const s = f(p, "shift")
    if (g && nb("gups")) {
      const n = nb("gups")!
      out.push({
        target: `${p} converges faster than the NUMA-balancing model on GUPS (to 90 %)`,
        measured: `${num(g.sweeps90)} vs ${num(n.sweeps90)} scan periods (${num(g.seconds90)} vs ${num(n.seconds90)} s)`,
        met: g.seconds90 < n.seconds90 || (g.seconds90 === n.seconds90 && g.sweeps90 < n.sweeps90)
      })
    }
    if (s && nb("shift")) {
      const n = nb("shift")!
      out.push({
        target: `${p} recovers faster than the NUMA-balancing model after the shift (to 90 %)`,
        measured: `${num(s.shiftSweeps90)} vs ${num(n.shiftSweeps90)} scan periods (${num(s.shiftSeconds90)} vs ${num(n.shiftSeconds90)} s)`,
        met: s.shiftSeconds90 < n.shiftSeconds90 || (s.shiftSeconds90 === n.shiftSeconds90 && s.shiftSweeps90 < n.shiftSweeps90)
      })
    }
  }
  for (const m of throughput.filter((x) => x.name === "hotness" || x.name === "abit")) {
    // The per-page record is what the target bounds; per-mapping bookkeeping (a few hundred bytes) is reported with it.
    out.push({
      target: `State at most 1 byte per page (${m.name}, ${(m.pages / 2 ** 20).toFixed(0)}M pages)`,
      measured: `${m.bytesPerPage.toFixed(4)} bytes/page (${m.stateBytes} bytes in all)`,
      met: m.bytesPerPage <= 1 + 1024 / m.pages
    })
    out.push({
      target: `Policy update at least 100M pages/s (${m.name})`,
      measured: `${(m.pagesPerSec / 1e6).toFixed(0)}M pages/s`,
      met: m.pagesPerSec >= 100e6
    })
  }
  return out
}

/** The markdown report. */
export const markdown = (input: {
  readonly date: string
  readonly machine: string
  readonly runs: number
  readonly seeds: ReadonlyArray<number>
  readonly pages: number
  readonly workloads: ReadonlyArray<Workload>
  readonly policies: ReadonlyArray<string>
  readonly figures: ReadonlyArray<Figures>
  readonly throughput: ReadonlyArray<Measure>
  readonly checks: ReadonlyArray<Check>
  readonly command: string
  readonly samplesPerScan: number
}): string => {
  const lines: Array<string> = []
  const L = (s = "") => lines.push(s)
  L("# Policy benchmark results")
  L()
  L(`- Date: ${input.date}`)
  L(`- Machine: ${input.machine}`)
  L(`- Runs: ${input.runs} per (policy, workload), seeds ${input.seeds.join(", ")}; every figure is the median over the runs.`)
  L(`- What was run: \`${input.command}\` (tools/bench). Core's daemon with its default tunables on the simulated backend (\`@kmm/backend-sim\`), in virtual time; one sample per second of simulated time.`)
  L(`- Hint faults (sampled accesses, which the NUMA-balancing model uses) are on for every run, at most ${input.samplesPerScan} per scan call, so every policy runs on the same machine.`)
  L()
  L("A scan period is one complete sweep of the task's address space by the daemon (its period adapts between 400 ms and 5 s, as in kmmscand). The ratio is the task's top-tier access share over the oracle's share in the same second (the oracle: the simulator's best placement of the true rates, with every page where it should be at no cost).")
  L()
  L("## Targets")
  L()
  L("| target | measured (median) | met |")
  L("|---|---|---|")
  for (const c of input.checks) L(`| ${c.target} | ${c.measured} | ${c.met ? "yes" : "**no**"} |`)
  L()
  for (const w of input.workloads) {
    L(`## ${w.title}`)
    L()
    L(`Checks: ${w.checks}. ${w.durationMs / 1000} s of simulated time.`)
    L()
    const shift = w.shiftAtMs !== undefined
    L(
      `| policy | to 90 % (periods / s) | to 95 % (periods / s) | lowest after 95 % | last 20 s | ${shift ? "after the shift, to 90 % (periods / s) | " : ""}promoted | demoted | ping-pong | migrated in last 30 s | state B/page (of the task) | wall s |`
    )
    L(`|---|---|---|---|---|${shift ? "---|" : ""}---|---|---|---|---|---|`)
    for (const p of input.policies) {
      const f = input.figures.find((x) => x.policy === p && x.workload === w.name)
      if (!f) continue
      L(
        `| ${p} | ${num(f.sweeps90)} / ${num(f.seconds90)} | ${num(f.sweeps95)} / ${num(f.seconds95)} | ${Number.isFinite(f.sweeps95) ? pct(f.holds95) : "-"} | ${pct(f.steady)} | ${shift ? `${num(f.shiftSweeps90)} / ${num(f.shiftSeconds90)} | ` : ""}${num(f.promoted)} | ${num(f.demoted)} | ${pct(f.pingPong, 2)} | ${num(f.late)} | ${f.bytesPerPage.toFixed(3)} | ${(f.wallMs / 1000).toFixed(1)} |`
      )
    }
    L()
    const at = shift ? [1, 2, 3, 4, 5, 8, 10, 20, 30, 31, 32, 33, 34, 35, 40, 60] : [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 60]
    L("Ratio to the oracle over time (median; s):")
    L()
    L(`| policy | ${at.map((t) => `${t}`).join(" | ")} |`)
    L(`|---|${at.map(() => "---").join("|")}|`)
    for (const p of input.policies) {
      const f = input.figures.find((x) => x.policy === p && x.workload === w.name)
      if (!f) continue
      L(`| ${p} | ${at.map((t) => (f.series[t - 1] === undefined ? "-" : (f.series[t - 1] * 100).toFixed(0))).join(" | ")} |`)
    }
    L()
  }
  L(`## Policy update throughput and state (${(input.pages / 2 ** 20).toFixed(0)}M pages)`)
  L()
  L(
    "One mapping, chunks of 65536 pages, a quarter of the pages on the top tier, an eighth accessed plus 2 % of the rest; each policy applies full sweeps (after one warm-up sweep), and a bare typed-array loop doing the same update page by page runs in the same process, timed the same way. The plan is the one after a full sweep (budget: 262144 pages, one second at 1 GiB/s), so for hotness it reads every record of the sweep."
  )
  L()
  L("| what | pages/s (median) | bare loop, same update (pages/s) | ratio | plan after a sweep (ms) | state bytes/page |")
  L("|---|---|---|---|---|---|")
  for (const m of input.throughput) {
    const ratio = Number.isFinite(m.barePagesPerSec) ? (m.pagesPerSec / m.barePagesPerSec).toFixed(2) : "-"
    L(
      `| ${m.name} | ${(m.pagesPerSec / 1e6).toFixed(0)}M | ${Number.isFinite(m.barePagesPerSec) ? `${(m.barePagesPerSec / 1e6).toFixed(0)}M` : "-"} | ${ratio} | ${Number.isFinite(m.planMs) ? m.planMs.toFixed(1) : "-"} | ${m.bytesPerPage.toFixed(4)} |`
    )
  }
  L()
  return lines.join("\n")
}
