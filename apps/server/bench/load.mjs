/**
 * A bounded load run on loopback: the server (bench/serve.mjs, the default simulated
 * stack in real time) in a child process, autocannon in this one.
 *
 * Two scenarios, each its own server: "steady" (scan period held at 1 s: the daemon
 * asks for a fixed 2.1M pages/s) and "flat out" (period 10 ms: the scanner never
 * waits for a period, so its rate is what the CPU allows). Per run: the daemon's scan
 * rate with no load, then autocannon on /api/status and /metrics, as fast as they
 * answer and at 100 req/s, each for a fixed time, with the scan rate over the same
 * time (from the daemon's own counters, read before and after). Prints every run and
 * the medians as Markdown. Build first (`npm run build`).
 *
 *   node bench/load.mjs [--runs 3] [--seconds 10] [--connections 10] [--warmup 40]
 */
import autocannon from "autocannon"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const runs = arg("runs", 3)
const seconds = arg("seconds", 10)
const connections = arg("connections", 10)
// Past the default preset's hot-set shift at 30 s, so the runs see a settled placement.
const warmupMs = arg("warmup", 40) * 1000

if (!fs.existsSync(path.join(here, "../dist/index.js"))) throw new Error("build first: npm run build in apps/server")

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** CPU seconds (user + system) of a process, from /proc. */
const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The daemon's counters, from /metrics. */
const counters = async (url) => {
  const text = await (await fetch(`${url}/metrics`)).text()
  const read = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1])
  return { scanned: read("kmm_pages_scanned_total"), passes: read("kmm_scan_passes_total"), at: performance.now() }
}

/** Runs `during` while measuring the scan rate and the server's CPU. */
const measure = async (url, pid, during) => {
  const before = await counters(url)
  const cpu0 = cpuSeconds(pid)
  const result = await during()
  const after = await counters(url)
  const s = (after.at - before.at) / 1000
  return {
    scanPagesPerSec: (after.scanned - before.scanned) / s,
    passesPerSec: (after.passes - before.passes) / s,
    serverCpu: (cpuSeconds(pid) - cpu0) / s,
    result
  }
}

/** autocannon on one route: as fast as it answers, or at `rate` requests a second in all. */
const load = (url, route, rate) =>
  new Promise((resolve, reject) =>
    autocannon({ url: `${url}${route}`, connections, duration: seconds, ...(rate ? { overallRate: rate } : {}) }, (err, r) => (err ? reject(err) : resolve(r)))
  )

/** The phases of a run, after the one with no load. */
const phases = [
  { name: "GET /api/status, as fast as it answers", route: "/api/status" },
  { name: "GET /metrics, as fast as it answers", route: "/metrics" },
  { name: "GET /metrics at 100 req/s", route: "/metrics", rate: 100 },
  { name: "GET /api/status at 100 req/s", route: "/api/status", rate: 100 }
]

/** One scenario: its own server, a warm-up, then the runs. */
const scenario = async (periodMs) => {
  const child = spawn(process.execPath, [path.join(here, "serve.mjs"), String(periodMs)], { stdio: ["ignore", "pipe", "inherit"] })
  const url = await new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").once("data", (line) => resolve(line.trim()))
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)))
  })
  const idle = []
  const results = phases.map(() => [])
  try {
    await sleep(warmupMs)
    for (let run = 1; run <= runs; run++) {
      const quiet = await measure(url, child.pid, () => sleep(seconds * 1000))
      idle.push(quiet)
      process.stderr.write(`period ${periodMs} ms, run ${run}: no load: scan ${(quiet.scanPagesPerSec / 1e6).toFixed(2)}M pages/s, server CPU ${(quiet.serverCpu * 100).toFixed(0)} %\n`)
      for (const [i, phase] of phases.entries()) {
        const m = await measure(url, child.pid, () => load(url, phase.route, phase.rate))
        const r = { rps: m.result.requests.average, p99: m.result.latency.p99, errors: m.result.errors + m.result.non2xx, scan: m.scanPagesPerSec, cpu: m.serverCpu }
        results[i].push(r)
        process.stderr.write(`period ${periodMs} ms, run ${run}: ${phase.name}: ${JSON.stringify(r)}\n`)
      }
    }
  } finally {
    child.kill("SIGTERM")
  }
  return { idle, results }
}

const scenarios = [
  { name: "Steady: scan period held at 1 s (2.1M pages/s asked)", periodMs: 1000 },
  { name: "Flat out: scan period 10 ms (the scanner never waits for a period)", periodMs: 10 }
]
const measured = []
for (const s of scenarios) measured.push({ ...s, ...(await scenario(s.periodMs)) })

const M = (x) => `${(x / 1e6).toFixed(2)}M`
const pct = (x) => `${(x * 100).toFixed(0)} %`
const list = (xs, f) => xs.map(f).join(", ")
console.log(`Machine: ${os.cpus().length} x ${os.cpus()[0].model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()}`)
console.log(`Date: ${new Date().toISOString()}; ${runs} runs; ${seconds} s per phase; ${connections} connections; warm-up ${warmupMs / 1000} s`)
for (const { name, idle, results } of measured) {
  const idleScan = median(idle.map((q) => q.scanPagesPerSec))
  console.log(`\n### ${name}\n`)
  console.log("| load | req/s | p99 latency (ms) | daemon scan rate (pages/s) | of the rate with no load | server CPU | errors |")
  console.log("|---|---|---|---|---|---|---|")
  console.log(`| none | | | ${M(idleScan)} (${list(idle, (q) => M(q.scanPagesPerSec))}) | 100 % | ${pct(median(idle.map((q) => q.serverCpu)))} | |`)
  for (const [i, phase] of phases.entries()) {
    const rs = results[i]
    const scan = median(rs.map((r) => r.scan))
    console.log(
      `| ${phase.name} | ${median(rs.map((r) => r.rps)).toFixed(0)} (${list(rs, (r) => r.rps.toFixed(0))}) | ${median(rs.map((r) => r.p99)).toFixed(0)} (${list(rs, (r) => r.p99.toFixed(0))}) | ${M(scan)} (${list(rs, (r) => M(r.scan))}) | ${pct(scan / idleScan)} | ${pct(median(rs.map((r) => r.cpu)))} | ${rs.reduce((a, r) => a + r.errors, 0)} |`
    )
  }
}
console.log("\nMedians of the runs, each run's figure in brackets. Server CPU: of one core (user + system, from /proc).")
