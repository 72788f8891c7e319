import { Either } from "effect"
import type { ScanChunk } from "@kmm/core/ScanChunk"
import { isAccessed } from "@kmm/core/ScanChunk"
import * as MigrationPlan from "@kmm/core/MigrationPlan"
import { targetId } from "@kmm/core/Target"
import * as Machine from "../src/Machine.js"
import * as SimConfig from "../src/SimConfig.js"

export const KiB = 1024
export const PAGE = 4096

/** Two nodes: DRAM of `dram` pages, CXL of `cxl` pages; no samples unless asked. */
export const nodes = (dram: number, cxl: number) => [
  { label: "DRAM", capacity: dram * PAGE },
  { label: "CXL", capacity: cxl * PAGE }
]

export const config = (input: SimConfig.SimConfigInput): SimConfig.Resolved =>
  Either.getOrThrow(SimConfig.decode({ observe: { samplesPerScan: 0 }, ...input }))

export const machine = (input: SimConfig.SimConfigInput, startMs = 0): Machine.Machine =>
  Either.getOrThrow(Machine.make(config(input), { startMs }))

/** Scans a whole task at `now` with a per-call budget; returns its accessed-bit chunks in order. */
export const sweep = (m: Machine.Machine, target: number, now: number, budget = 1 << 30): Array<ScanChunk> => {
  const chunks: Array<ScanChunk> = []
  let from = 0
  for (;;) {
    const step = m.scan(target, from, budget, now)
    if (step === undefined) throw new Error(`target ${target} is gone`)
    for (const o of step.result.observations) if (o._tag === "AccessedBits" && o.kind === "accessed-bit") chunks.push(o.chunk)
    if (step.result.next === null) return chunks
    from = step.result.next
  }
}

/** Accessed flag per page, in page order (chunks of a full sweep, in order). */
export const accessedByPage = (chunks: ReadonlyArray<ScanChunk>): Uint8Array => {
  const total = chunks.reduce((s, c) => s + c.length, 0)
  const out = new Uint8Array(total)
  let k = 0
  for (const c of chunks) for (let i = 0; i < c.length; i++) out[k++] = isAccessed(c, i) ? 1 : 0
  return out
}

/** A plan moving page-order indices of a task to `destination`. */
export const plan = (m: Machine.Machine, target: number, indices: ReadonlyArray<number>, destination: number) =>
  MigrationPlan.make({ target: targetId(target), destination, pages: indices.map((i) => m.vpnOf(target, i)!) })

export const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)
