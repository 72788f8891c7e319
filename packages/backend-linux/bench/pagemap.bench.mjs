// The Linux backend against a real process: a child that touched a 2 GiB region of
// 4 KiB pages. Measures, each RUNS times (medians reported):
// - a full sweep of the child through the backend (pagemap read, decode into scan
//   chunks, node from the PFN's memory block), next to a C baseline that
//   preads the same pagemap ranges with the same chunk size in the same run;
// - the same sweep with PFN arrays in the chunks (reportPfn), and with nodes from
//   move_pages queries (nodeSource "auto" where the addon is);
// - move_pages queries alone, and moves to node 0 (on a one-node host the kernel finds
//   each page already there: the per-page walk, without a copy).
// Run: npm run bench -w @kmm/backend-linux (after a build; as root for PFNs).
// KMM_BENCH_MIB (2048) and KMM_BENCH_RUNS (7) change the size and the runs.
import { execFileSync, spawn } from "node:child_process"
import console from "node:console"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import process from "node:process"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import { targetId } from "@kmm/core/Target"
import * as LinuxBackend from "../dist/LinuxBackend.js"
import * as Maps from "../dist/Maps.js"
import * as MovePages from "../dist/MovePages.js"

const MIB = Number(process.env.KMM_BENCH_MIB ?? 2048)
const RUNS = Number(process.env.KMM_BENCH_RUNS ?? 7)
const CHUNK = 65536
const here = path.dirname(fileURLToPath(import.meta.url))
const out = path.join(here, "..", "bench-out")
fs.mkdirSync(out, { recursive: true })

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const mps = (pages, seconds) => pages / seconds / 1e6

// The C programs: the baseline and the test child.
execFileSync("cc", ["-O2", "-o", path.join(out, "pagemap_baseline"), path.join(here, "pagemap_baseline.c")])
execFileSync("cc", ["-O2", "-pthread", "-o", path.join(out, "toucher"), path.join(here, "..", "test", "fixtures", "toucher.c")])

const pageSize = 4096
const pages = (MIB * 1024 * 1024) / pageSize
const child = spawn(path.join(out, "toucher"), [String(pages), "all"], { stdio: ["pipe", "pipe", "inherit"] })
const ready = await new Promise((resolve, reject) => {
  child.stdout.setEncoding("utf8")
  child.stdout.once("data", (line) => resolve(line))
  child.once("error", reject)
})
const [, addrHex] = /^ready ([0-9a-f]+)/.exec(ready)
const start = Number(BigInt(`0x${addrHex}`) / 4096n)
const pid = child.pid

const run = (effect) => Effect.runPromise(Effect.scoped(effect))

/** One sweep of the child through the backend, in calls of `step` pages; returns pages, seconds, present. */
const sweep = (linux, step = 1 << 30) =>
  Effect.gen(function* () {
    const t0 = performance.now()
    let from = 0
    let scanned = 0
    let present = 0
    while (true) {
      const r = yield* linux.scan(targetId(pid), from, step)
      scanned += r.scanned
      for (const o of r.observations) if (o._tag === "AccessedBits") present += o.chunk.present
      if (r.next === null) break
      from = r.next
    }
    return { pages: scanned, seconds: (performance.now() - t0) / 1000, present }
  })

const results = await run(
  Effect.gen(function* () {
    const nodeSource = process.getuid?.() === 0 ? "pfn" : "auto"
    const byPfn = yield* LinuxBackend.make({ targets: { pids: [pid] }, nodeSource, chunkPages: CHUNK })
    const withPfns = yield* LinuxBackend.make({ targets: { pids: [pid] }, nodeSource, chunkPages: CHUNK, reportPfn: true })
    const byQuery = MovePages.status().available ? yield* LinuxBackend.make({ targets: { pids: [pid] }, nodeSource: "move-pages", chunkPages: CHUNK }) : undefined
    const areas = (yield* Maps.read(pid, 12, { hugetlbMounts: Maps.hugetlbMounts() })).filter((a) => a.skip === undefined)
    const rangeArgs = areas.map((a) => `${a.start}:${a.pages}`)
    const js = []
    const c = []
    const query = []
    const pfns = []
    const steps = []
    for (let r = 0; r < RUNS; r++) {
      js.push(yield* sweep(byPfn.linux))
      steps.push(yield* sweep(byPfn.linux, CHUNK))
      pfns.push(yield* sweep(withPfns.linux))
      const [line] = execFileSync(path.join(out, "pagemap_baseline"), [String(pid), "1", String(CHUNK), ...rangeArgs], { encoding: "utf8" }).trim().split("\n")
      const [p, s, present] = line.split(" ").map(Number)
      c.push({ pages: p, seconds: s, present })
      if (byQuery !== undefined) query.push(yield* sweep(byQuery.linux))
    }
    // move_pages alone over the region, in the backend's batches.
    const vpns = Float64Array.from({ length: pages }, (_, i) => start + i)
    const status = new Int32Array(pages)
    const q = []
    const m = []
    if (MovePages.status().available) {
      for (let r = 0; r < RUNS; r++) {
        let t0 = performance.now()
        yield* MovePages.query(pid, vpns, pages, status)
        q.push((performance.now() - t0) / 1000)
        t0 = performance.now()
        const outcome = yield* MovePages.move(pid, vpns, pages, 0)
        m.push((performance.now() - t0) / 1000)
        if (outcome.some((s) => s !== 0)) throw new Error("a page did not end on node 0")
      }
    }
    return { js, c, query, pfns, steps, q, m, areas: areas.length, nodeSource: byPfn.linux.nodeSource }
  })
)
child.kill("SIGKILL")

const jsRate = median(results.js.map((x) => mps(x.pages, x.seconds)))
const cRate = median(results.c.map((x) => mps(x.pages, x.seconds)))
const report = {
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`,
  date: new Date().toISOString().slice(0, 10),
  runs: RUNS,
  regionMiB: MIB,
  sweepPages: results.js[0].pages,
  mappings: results.areas,
  present: results.js[0].present,
  pagemapSweepMps: jsRate,
  cBaselineMps: cRate,
  ratio: jsRate / cRate,
  ratioPerRunMedian: median(results.js.map((x, i) => mps(x.pages, x.seconds) / mps(results.c[i].pages, results.c[i].seconds))),
  nodeSource: results.nodeSource,
  sweepInDaemonStepsMps: median(results.steps.map((x) => mps(x.pages, x.seconds))),
  sweepInDaemonStepsRatio: median(results.steps.map((x, i) => mps(x.pages, x.seconds) / mps(results.c[i].pages, results.c[i].seconds))),
  sweepWithPfnArraysMps: median(results.pfns.map((x) => mps(x.pages, x.seconds))),
  sweepWithQueryMps: results.query.length > 0 ? median(results.query.map((x) => mps(x.pages, x.seconds))) : null,
  movePagesQueryMps: results.q.length > 0 ? median(results.q.map((s) => pages / s / 1e6)) : null,
  movePagesMoveMps: results.m.length > 0 ? median(results.m.map((s) => pages / s / 1e6)) : null,
  loadavg: os.loadavg().map((x) => x.toFixed(2)).join(" ")
}
fs.writeFileSync(path.join(out, "pagemap.json"), JSON.stringify(report, null, 2))
console.log(`machine: ${report.machine}; ${report.date}; ${RUNS} runs; load ${report.loadavg}`)
console.log(`child: ${MIB} MiB touched, sweep of ${report.sweepPages} pages in ${report.mappings} mappings (${report.present} present)`)
console.log(`backend sweep (nodes: ${report.nodeSource}): ${jsRate.toFixed(1)} M pages/s (median)`)
console.log(`C pread baseline, same ranges:  ${cRate.toFixed(1)} M pages/s (median)`)
console.log(`ratio backend / C:              ${report.ratio.toFixed(3)} (median of per-run ratios ${report.ratioPerRunMedian.toFixed(3)}; target >= 0.9)`)
console.log(`backend sweep in 64 Ki-page calls (as the daemon scans): ${report.sweepInDaemonStepsMps.toFixed(1)} M pages/s (ratio ${report.sweepInDaemonStepsRatio.toFixed(3)})`)
console.log(`backend sweep with PFN arrays in the chunks (reportPfn): ${report.sweepWithPfnArraysMps.toFixed(1)} M pages/s`)
if (report.sweepWithQueryMps !== null) console.log(`backend sweep, node from move_pages query: ${report.sweepWithQueryMps.toFixed(2)} M pages/s`)
if (report.movePagesQueryMps !== null) console.log(`move_pages query alone:         ${report.movePagesQueryMps.toFixed(2)} M pages/s`)
if (report.movePagesMoveMps !== null) console.log(`move_pages to node 0 (already there): ${report.movePagesMoveMps.toFixed(2)} M pages/s`)
