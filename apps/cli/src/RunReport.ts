/**
 * The text `kmm run` prints: its header, one plain line per sample (when the output
 * is not a terminal), and the summary.
 */
import type * as Stack from "@kmm/core/Stack"
import * as Duration from "./Duration.js"
import * as Format from "./Format.js"
import type * as Monitor from "./Monitor.js"

/** What a run is about to do. */
export interface Header {
  readonly type: "start"
  readonly stack: ReturnType<typeof Stack.describe>
  /** Virtual time (simulated backend) or the wall clock. */
  readonly clock: "virtual" | "wall"
  /** How long it runs, ms (null: until stopped). */
  readonly durationMs: number | null
  /** Virtual ms per wall ms (null: as fast as possible, or the wall clock). */
  readonly speed: number | null
}

/** "sim (preset default) + hotness, virtual time, 1m at max speed". */
export const headerLine = (h: Header): string => {
  const options = h.stack.backend.options as { preset?: unknown } | null
  const preset = typeof options?.preset === "string" ? ` (preset ${options.preset})` : h.clock === "virtual" ? " (preset default)" : ""
  const time =
    h.clock === "virtual"
      ? `virtual time, ${h.durationMs === null ? "until stopped" : Duration.format(h.durationMs)} at ${h.speed === null ? "max speed" : `${h.speed}x`}`
      : `wall clock, ${h.durationMs === null ? "until stopped" : Duration.format(h.durationMs)}`
  return `kmm run: backend ${h.stack.backend.ref}${preset}, policy ${h.stack.policy.ref}; ${time}. Ctrl-C stops.`
}

/** One line per sample: "t=3.0s  DRAM 1.1 GiB/4.0 GiB  CXL 6.9 GiB/12.0 GiB  +28.2k/s -0/s  scan 3.93M/s  top 96.6% (oracle 99.4%)". */
export const sampleLine = (s: Monitor.Sample): string =>
  [
    `t=${s.t.toFixed(1)}s`,
    s.nodes.map((n) => `${n.label} ${usedOf(n, s.pageSize)}`).join("  "),
    `+${Format.count(s.promotedPerSec)}/s -${Format.count(s.demotedPerSec)}/s`,
    `scan ${Format.count(s.scannedPerSec)}/s`,
    ...(s.topTierShare === undefined ? [] : [`top ${Format.percent(s.topTierShare)} (oracle ${Format.percent(s.oracleShare)})`]),
    ...(s.events ?? []).map((e) => `[${e}]`)
  ].join("  ")

const usedOf = (n: Monitor.NodeSample, pageSize: number) => `${Format.bytes(n.usedPages * pageSize)}/${Format.bytes(n.capacityPages * pageSize)}`

/** The summary, a few lines. */
export const summaryLines = (s: Monitor.Summary, clock: "virtual" | "wall"): ReadonlyArray<string> => {
  const how = s.reason === "aborted" ? "Stopped (Ctrl-C) after" : s.reason === "time-up" ? "Ran" : "Finished after"
  const when =
    clock === "virtual" ? `${Duration.format(s.durationMs)} of virtual time in ${Format.seconds(s.wallMs)}` : Duration.format(s.durationMs)
  const c = s.counters
  const lines = [`${how} ${when}.`]
  if (s.sim !== undefined) {
    lines.push(
      `  top-tier share ${Format.percent(s.sim.topTierShare)} (oracle ${Format.percent(s.sim.oracleShare)}; ${Format.percent(s.sim.shareOfOracle)} of the oracle), mean latency ${s.sim.meanLatencyNs.toFixed(0)} ns (oracle ${s.sim.oracleLatencyNs.toFixed(0)} ns)`
    )
  }
  lines.push(
    `  promoted ${Format.integer(c.migrated - c.demoted)} pages, demoted ${Format.integer(c.demoted)}, failed ${Format.integer(c.migrate_failed)}${s.sim === undefined ? "" : `, ping-pong ${Format.integer(s.sim.pingPong)}`}`,
    `  scanned ${Format.integer(c.pages_scanned)} pages in ${Format.integer(c.scan_passes)} passes; policy state ${Format.bytes(s.policyStateBytes)}`
  )
  for (const r of s.sim?.recoveries ?? []) {
    lines.push(
      `  after the change at ${Format.seconds(r.atMs)} (${r.detail}): lowest share ${Format.percent(r.lowestShare)}, ${r.recoveryMs === null ? "not back to 90% of the oracle by the end" : `back to 90% of the oracle in ${Format.seconds(r.recoveryMs)}`}`
    )
  }
  return lines
}
