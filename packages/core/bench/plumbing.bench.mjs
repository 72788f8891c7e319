// Scanner -> policy -> migrator plumbing over 16M pages (64 GiB of 4 KiB pages) on the
// test backend, against a bare typed-array loop doing the same work in the same process.
// Run: npm run bench -w @kmm/core (after a build). Writes bench/RESULTS.md.
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { Backend } from "@kmm/core/Backend"
import * as Daemon from "@kmm/core/Daemon"
import * as TestBackend from "@kmm/core/TestBackend"
import * as TestPolicy from "@kmm/core/TestPolicy"
import * as Tunables from "@kmm/core/Tunables"
import * as VirtualTime from "@kmm/core/VirtualTime"

const PAGES = Number(process.env.KMM_BENCH_PAGES ?? 1 << 24)
const HOT = PAGES >>> 3
const RUNS = Number(process.env.KMM_BENCH_RUNS ?? 5)
const CHUNK = 65536

const nodes = [
  { id: 0, tier: 0, capacityPages: PAGES >>> 2 },
  { id: 1, tier: 1, capacityPages: PAGES * 2 }
]

/** The daemon, in virtual time, as fast as it goes. Returns pages scanned per wall second once warm. */
async function daemonRun() {
  const tb = TestBackend.make({ nodes, targets: [{ id: 1, pages: PAGES, hot: [[0, HOT]] }], chunkPages: CHUNK })
  const tunables = {
    scanSizeMB: 4096,
    scanSleepMs: 0,
    scanPeriodMs: 10,
    scanPeriodMinMs: 10,
    scanPeriodMaxMs: 10,
    initialDelayMs: 0,
    migrateRateMBps: 1_048_576,
    migrateBatchPages: 65536,
    targetRefreshMs: 3_600_000
  }
  const stack = Layer.mergeAll(Layer.succeed(Backend, tb.backend), TestPolicy.layerTest, Tunables.layer(tunables))
  const vt = VirtualTime.make()
  let result
  await vt.run(
    Effect.scoped(
      Effect.gen(function* () {
        const d = yield* Daemon.make()
        // Warm up: the hot set is found and promoted.
        while ((yield* d.counters).migrated < HOT) yield* Effect.sleep("1 millis")
        const c0 = yield* d.counters
        const t0 = performance.now()
        while ((yield* d.counters).pages_scanned - c0.pages_scanned < 4 * PAGES) yield* Effect.sleep("1 millis")
        const t1 = performance.now()
        const c1 = yield* d.counters
        result = { pages: c1.pages_scanned - c0.pages_scanned, seconds: (t1 - t0) / 1000, migrated: c1.migrated }
      })
    ).pipe(Effect.provide(stack))
  )
  if (tb.nodeOf(1, 0) !== 0 || tb.nodeOf(1, HOT) !== 1) throw new Error("daemon did not promote the hot set")
  return result
}

/** The same work without the daemon: harvest, account, mark, pick; pages per second. */
function bareRun() {
  const node = new Int16Array(PAGES).fill(1)
  const accessed = new Uint32Array(PAGES >>> 5)
  const hot = new Uint32Array(PAGES >>> 5)
  hot.fill(0xffffffff, 0, HOT >>> 5)
  const marks = new Uint8Array(PAGES)
  const byNode = new Float64Array(2)
  const tierOf = new Int16Array([0, 1])
  const picked = new Float64Array(CHUNK)
  const sweep = () => {
    let slow = 0
    for (let start = 0; start < PAGES; start += CHUNK) {
      // harvest (as the backend does)
      const words = CHUNK >>> 5
      const w0 = start >>> 5
      const bits = new Uint32Array(words)
      for (let w = 0; w < words; w++) {
        bits[w] = accessed[w0 + w] | hot[w0 + w]
        accessed[w0 + w] = 0
      }
      const nd = node.slice(start, start + CHUNK)
      let present = 0
      for (let i = 0; i < CHUNK; i++) if (nd[i] >= 0) present++
      // account (as the scanner does)
      for (let w = 0; w < words; w++) {
        let b = bits[w]
        while (b !== 0) {
          const low = b & -b
          const n = nd[(w << 5) + 31 - Math.clz32(low)]
          if (n >= 0) {
            byNode[n]++
            if (tierOf[n] !== 0) slow++
          }
          b ^= low
        }
      }
      // observe (as the policy does)
      for (let w = 0; w < words; w++) {
        let b = bits[w]
        while (b !== 0) {
          const low = b & -b
          const i = (w << 5) + 31 - Math.clz32(low)
          marks[start + i] = nd[i] + 1
          b ^= low
        }
      }
      // plan: pick marked slow pages
      let count = 0
      for (let i = start; i < start + CHUNK; i++) {
        const m = marks[i]
        if (m === 0) continue
        marks[i] = 0
        if (tierOf[m - 1] !== 0) picked[count++] = i
      }
      // migrate what was picked
      for (let k = 0; k < count; k++) node[picked[k]] = 0
      if (present < 0) throw new Error("unreachable")
    }
    return slow
  }
  sweep() // warm-up: promotes the hot set
  const t0 = performance.now()
  for (let s = 0; s < 4; s++) sweep()
  const t1 = performance.now()
  if (node[0] !== 0 || node[HOT] !== 1) throw new Error("bare loop did not promote the hot set")
  return { pages: 4 * PAGES, seconds: (t1 - t0) / 1000 }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const daemonRates = []
const bareRates = []
for (let r = 0; r < RUNS; r++) {
  const b = bareRun()
  bareRates.push(b.pages / b.seconds)
  const d = await daemonRun()
  daemonRates.push(d.pages / d.seconds)
  console.log(`run ${r + 1}: daemon ${(d.pages / d.seconds / 1e6).toFixed(1)}M pages/s, bare ${(b.pages / b.seconds / 1e6).toFixed(1)}M pages/s`)
}
const ratios = daemonRates.map((d, i) => d / bareRates[i])
const md = median(daemonRates)
const mb = median(bareRates)
const ratio = median(ratios)
const overhead = 1 / ratio - 1
const report = `# @kmm/core plumbing benchmark

Scanner -> policy -> migrator over ${(PAGES / 2 ** 20).toFixed(0)}M pages (${(PAGES * 4096) / 2 ** 30} GiB of 4 KiB pages), ${HOT / 2 ** 20}M of them hot,
on core's test backend with core's test policy, driven in virtual time as fast as it goes
(4 GiB scan size per pass, ${CHUNK}-page chunks), against a bare typed-array loop that does the
same work (harvest, count per node, mark, pick, move) in the same process. Steady state
after the hot set was promoted; ${RUNS} runs, medians.

- Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}
- Date: ${new Date().toISOString().slice(0, 10)}

| | pages/s (median) | spread (min..max) |
|---|---|---|
| daemon plumbing | ${(md / 1e6).toFixed(1)}M | ${(Math.min(...daemonRates) / 1e6).toFixed(1)}M..${(Math.max(...daemonRates) / 1e6).toFixed(1)}M |
| bare loop | ${(mb / 1e6).toFixed(1)}M | ${(Math.min(...bareRates) / 1e6).toFixed(1)}M..${(Math.max(...bareRates) / 1e6).toFixed(1)}M |

Ratio daemon / bare (median of per-run ratios): **${ratio.toFixed(3)}**, i.e. the plumbing costs
${(overhead * 100).toFixed(1)} % over the bare loop (target: at most 20 %).
`
fs.mkdirSync(new URL("./", import.meta.url), { recursive: true })
fs.writeFileSync(new URL("./RESULTS.md", import.meta.url), report)
console.log(report)
