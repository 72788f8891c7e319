// The baselines' accessed-bit side at scale: the NUMA-balancing model's reclaim bits
// and the oracle's placement bytes, over full sweeps of 16M pages (64Ki-page chunks;
// a quarter on the top tier; an eighth plus 2 % of the rest accessed): pages per second
// (median) and bytes of state per page. Run: npm run bench -w @kmm/policy-baselines (after a build).
import { Effect } from "effect"
import { accessedBits } from "@kmm/core/Observation"
import * as ScanChunk from "@kmm/core/ScanChunk"
import * as NumaBalancing from "../dist/NumaBalancing.js"
import * as Oracle from "../dist/Oracle.js"

const PAGES = Number(process.env.KMM_BENCH_PAGES ?? 1 << 24)
const RUNS = Number(process.env.KMM_BENCH_RUNS ?? 5)
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
const budget = { maxPages: 0, topology, destinations: () => [0], unavailable: new Set(), now: 0 }
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const rates = new Float32Array(PAGES).map((_, i) => (i < PAGES / 8 ? 10 : 0.05))
const truth = { rates: () => Effect.succeed([{ start: START, rates }]), targets: Effect.succeed([1]) }

for (const [name, policy] of [
  ["numa-balancing", NumaBalancing.make()],
  ["oracle", Oracle.makeWith(truth)]
]) {
  Effect.runSync(policy.plan(budget))
  const times = []
  for (let r = 0; r <= RUNS; r++) {
    const t0 = performance.now()
    for (const o of chunks) Effect.runSync(policy.observe(o))
    if (r > 0) times.push(performance.now() - t0)
  }
  const bytes = Effect.runSync(policy.stateBytes)
  console.log(`${name}, ${PAGES} pages: ${(PAGES / median(times) / 1000).toFixed(0)}M pages/s, ${(bytes / PAGES).toFixed(4)} bytes/page`)
}
