// The simulator at scale: 64 GiB of 4 KiB pages (16M pages) in one task.
// Measures bytes of simulator state per page, one accessed-bit scan pass, rate
// generation (a workload phase over every page) and the per-interval result cost,
// each next to a bare typed-array loop doing the same work in the same process; and
// the daemon on two presets in virtual time.
// Run: npm run bench -w @kmm/backend-sim (after a build; `node --expose-gc`).
import { Effect, Either, Exit, Layer } from "effect"
import console from "node:console"
import * as os from "node:os"
import { performance } from "node:perf_hooks"
import process from "node:process"
import * as Daemon from "@kmm/core/Daemon"
import * as TestPolicy from "@kmm/core/TestPolicy"
import * as Tunables from "@kmm/core/Tunables"
import * as VirtualTime from "@kmm/core/VirtualTime"
import * as Machine from "../dist/Machine.js"
import * as SimBackend from "../dist/SimBackend.js"
import * as SimConfig from "../dist/SimConfig.js"
import * as Workload from "../dist/Workload.js"

const PAGES = Number(process.env.KMM_BENCH_PAGES ?? 1 << 24)
const RUNS = Number(process.env.KMM_BENCH_RUNS ?? 7)
const PASS = 262_144 // the daemon's default scan size per pass: 1 GiB of 4 KiB pages
const CHUNK = 65_536
const gc = globalThis.gc ?? (() => {})

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}
const time = (f) => {
  const t0 = performance.now()
  f()
  return performance.now() - t0
}
const fmt = (x, d = 1) => x.toFixed(d)

const config = (workload) =>
  Either.getOrThrow(
    SimConfig.decode({
      nodes: [
        { label: "DRAM", capacity: (PAGES / 4) * 4096 },
        { label: "CXL", capacity: PAGES * 4096 }
      ],
      tasks: [{ id: 1, size: PAGES * 4096, node: 1, workload }],
      observe: { samplesPerScan: 0 },
      chunkPages: CHUNK
    })
  )
const hotset = { kind: "hotset", accessesPerSec: PAGES / 2, hotFraction: 0.2, hotAccessFraction: 0.9 }

// ---------------------------------------------------------------- state per page
gc()
const before = process.memoryUsage().arrayBuffers
const machine = Either.getOrThrow(Machine.make(config(hotset), { startMs: 0 }))
gc()
const measuredBytes = (process.memoryUsage().arrayBuffers - before) / PAGES
const stateBytes = machine.stateBytes() / PAGES

// ---------------------------------------------------------------- one scan pass
/** A full pass in daemon-sized calls (1 GiB budget, 64 Ki-page chunks), 2 s after the last. */
let now = 0
const simPass = () => {
  now += 2000
  let from = 0
  let accessed = 0
  for (;;) {
    const step = machine.scan(1, from, PASS, now)
    for (const o of step.result.observations) if (o._tag === "AccessedBits") accessed += o.chunk.accessed[0] & 1
    if (step.result.next === null) return accessed
    from = step.result.next
  }
}

/**
 * The same work on bare typed arrays: per 64 Ki-page chunk, allocate the bitset and the
 * node array, copy the node bytes, and draw each page's bit from a per-class threshold.
 */
const bare = (() => {
  const node = new Int8Array(PAGES).fill(1)
  const heat = new Uint8Array(PAGES)
  for (let i = 0; i < PAGES; i++) heat[i] = i < PAGES / 5 ? 1 : 0
  const thr = new Int32Array([Math.round(0.1 * 2 ** 31), Math.round(0.9 * 2 ** 31)])
  let state = 0x12345678
  return () => {
    let x = state
    let accessed = 0
    for (let start = 0; start < PAGES; start += CHUNK) {
      const bits = new Uint32Array(CHUNK >>> 5)
      const out = new Int16Array(CHUNK)
      out.set(node.subarray(start, start + CHUNK))
      for (let w = 0; w < CHUNK >>> 5; w++) {
        let b = 0
        const p = start + (w << 5)
        for (let k = 0; k < 32; k++) {
          x ^= x << 13
          x ^= x >>> 17
          x ^= x << 5
          if (Math.imul(x, 0x2545f491) >>> 1 <= thr[heat[p + k]]) b |= 1 << k
        }
        bits[w] = b
      }
      accessed += bits[0] & 1
    }
    state = x
    return accessed
  }
})()

simPass() // warm-up
bare()
const scanSim = []
const scanBare = []
for (let r = 0; r < RUNS; r++) {
  gc()
  scanSim.push(time(simPass))
  gc()
  scanBare.push(time(bare))
}

// ---------------------------------------------------------------- rate generation
/** A phase: heat classes and rates for every page (what a hot-set shift costs). */
const heat = new Uint8Array(PAGES)
/** A workload with its defaults filled in, as the configuration decodes it. */
const decoded = (w) => Either.getOrThrow(SimConfig.decode({ tasks: [{ size: 4096, workload: w }] })).tasks[0].phases[0].workload
const scattered = decoded({ ...hotset, layout: "scattered" })
const zipf = decoded({ kind: "zipf", accessesPerSec: PAGES, s: 1 })
const bareClasses = () => {
  // The same permutation walk, on bare arrays.
  const a = Math.floor(PAGES * 0.618) | 1
  const hot = PAGES / 5
  let r = 12345
  heat.fill(0)
  for (let i = 0; i < PAGES; i++) {
    if (r < hot) heat[i] = 1
    r += a
    if (r >= PAGES) r -= PAGES
  }
}
const bareZipf = () => {
  // The same walk, with a log bucket (8 per octave) of each rank.
  const a = Math.floor(PAGES * 0.618) | 1
  let r = 12345
  for (let i = 0; i < PAGES; i++) {
    const k = r + 1
    const o = 31 - Math.clz32(k)
    heat[i] = (o << 3) | (o >= 3 ? (k >>> (o - 3)) & 7 : (k << (3 - o)) & 7)
    r += a
    if (r >= PAGES) r -= PAGES
  }
}
Workload.classify(scattered, heat, { seed: 1 })
bareClasses()
bareZipf()
const genHot = []
const genZipf = []
const genBare = []
const genBareZipf = []
for (let r = 0; r < RUNS; r++) {
  genHot.push(time(() => Workload.classify(scattered, heat, { seed: r })))
  genBare.push(time(bareClasses))
  genZipf.push(time(() => Workload.classify(zipf, heat, { seed: r })))
  genBareZipf.push(time(bareZipf))
}

// ---------------------------------------------------------------- results per interval
const intervals = []
for (let r = 0; r < RUNS; r++) {
  now += 1000
  intervals.push(time(() => machine.closeInterval(now)))
}

// ---------------------------------------------------------------- the daemon in virtual time
const daemonRun = async (options, seconds) => {
  const program = Effect.gen(function* () {
    const sim = yield* SimBackend.Sim
    yield* Effect.fork(Daemon.run)
    yield* Effect.sleep(`${seconds} seconds`)
    return yield* sim.summary
  }).pipe(Effect.provide(Layer.mergeAll(SimBackend.layer(options), TestPolicy.layerTest, Tunables.layer())))
  const t0 = performance.now()
  const result = await VirtualTime.make().run(program)
  if (!Exit.isSuccess(result.exit)) throw new Error(String(result.exit))
  return { wall: (performance.now() - t0) / 1000, summary: result.exit.value }
}
const small = await daemonRun({ preset: "small" }, 3600)
const dflt = await daemonRun({}, 60)

// ---------------------------------------------------------------- report
const sim = median(scanSim)
const br = median(scanBare)
const rows = [
  ["simulator state per page (counted by the machine)", `${fmt(stateBytes, 3)} B`, "", ""],
  ["simulator state per page (process arrayBuffers growth)", `${fmt(measuredBytes, 3)} B`, "", ""],
  [
    `scan pass over ${PAGES} pages (1 GiB calls, 64 Ki-page chunks)`,
    `${fmt(sim)} ms = ${fmt(PAGES / sim / 1e3)} M pages/s`,
    `${fmt(br)} ms = ${fmt(PAGES / br / 1e3)} M pages/s`,
    fmt(sim / br, 2)
  ],
  [`rate generation: hot set (scattered) over ${PAGES} pages`, `${fmt(median(genHot))} ms`, `${fmt(median(genBare))} ms`, fmt(median(genHot) / median(genBare), 2)],
  [`rate generation: Zipf(1) over ${PAGES} pages`, `${fmt(median(genZipf))} ms`, `${fmt(median(genBareZipf))} ms`, fmt(median(genZipf) / median(genBareZipf), 2)],
  ["results: closing one interval", `${fmt(median(intervals), 3)} ms`, "", ""],
  [
    `daemon + test policy, preset "small", 1 h virtual`,
    `${fmt(small.wall)} s wall (${fmt(3600 / small.wall, 0)}x real time)`,
    "",
    `share ${fmt(small.summary.topTierShare * 100)} %, oracle ${fmt(small.summary.oracleShare * 100)} %`
  ],
  [
    `daemon + test policy, preset "default", 60 s virtual`,
    `${fmt(dflt.wall)} s wall (${fmt(60 / dflt.wall, 0)}x real time)`,
    "",
    `share ${fmt(dflt.summary.topTierShare * 100)} %, oracle ${fmt(dflt.summary.oracleShare * 100)} %`
  ]
]
console.log(`# @kmm/backend-sim benchmark\n`)
console.log(`${new Date().toISOString().slice(0, 10)}; ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}); Node ${process.version}; ${RUNS} runs, medians\n`)
console.log("| measure | simulator | bare loop | ratio / note |")
console.log("|---|---|---|---|")
for (const r of rows) console.log(`| ${r.join(" | ")} |`)
console.log(`\nscan pass runs (ms): sim ${scanSim.map((x) => fmt(x)).join(", ")}; bare ${scanBare.map((x) => fmt(x)).join(", ")}`)
