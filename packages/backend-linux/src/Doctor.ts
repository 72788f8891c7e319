/**
 * `kmm doctor`: what this host offers the Linux backend, and why not where it does not.
 * Every check is a real probe (a read of kmm's own pagemap, a move_pages query of one
 * of its own pages, the files the sources use), never an assumption; nothing is
 * written anywhere.
 *
 * ```ts
 * import { Doctor } from "@kmm/backend-linux"
 * import { Effect } from "effect"
 *
 * console.log(Doctor.formatText(await Effect.runPromise(Doctor.check())))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as HostTopology from "./HostTopology.js"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"
import * as sys from "./internal/sys.js"
import * as Maps from "./Maps.js"
import * as MovePages from "./MovePages.js"
import * as PageFlags from "./PageFlags.js"
import { ENTRY_BYTES, Hi } from "./Pagemap.js"
import * as Sources from "./Sources.js"

/**
 * One check: available or not, and why.
 *
 * @since 0.1.0
 */
export const Check = Schema.Struct({
  name: Schema.String,
  available: Schema.Boolean,
  reason: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export interface Check extends Schema.Schema.Type<typeof Check> {}

/**
 * An accessed-bit source on this host.
 *
 * @since 0.1.0
 */
export const SourceCheck = Schema.Struct({
  name: Schema.String,
  kinds: Schema.Array(Schema.String),
  available: Schema.Boolean,
  reason: Schema.optional(Schema.String)
})

/**
 * The report.
 *
 * @since 0.1.0
 */
export const DoctorReport = Schema.Struct({
  kernel: Schema.String,
  pageSize: Schema.Int,
  uid: Schema.Int,
  euid: Schema.Int,
  privileges: Schema.Struct({ capSysAdmin: Schema.Boolean, capSysNice: Schema.Boolean, capSysPtrace: Schema.Boolean }),
  /** Where the kernel's configuration was read from, if anywhere. */
  kernelConfig: Schema.NullOr(Schema.String),
  checks: Schema.Array(Check),
  sources: Schema.Array(SourceCheck),
  /** The source `source: auto` picks now. */
  chosen: Schema.String,
  nodes: Schema.Array(
    Schema.Struct({ id: Schema.Int, tier: Schema.Int, label: Schema.String, cpus: Schema.Int, capacityPages: Schema.Number, freePages: Schema.Number })
  ),
  notes: Schema.Array(Schema.String)
})

/** @since 0.1.0 */
export interface DoctorReport extends Schema.Schema.Type<typeof DoctorReport> {}

const item = (name: string, available: boolean, reason?: string): Check => (reason === undefined ? { name, available } : { name, available, reason })

/** Reads kmm's own pagemap for its stack: present entries, and whether their PFNs are non-zero. */
const probePagemap = (): { readonly ok: boolean; readonly pfns: boolean; readonly reason?: string; readonly page?: number } => {
  const stack = Maps.parse(sys.readTextOr("/proc/self/maps") ?? "", host.pageShift(), { hugetlbMounts: [] }).find((a) => a.path === "[stack]")
  if (stack === undefined) return { ok: false, pfns: false, reason: "/proc/self/maps has no [stack] mapping" }
  let fd: number | undefined
  try {
    fd = fs.openSync("/proc/self/pagemap", "r")
    const n = Math.min(stack.pages, 64)
    const first = stack.start + stack.pages - n
    const buf = new Uint8Array(n * ENTRY_BYTES)
    fs.readSync(fd, buf, 0, buf.length, first * ENTRY_BYTES)
    const words = new Uint32Array(buf.buffer)
    for (let i = n - 1; i >= 0; i--) {
      const hi = words[2 * i + 1]
      if ((hi & Hi.PRESENT) !== 0) return { ok: true, pfns: (words[2 * i] | (hi & Hi.PFN_HIGH)) !== 0, page: first + i }
    }
    return { ok: true, pfns: false, reason: "no present page found to check PFNs with" }
  } catch (e) {
    return { ok: false, pfns: false, reason: `/proc/self/pagemap: ${e instanceof Error ? e.message : String(e)}` }
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * Checks the host. Never fails: what cannot be checked is reported as unavailable,
 * with the reason.
 *
 * @since 0.1.0
 */
export const check: () => Effect.Effect<DoctorReport> = () =>
  Effect.gen(function* () {
    const checks: Array<Check> = []
    const notes: Array<string> = []
    const pm = probePagemap()
    checks.push(item("pagemap", pm.ok, pm.reason))
    checks.push(item("page frame numbers", pm.pfns, pm.pfns ? undefined : (pm.reason ?? hints.pfn)))
    const flags = PageFlags.detect()
    checks.push(item("kpageflags (huge pages)", flags.available, flags.reason))

    const addon = MovePages.status()
    if (!addon.available) checks.push(item("move_pages", false, addon.reason))
    else if (pm.page === undefined) checks.push(item("move_pages", false, "no page of kmm's own to query"))
    else {
      const status = new Int32Array(1)
      const queried = yield* MovePages.query(process.pid, Float64Array.of(pm.page), 1, status).pipe(Effect.either)
      checks.push(
        queried._tag === "Left"
          ? item("move_pages", false, queried.left.message)
          : status[0] >= 0
            ? item("move_pages", true, `addon ${addon.path}; a query of kmm's own stack page answered node ${status[0]}`)
            : item("move_pages", false, `a query of kmm's own stack page answered ${status[0]}`)
      )
    }

    const topology = yield* Effect.either(HostTopology.read)
    const nodes =
      topology._tag === "Right"
        ? topology.right.topology.nodes.map((n) => ({ id: n.id, tier: n.tier, label: n.label ?? "", cpus: n.cpus.length, capacityPages: n.capacityPages, freePages: n.freePages }))
        : []
    checks.push(item("topology", topology._tag === "Right", topology._tag === "Left" ? topology.left.message : undefined))
    const tiering = sys.exists("/sys/devices/virtual/memory_tiering")
    checks.push(item("memory tiers", tiering, tiering ? undefined : "/sys/devices/virtual/memory_tiering is absent (kernel older than 6.1): tiers are guessed from CPUs"))
    if (nodes.length === 1) notes.push("one memory node: there is nowhere to migrate pages to (scans and move_pages still work)")
    if (new Set(nodes.map((n) => n.tier)).size > 1) notes.push(`tiers: ${nodes.map((n) => `node${n.id}=${n.label}`).join(", ")}`)

    const balancing = sys.readTextOr("/proc/sys/kernel/numa_balancing")?.trim()
    if (balancing !== undefined && balancing !== "0") {
      notes.push(`kernel NUMA balancing is on (numa_balancing=${balancing}): the kernel also moves pages, and may move kmm's migrations back`)
    }

    const detected = Sources.detect()
    const chosen = Sources.choose("auto", detected)
    const uid = process.getuid?.() ?? -1
    const euid = process.geteuid?.() ?? -1
    return {
      kernel: os.release(),
      pageSize: host.pageSize(),
      uid,
      euid,
      privileges: {
        capSysAdmin: host.hasCap(host.Cap.SYS_ADMIN),
        capSysNice: host.hasCap(host.Cap.SYS_NICE),
        capSysPtrace: host.hasCap(host.Cap.SYS_PTRACE)
      },
      kernelConfig: host.kernelConfig()?.source ?? null,
      checks,
      sources: detected.map((d) => ({ name: d.id, kinds: [...Sources.kindsOf(d.id)], available: d.available, ...(d.reason !== undefined ? { reason: d.reason } : {}) })),
      chosen: chosen._tag === "Right" ? chosen.right : "none",
      nodes,
      notes
    }
  })

/**
 * The report as text for a terminal.
 *
 * @since 0.1.0
 */
export const formatText = (r: DoctorReport): string => {
  const mark = (ok: boolean) => (ok ? "yes" : "no ")
  const p = r.privileges
  const lines = [
    `kernel ${r.kernel}, page size ${r.pageSize}, uid ${r.uid} (euid ${r.euid}); CAP_SYS_ADMIN ${p.capSysAdmin ? "yes" : "no"}, CAP_SYS_NICE ${p.capSysNice ? "yes" : "no"}, CAP_SYS_PTRACE ${p.capSysPtrace ? "yes" : "no"}`,
    `kernel configuration: ${r.kernelConfig ?? "not readable (reasons below are from probes)"}`,
    "",
    ...r.checks.map((c) => `${mark(c.available)}  ${c.name}${c.reason !== undefined ? `: ${c.reason}` : ""}`),
    "",
    "accessed-bit sources (in order of preference):",
    ...r.sources.map((s) => `${mark(s.available)}  ${s.name} [${s.kinds.join(", ")}]${s.reason !== undefined ? `: ${s.reason}` : ""}`),
    `source: auto picks ${r.chosen}${r.chosen === "none" ? " (scans report presence and nodes only)" : ""}`,
    "",
    "nodes:",
    ...r.nodes.map((n) => `  node${n.id}: tier ${n.tier} (${n.label}), ${n.cpus} CPUs, ${n.capacityPages} pages, ${n.freePages} free`)
  ]
  if (r.notes.length > 0) lines.push("", ...r.notes.map((n) => `note: ${n}`))
  return lines.join("\n")
}
