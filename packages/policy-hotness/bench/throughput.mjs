// The hotness policy's update throughput at scale: applies full accessed-bit sweeps of
// 16M pages (64Ki-page chunks; a quarter on the top tier; an eighth plus 2 % of the
// rest accessed) and reports pages per second (median), the plan after a sweep, and
// bytes of state per page. The cross-policy comparison is tools/bench (npm run bench -w @kmm/bench).
// Run: npm run bench -w @kmm/policy-hotness (after a build).
import { Effect } from "effect"
import { accessedBits } from "@kmm/core/Observation"
import * as ScanChunk from "@kmm/core/ScanChunk"
import * as Hotness from "../dist/Hotness.js"

const PAGES = Number(process.env.KMM_BENCH_PAGES ?? 1 << 24)
const RUNS = Number(process.env.KMM_BENCH_RUNS ?? 7)
const CHUNK = 65536
const START = 0x100000

let x = 1
const random = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x / 4294967296)
const chunks = []
for (let off = 0; off < PAGES; off += CHUNK) {
  const c = ScanChunk.alloc({ target: 1, mappingStart: START, mappingPages: PAGES, start: START + off, length: CHUNK })
  for (let i = 0; i < CHUNK; i++) {
    c.node[i] = off + i < PAGES / 4 ? 0 : 1
    if (off + i < PAGES / 8 || random() < 0.02) ScanChunk.setAccessed(c, i)
  }
  c.present = CHUNK
  chunks.push(accessedBits(c))
}
const topology = {
  pageSize: 4096,
  nodes: [
    { id: 0, tier: 0, capacityPages: PAGES / 2, freePages: PAGES / 4, cpus: [0], distances: [10, 20] },
    { id: 1, tier: 1, capacityPages: 2 * PAGES, freePages: PAGES, cpus: [], distances: [20, 10] }
  ]
}
const budget = (maxPages, now) => ({ maxPages, topology, destinations: () => [0], unavailable: new Set(), now })
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

const policy = Hotness.make()
Effect.runSync(policy.plan(budget(0, 0)))
const sweep = () => {
  for (const o of chunks) Effect.runSync(policy.observe(o))
}
sweep()
const apply = []
const plan = []
for (let r = 0; r < RUNS; r++) {
  let t0 = performance.now()
  sweep()
  apply.push(performance.now() - t0)
  t0 = performance.now()
  Effect.runSync(policy.plan(budget(262144, (r + 1) * 1000)))
  plan.push(performance.now() - t0)
}
const bytes = Effect.runSync(policy.stateBytes)
console.log(`hotness, ${PAGES} pages, ${RUNS} sweeps:`)
console.log(`  update: ${(PAGES / median(apply) / 1000).toFixed(0)}M pages/s (median sweep ${median(apply).toFixed(1)} ms)`)
console.log(`  plan after a sweep: ${median(plan).toFixed(1)} ms`)
console.log(`  state: ${(bytes / PAGES).toFixed(4)} bytes/page`)
