/**
 * The live view of `kmm run` on a terminal: one block redrawn in place (log-update)
 * each sample: per node used and free, promotions, demotions and pages scanned per
 * second, and on the simulated backend the top-tier access share next to the oracle's.
 */
import { createLogUpdate } from "log-update"
import * as Duration from "./Duration.js"
import * as Format from "./Format.js"
import type * as Monitor from "./Monitor.js"
import * as RunReport from "./RunReport.js"

/** A live view on a terminal stream. */
export interface LiveView {
  readonly update: (s: Monitor.Sample) => void
  /** Leaves the last frame on screen. */
  readonly done: () => void
}

const BAR = 24
/** Recent top-tier shares, for the sparkline. */
const HISTORY = 40
const ticks = "▁▂▃▄▅▆▇█"

/** The frame for a sample. */
export const render = (header: RunReport.Header, s: Monitor.Sample, shares: ReadonlyArray<number>): string => {
  const lines: Array<string> = [RunReport.headerLine(header), ""]
  const total = header.durationMs === null ? "" : ` / ${Duration.format(header.durationMs)}`
  lines.push(`  t = ${s.t.toFixed(1)}s${total}`)
  lines.push("")
  const labelWidth = Math.max(5, ...s.nodes.map((n) => n.label.length))
  lines.push(`  ${"node".padEnd(labelWidth + 4)}tier  ${"used".padStart(10)}  ${"free".padStart(10)}`)
  for (const n of s.nodes) {
    const used = n.capacityPages > 0 ? n.usedPages / n.capacityPages : 0
    lines.push(
      `  ${String(n.id).padEnd(3)} ${n.label.padEnd(labelWidth)}${String(n.tier).padStart(5)}  ${Format.bytes(n.usedPages * s.pageSize).padStart(10)}  ${Format.bytes(n.freePages * s.pageSize).padStart(10)}  ${Format.bar(used, BAR)} ${Format.percent(used)}`
    )
  }
  lines.push("")
  lines.push(
    `  promotions ${Format.count(s.promotedPerSec).padStart(7)}/s   demotions ${Format.count(s.demotedPerSec).padStart(7)}/s   scanned ${Format.count(s.scannedPerSec).padStart(7)} pages/s`
  )
  lines.push(`  migrated so far: +${Format.integer(s.totals.promoted)} -${Format.integer(s.totals.demoted)} pages, ${Format.integer(s.totals.migrateFailed)} failed`)
  if (s.topTierShare !== undefined) {
    const ratio = s.oracleShare !== undefined && s.oracleShare > 0 ? s.topTierShare / s.oracleShare : NaN
    lines.push("")
    lines.push(`  top-tier share ${Format.percent(s.topTierShare).padStart(6)}  ${Format.bar(s.topTierShare, BAR)}`)
    lines.push(`  oracle         ${Format.percent(s.oracleShare).padStart(6)}  ${Format.bar(s.oracleShare ?? 0, BAR)}  (${Format.percent(ratio)} of the oracle)`)
    lines.push(`  share history  ${shares.map((x) => ticks[Math.max(0, Math.min(7, Math.floor(x * 8)))]).join("")}`)
  }
  for (const e of s.events ?? []) lines.push(`  ${e}`)
  return lines.join("\n")
}

/** Makes a live view writing to `stream`. */
export const make = (stream: NodeJS.WriteStream, header: RunReport.Header): LiveView => {
  const log = createLogUpdate(stream, { showCursor: false })
  const shares: Array<number> = []
  const events: Array<string> = []
  return {
    update: (s) => {
      if (s.topTierShare !== undefined) {
        shares.push(s.topTierShare)
        if (shares.length > HISTORY) shares.shift()
      }
      // Machine events stay on screen for the rest of the run.
      for (const e of s.events ?? []) events.push(`at ${s.t.toFixed(1)}s: ${e}`)
      log(render(header, { ...s, events: events.slice(-3) }, shares))
    },
    done: () => log.done()
  }
}
