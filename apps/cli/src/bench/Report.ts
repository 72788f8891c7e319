/**
 * What `kmm bench` writes: the JSON document, the CSV files (one row per cell; one row
 * per cell and second), the table it prints, and one chart per workload.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Format from "../Format.js"
import * as Table from "../Table.js"
import type * as Cell from "./Cell.js"
import * as Chart from "./Chart.js"
import * as Figures from "./Figures.js"
import * as Workloads from "./Workloads.js"

/** The settings of a bench, as recorded in its document. */
export interface Settings {
  readonly policies: ReadonlyArray<string>
  readonly workloads: ReadonlyArray<string>
  readonly seed: number
  /** The duration given with --duration (null: each workload's natural length). */
  readonly durationMs: number | null
  readonly jobs: number
  readonly tunables: Readonly<Record<string, unknown>>
  readonly samplesPerScan: number
  /** Share of the oracle's share that counts as converged. */
  readonly convergedAt: number
}

/** The bench document (results.json, and `--json` on stdout). */
export interface Document {
  readonly kind: "kmm-bench"
  readonly version: 1
  readonly settings: Settings
  readonly wallMs: number
  readonly results: ReadonlyArray<Cell.Result>
  /** Files written, relative to the working directory. */
  readonly files: ReadonlyArray<string>
}

/** CSV columns of results.csv, in order. */
export const columns = [
  "workload",
  "policy",
  "seed",
  "durationMs",
  "topTierShare",
  "oracleShare",
  "ratio",
  "steadyRatio",
  "scansToConverge",
  "secondsToConverge",
  "holdsAfterConverged",
  "scansToRecover",
  "migrations",
  "promoted",
  "demoted",
  "pingPong",
  "pingPongShare",
  "migrateFailed",
  "pagesScanned",
  "meanLatencyNs",
  "oracleLatencyNs",
  "policyStateBytes",
  "wallMs"
] as const

const cell = (v: unknown): string => {
  if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) return ""
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** A cell's value of a column; scansToRecover is the first change's (a hot-set shift). */
const valueOf = (r: Cell.Result, c: (typeof columns)[number]): unknown => (c === "scansToRecover" ? r.recoveries[0]?.scansToRecover : r[c])

/** results.csv: one row per cell. */
export const resultsCsv = (results: ReadonlyArray<Cell.Result>): string =>
  [columns.join(","), ...results.map((r) => columns.map((c) => cell(valueOf(r, c))).join(","))].join("\n") + "\n"

/** series.csv: one row per cell and second. */
export const seriesCsv = (results: ReadonlyArray<Cell.Result>): string =>
  [
    "workload,policy,t,topTierShare,oracleShare,ratio,scans,promoted,demoted,pingPong",
    ...results.flatMap((r) =>
      r.series.map((p) => [r.workload, r.policy, p.t, p.share, p.oracle, Figures.ratioOf(p), p.scans, p.promoted, p.demoted, p.pingPong].map(cell).join(","))
    )
  ].join("\n") + "\n"

/** The table printed at the end. */
export const table = (results: ReadonlyArray<Cell.Result>): string =>
  Table.render(
    ["workload", "policy", "top-tier share", "oracle", "ratio", "steady", "scans to 90%", "after shift", "migrations", "ping-pong", "wall"],
    results.map((r) => [
      r.workload,
      r.policy,
      Format.percent(r.topTierShare),
      Format.percent(r.oracleShare),
      Format.percent(r.ratio),
      Format.percent(r.steadyRatio),
      r.scansToConverge === null ? "never" : `${r.scansToConverge} (${r.secondsToConverge}s)`,
      r.recoveries.length === 0 ? "-" : r.recoveries[0].scansToRecover === null ? "never" : `${r.recoveries[0].scansToRecover} (${r.recoveries[0].secondsToRecover}s)`,
      Format.count(r.migrations),
      `${Format.count(r.pingPong)} (${Format.percent(r.pingPongShare)})`,
      Format.seconds(r.wallMs)
    ]),
    { right: [2, 3, 4, 5, 6, 7, 8, 9, 10] }
  )

/** Safe file name part. */
const slug = (s: string) => s.replace(/[^a-zA-Z0-9._-]+/g, "_")

/** Writes results.json, results.csv, series.csv and one SVG chart per workload into `dir`; returns the document. */
export const write = async (dir: string, settings: Settings, results: ReadonlyArray<Cell.Result>, wallMs: number): Promise<Document> => {
  await fs.mkdir(dir, { recursive: true })
  const rel = (f: string) => path.relative(process.cwd(), path.join(dir, f)) || f
  const charts = settings.workloads.map((w) => `share-${slug(w)}.svg`)
  const files = ["results.json", "results.csv", "series.csv", ...charts].map(rel)
  const doc: Document = { kind: "kmm-bench", version: 1, settings, wallMs, results, files }
  await fs.writeFile(path.join(dir, "results.json"), Format.json(doc, 2) + "\n")
  await fs.writeFile(path.join(dir, "results.csv"), resultsCsv(results))
  await fs.writeFile(path.join(dir, "series.csv"), seriesCsv(results))
  for (const [k, w] of settings.workloads.entries()) {
    const lines = results.filter((r) => r.workload === w).map((r) => ({ name: r.policy, points: r.series }))
    await fs.writeFile(path.join(dir, charts[k]), Chart.svg(`Top-tier access share: ${w}`, Workloads.find(w)?.description ?? "", lines))
  }
  return doc
}
