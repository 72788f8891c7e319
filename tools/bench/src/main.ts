/**
 * The policy-quality benchmark: every policy on every workload of the simulated
 * machine (several seeds), then the policy-update microbenchmark; writes
 * RESULTS-policies.md (and the raw figures to bench-out/policies.json).
 *
 * Environment: KMM_BENCH_RUNS (seeds per pair, default 3), KMM_BENCH_PAGES (pages of
 * the microbenchmark, default 16M), KMM_BENCH_SWEEPS (timed sweeps, default 5),
 * KMM_BENCH_WORKLOADS / KMM_BENCH_POLICIES (comma-separated subsets),
 * KMM_BENCH_OUT (report path, default RESULTS-policies.md next to package.json).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Policies from "./Policies.js"
import * as Quality from "./Quality.js"
import * as Report from "./Report.js"
import * as Throughput from "./Throughput.js"
import * as Workloads from "./Workloads.js"

const env = process.env
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const runs = Number(env.KMM_BENCH_RUNS ?? 3)
const pages = Number(env.KMM_BENCH_PAGES ?? 1 << 24)
const sweeps = Number(env.KMM_BENCH_SWEEPS ?? 5)
const pick = <A extends { readonly name: string }>(all: ReadonlyArray<A>, list: string | undefined): ReadonlyArray<A> =>
  list === undefined || list === "" ? all : all.filter((x) => list.split(",").includes(x.name))
const workloads = pick(Workloads.all, env.KMM_BENCH_WORKLOADS)
const policies = pick(Policies.all, env.KMM_BENCH_POLICIES)
const seeds = Array.from({ length: runs }, (_, k) => k + 1)

const log = (s: string) => process.stderr.write(s + "\n")

const figures: Array<Report.Figures> = []
const raw: Array<Quality.Run> = []
for (const w of workloads) {
  for (const p of policies) {
    const done: Array<Quality.Run> = []
    for (const seed of seeds) {
      const r = await Quality.run(p, w, seed)
      done.push(r)
      raw.push(r)
      log(`${w.name} ${p.name} seed ${seed}: last-20-s ratio ${(Quality.steady(r) * 100).toFixed(1)} %, ${(r.wallMs / 1000).toFixed(1)} s`)
    }
    figures.push(Report.figures(done, w))
  }
}

log(`throughput at ${pages} pages, ${sweeps} sweeps each...`)
const throughput = Throughput.run(pages, sweeps)
for (const m of throughput) log(`${m.name}: ${(m.pagesPerSec / 1e6).toFixed(0)}M pages/s, ${m.bytesPerPage.toFixed(4)} B/page`)

const cpus = os.cpus()
const machine = `${cpus.length} cores (${cpus[0]?.model ?? "unknown"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
const topTierPages = 4 * 2 ** 30 / 4096
const command = `KMM_BENCH_RUNS=${runs} npm run bench -w @kmm/bench`
const checks = Report.checks(figures, throughput, topTierPages)
let text = Report.markdown({
  date: new Date().toISOString().slice(0, 10),
  machine,
  runs,
  seeds,
  pages,
  workloads,
  policies: policies.map((p) => p.name),
  figures,
  throughput,
  checks,
  command,
  samplesPerScan: Workloads.SAMPLES_PER_SCAN
})
const notes = path.join(root, "notes-policies.md")
if (fs.existsSync(notes)) text += "\n" + fs.readFileSync(notes, "utf8")
const out = env.KMM_BENCH_OUT ?? path.join(root, "RESULTS-policies.md")
fs.writeFileSync(out, text)
fs.mkdirSync(path.join(root, "bench-out"), { recursive: true })
fs.writeFileSync(path.join(root, "bench-out", "policies.json"), JSON.stringify({ figures, throughput, checks, raw }, null, 1))
log(`wrote ${out}`)
for (const c of checks) log(`${c.met ? "met    " : "NOT MET"} ${c.target}: ${c.measured}`)
