/**
 * `kmm inspect PID`: one process's mappings, pages present, pages per node, pages in
 * transparent huge pages, and, where a source exists, pages accessed since the last
 * look. It runs one sweep of the backend over the process (the same code path as the
 * daemon's scans) and sums the chunks per mapping.
 *
 * "Since the last look": with the idle page bitmap, since the pages were last marked
 * idle (by the previous inspect or by a running daemon; pages never marked count as
 * accessed), and inspect marks them again; with soft-dirty, pages written since the
 * process's bits were last cleared, and inspect clears them; with DAMON, pages whose
 * region saw accesses during a window of `windowMs` (kmm starts DAMON for the look).
 *
 * ```ts
 * import { Inspect } from "@kmm/backend-linux"
 * import { Effect } from "effect"
 *
 * const report = await Effect.runPromise(Inspect.inspect(1234))
 * console.log(Inspect.formatText(report))   // or JSON.stringify(report) for --json
 * ```
 *
 * @since 0.1.0
 */
import type { PermissionDenied } from "@kmm/core/Errors"
import { BackendFailure, TargetGone } from "@kmm/core/Errors"
import { countAccessed } from "@kmm/core/ScanChunk"
import { targetId } from "@kmm/core/Target"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as host from "./internal/host.js"
import * as LinuxBackend from "./LinuxBackend.js"
import type { LinuxConfigError, SourceName } from "./LinuxConfig.js"
import * as Maps from "./Maps.js"
import * as PageFlags from "./PageFlags.js"
import * as Processes from "./Processes.js"

/**
 * Pages on one node.
 *
 * @since 0.1.0
 */
export const NodePages = Schema.Struct({ node: Schema.Int, pages: Schema.Number })

/**
 * One mapping.
 *
 * @since 0.1.0
 */
export const MappingReport = Schema.Struct({
  /** Addresses, hex. */
  start: Schema.String,
  end: Schema.String,
  pages: Schema.Number,
  perms: Schema.String,
  path: Schema.String,
  /** Why kmm does not scan it (absent when it does). */
  skip: Schema.optional(Schema.String),
  present: Schema.Number,
  perNode: Schema.Array(NodePages),
  /** Present pages that belong to transparent huge pages (null when /proc/kpageflags is not readable). */
  hugePages: Schema.NullOr(Schema.Number),
  /** Pages accessed since the last look (null without a source). */
  accessed: Schema.NullOr(Schema.Number)
})

/** @since 0.1.0 */
export interface MappingReport extends Schema.Schema.Type<typeof MappingReport> {}

/**
 * The report.
 *
 * @since 0.1.0
 */
export const InspectReport = Schema.Struct({
  pid: Schema.Int,
  name: Schema.String,
  pageSize: Schema.Int,
  /** The source of "accessed", and what its count means (or why there is none). */
  source: Schema.Struct({ name: Schema.String, meaning: Schema.String }),
  /** Whether page frame numbers were readable. */
  pfns: Schema.Boolean,
  /** Why huge pages are not counted, when they are not. */
  hugePagesUnavailable: Schema.optional(Schema.String),
  mappings: Schema.Array(MappingReport),
  totals: Schema.Struct({
    mappings: Schema.Number,
    scannedMappings: Schema.Number,
    scannedPages: Schema.Number,
    present: Schema.Number,
    perNode: Schema.Array(NodePages),
    hugePages: Schema.NullOr(Schema.Number),
    accessed: Schema.NullOr(Schema.Number)
  })
})

/** @since 0.1.0 */
export interface InspectReport extends Schema.Schema.Type<typeof InspectReport> {}

/**
 * Options of `inspect`.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Accessed-bit source (default "auto": the best the host has). */
  readonly source?: SourceName
  /** DAMON only: how long to watch accesses before reading regions, ms (default 1000). */
  readonly windowMs?: number
}

const meaning = (source: string): string => {
  switch (source) {
    case "idle-page":
      return "pages accessed (read or written) since they were last marked idle; now marked again"
    case "soft-dirty":
      return "pages written since the process's soft-dirty bits were last cleared; now cleared"
    case "damon-paddr":
    case "damon-vaddr":
      return "pages whose DAMON region saw accesses in the last aggregation interval of the window"
    default:
      return "no accessed-bit source on this host (see `kmm doctor`)"
  }
}

const hex = (page: number, pageSize: number): string => (page * pageSize).toString(16).padStart(12, "0")

/**
 * Inspects one process. Fails with TargetGone when it does not exist or exits during
 * the look, PermissionDenied (with the privilege needed) when kmm may not read it.
 *
 * @since 0.1.0
 */
export const inspect = (pid: number, options: Options = {}): Effect.Effect<InspectReport, TargetGone | PermissionDenied | BackendFailure | LinuxConfigError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const stat = Processes.stat(pid)
      if (stat === undefined || stat.state === "Z" || stat.state === "X") return yield* Effect.fail(new TargetGone({ target: pid, operation: "inspect" }))
      if (Processes.isKernelThread(stat)) {
        return yield* Effect.fail(new BackendFailure({ operation: "inspect", reason: `process ${pid} (${stat.comm}) is a kernel thread: it has no address space of its own` }))
      }
      const { linux } = yield* LinuxBackend.make(
        { targets: { pids: [pid], includeSelf: true }, source: options.source ?? "auto", reportPfn: true },
        { reportFirstSweep: true }
      )
      const pageSize = host.pageSize()
      const areas = yield* Maps.read(pid, host.pageShift(), { hugetlbMounts: Maps.hugetlbMounts() })
      if (areas.length === 0) return yield* Effect.fail(new TargetGone({ target: pid, operation: "inspect" }))
      if (linux.source === "damon-paddr" || linux.source === "damon-vaddr") {
        // Start watching (vaddr watches at the first scan step), then read the regions.
        if (linux.source === "damon-vaddr") yield* linux.scan(targetId(pid), 0, 32)
        yield* Effect.sleep(options.windowMs ?? 1000)
        yield* linux.refreshRegions
      }
      const flags = PageFlags.detect()
      const countHuge = linux.pfnVisible && flags.available
      const hasSource = linux.source !== "none"

      interface Sums {
        present: number
        accessed: number
        huge: number
        perNode: Map<number, number>
      }
      const sums = new Map<number, Sums>()
      const sumsOf = (start: number): Sums => {
        let s = sums.get(start)
        if (s === undefined) sums.set(start, (s = { present: 0, accessed: 0, huge: 0, perNode: new Map() }))
        return s
      }
      const pfnBatch = new Float64Array(65536)
      const flagBatch = new Uint32Array(65536)
      let from = 0
      while (true) {
        const result = yield* linux.scan(targetId(pid), from, 1 << 20)
        for (const obs of result.observations) {
          if (obs._tag !== "AccessedBits") continue
          const chunk = obs.chunk
          const s = sumsOf(chunk.mappingStart)
          s.present += chunk.present
          if (hasSource) s.accessed += countAccessed(chunk)
          // Per node: O(length).
          const node = chunk.node
          let n = 0
          for (let i = 0; i < chunk.length; i++) {
            const nd = node[i]
            if (nd < 0) continue
            s.perNode.set(nd, (s.perNode.get(nd) ?? 0) + 1)
            if (countHuge && chunk.pfn !== undefined) pfnBatch[n++] = chunk.pfn[i]
          }
          if (n > 0) {
            yield* PageFlags.read(pfnBatch, n, flagBatch)
            for (let k = 0; k < n; k++) if ((flagBatch[k] & PageFlags.Flag.THP) !== 0) s.huge++
          }
        }
        if (result.next === null) break
        from = result.next
      }

      const perNodeList = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]).map(([node, pages]) => ({ node, pages }))
      const totalNode = new Map<number, number>()
      let present = 0
      let accessed = 0
      let huge = 0
      const mappings: Array<MappingReport> = areas.map((a) => {
        const s = a.skip === undefined ? sums.get(a.start) : undefined
        if (s !== undefined) {
          present += s.present
          accessed += s.accessed
          huge += s.huge
          for (const [node, pages] of s.perNode) totalNode.set(node, (totalNode.get(node) ?? 0) + pages)
        }
        return {
          start: hex(a.start, pageSize),
          end: hex(a.start + a.pages, pageSize),
          pages: a.pages,
          perms: a.perms,
          path: a.path,
          ...(a.skip !== undefined ? { skip: a.skip } : {}),
          present: s?.present ?? 0,
          perNode: s === undefined ? [] : perNodeList(s.perNode),
          hugePages: countHuge && s !== undefined ? s.huge : null,
          accessed: hasSource && s !== undefined ? s.accessed : null
        }
      })
      const scanned = areas.filter((a) => a.skip === undefined)
      return {
        pid,
        name: stat.comm,
        pageSize,
        source: { name: linux.source, meaning: meaning(linux.source) },
        pfns: linux.pfnVisible,
        ...(countHuge ? {} : { hugePagesUnavailable: linux.pfnVisible ? (flags.reason ?? "kpageflags not readable") : "page frame numbers are not readable (CAP_SYS_ADMIN)" }),
        mappings,
        totals: {
          mappings: areas.length,
          scannedMappings: scanned.length,
          scannedPages: Maps.scannablePages(areas),
          present,
          perNode: perNodeList(totalNode),
          hugePages: countHuge ? huge : null,
          accessed: hasSource ? accessed : null
        }
      }
    })
  )

const mib = (pages: number, pageSize: number): string => `${((pages * pageSize) / 1048576).toFixed(1)} MiB`
const nodes = (list: ReadonlyArray<{ readonly node: number; readonly pages: number }>): string =>
  list.length === 0 ? "-" : list.map((x) => `node${x.node}:${x.pages}`).join(" ")

/**
 * The report as text for a terminal: a summary, then one line per mapping.
 *
 * @since 0.1.0
 */
export const formatText = (r: InspectReport): string => {
  const t = r.totals
  const lines = [
    `process ${r.pid} (${r.name}): ${t.mappings} mappings, ${t.scannedMappings} scanned (${t.scannedPages} pages, ${mib(t.scannedPages, r.pageSize)}); page size ${r.pageSize}`,
    `present: ${t.present} pages (${mib(t.present, r.pageSize)}); per node: ${nodes(t.perNode)}`,
    t.hugePages === null ? `huge pages: not counted (${r.hugePagesUnavailable ?? "unavailable"})` : `in transparent huge pages: ${t.hugePages} pages (${mib(t.hugePages, r.pageSize)})`,
    t.accessed === null ? `accessed: unknown (${r.source.meaning})` : `accessed: ${t.accessed} pages [${r.source.name}: ${r.source.meaning}]`,
    ""
  ]
  const header = ["start", "end", "perms", "pages", "present", "nodes", "thp", "accessed", "path"]
  const rows = r.mappings.map((m) => [
    m.start,
    m.end,
    m.perms,
    String(m.pages),
    m.skip === undefined ? String(m.present) : "-",
    m.skip === undefined ? nodes(m.perNode) : "-",
    m.hugePages === null ? "-" : String(m.hugePages),
    m.accessed === null ? "-" : String(m.accessed),
    m.skip === undefined ? m.path : `${m.path} (not scanned: ${m.skip})`
  ])
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)))
  const fmt = (row: ReadonlyArray<string>) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : c >= 3 && c <= 7 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd()
  lines.push(fmt(header), ...rows.map(fmt))
  return lines.join("\n")
}
