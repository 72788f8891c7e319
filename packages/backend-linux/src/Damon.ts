/**
 * DAMON through its sysfs interface (/sys/kernel/mm/damon/admin): region-based access
 * sampling by a kernel thread (kdamond), with overhead bounded by the region count
 * (between `minRegions` and `maxRegions` regions, one sampled page each per sampling
 * interval), whatever the memory size.
 *
 * Two modes:
 * - `paddr` (physical addresses): the memory of every node. The kernel takes one
 *   physical target per context; its initial regions are the nodes' online memory
 *   ranges (from their memory blocks). A scan maps each present page to its region
 *   through the page's frame number (so it needs CAP_SYS_ADMIN).
 * - `vaddr` (virtual addresses, per process): one DAMON target per scanned process;
 *   regions are virtual address ranges of that process.
 *
 * kmm reads regions with a DAMOS scheme of action `stat` (it changes nothing) that
 * matches every region, and the kdamond command `update_schemes_tried_regions`: each
 * region's `start`, `end`, `nr_accesses` (sampled accesses in the last aggregation
 * interval) and `age`. In vaddr mode one scheme per process, each with a `target`
 * filter, keeps the processes' regions apart.
 *
 * DAMON's sysfs can add kdamonds only while none runs, and changing their number
 * removes the existing ones' directories. So kmm starts DAMON only when no kdamond is
 * set up (nr_kdamonds is 0), never stops or rewrites another program's kdamonds, and
 * on shutdown turns its kdamond off and sets nr_kdamonds back to 0.
 *
 * Files written: kdamonds/nr_kdamonds, and under kdamonds/0: state, and
 * contexts/nr_contexts, contexts/0/{operations, monitoring_attrs/intervals/{sample_us,
 * aggr_us, update_us}, monitoring_attrs/nr_regions/{min, max}, targets/...,
 * schemes/...}.
 *
 * @since 0.1.0
 */
import { BackendFailure, PermissionDenied } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type { NodeMemory } from "./HostTopology.js"
import type { Detection } from "./internal/detection.js"
import { no, yes } from "./internal/detection.js"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"
import * as sys from "./internal/sys.js"

/** @since 0.1.0 */
export const ADMIN = "/sys/kernel/mm/damon/admin"
const KDAMONDS = `${ADMIN}/kdamonds`

/**
 * Monitoring attributes.
 *
 * @since 0.1.0
 */
export interface Attrs {
  /** Sampling interval, microseconds. */
  readonly sampleUs: number
  /** Aggregation interval (nr_accesses is counted over it), microseconds. */
  readonly aggregateUs: number
  /** How often vaddr regions follow the process's mappings, microseconds. */
  readonly updateUs: number
  readonly minRegions: number
  readonly maxRegions: number
}

/**
 * DAMON's modes.
 *
 * @since 0.1.0
 */
export type Mode = "paddr" | "vaddr"

/**
 * Who holds DAMON's sysfs now: undefined when it is free for kmm, else why not.
 *
 * @since 0.1.0
 */
export const busy = (): string | undefined => {
  const nr = Number((sys.readTextOr(`${KDAMONDS}/nr_kdamonds`) ?? "0").trim())
  if (!(nr > 0)) return undefined
  const running: Array<string> = []
  for (let k = 0; k < nr; k++) if (sys.readTextOr(`${KDAMONDS}/${k}/state`)?.trim() === "on") running.push(`kdamond ${k}`)
  if (running.length > 0) {
    return (
      `DAMON is in use by another program (${running.join(", ")} running, with its own configuration). ` +
      "DAMON's sysfs can add kdamonds only while none runs, and kmm never stops or rewrites kdamonds it did not start"
    )
  }
  return (
    `${nr} stopped kdamond${nr === 1 ? " is" : "s are"} set up in ${KDAMONDS} by another program; starting kmm's would remove ` +
    `${nr === 1 ? "it" : "them"}. When nothing needs ${nr === 1 ? "it" : "them"}, \`echo 0 > ${KDAMONDS}/nr_kdamonds\` frees DAMON for kmm`
  )
}

/** Which operation sets the kernel has: from its config, else from an existing context's avail_operations. */
const operations = (): { vaddr: boolean | undefined; paddr: boolean | undefined; source: string } => {
  const vaddr = host.configHas("CONFIG_DAMON_VADDR")
  const paddr = host.configHas("CONFIG_DAMON_PADDR")
  if (vaddr !== undefined && paddr !== undefined) return { vaddr, paddr, source: `kernel configuration, ${host.kernelConfig()?.source}` }
  for (const k of sys.listDir(KDAMONDS)) {
    const avail = sys.readTextOr(`${KDAMONDS}/${k}/contexts/0/avail_operations`)
    if (avail !== undefined) {
      const ops = avail.trim().split(/\s+/)
      return { vaddr: ops.includes("vaddr"), paddr: ops.includes("paddr"), source: "avail_operations" }
    }
  }
  return { vaddr: undefined, paddr: undefined, source: "unknown" }
}

/**
 * Whether each mode can be used by kmm, and why not.
 *
 * @since 0.1.0
 */
export const detect = (): { readonly vaddr: Detection; readonly paddr: Detection } => {
  if (!sys.exists(ADMIN)) {
    const cfg = host.configHas("CONFIG_DAMON_SYSFS")
    const why = `${ADMIN} does not exist: the kernel is built without ${cfg === false ? "CONFIG_DAMON_SYSFS" : "DAMON's sysfs interface (CONFIG_DAMON_SYSFS)"}`
    return { vaddr: no(why), paddr: no(why) }
  }
  const ops = operations()
  const denied = sys.tryOpen(`${KDAMONDS}/nr_kdamonds`, true)
  const blocked = denied !== undefined ? (sys.isDenied(denied) ? `${denied.path}: ${denied.code}. ${hints.damon}` : denied.message) : busy()
  const mode = (name: Mode, has: boolean | undefined, option: string, extra?: string): Detection => {
    if (has === false) return no(`the kernel has DAMON without ${name} monitoring (${option} is not set; from ${ops.source})`)
    if (blocked !== undefined) return no(blocked)
    if (extra !== undefined) return no(extra)
    return yes(has === undefined ? `assumed present (the kernel's configuration is not readable); checked when started` : undefined)
  }
  return {
    vaddr: mode("vaddr", ops.vaddr, "CONFIG_DAMON_VADDR"),
    paddr: mode(
      "paddr",
      ops.paddr,
      "CONFIG_DAMON_PADDR",
      host.hasCap(host.Cap.SYS_ADMIN) ? undefined : `physical regions are mapped to a process's pages through page frame numbers. ${hints.pfn}`
    )
  }
}

/**
 * The regions DAMON reported at one time, in page units (frame numbers in paddr mode,
 * virtual page numbers in vaddr mode), sorted by start.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  /** When it was read, ms since the epoch. */
  readonly time: number
  readonly count: number
  readonly start: Float64Array
  readonly end: Float64Array
  /** Sampled accesses in the last aggregation interval. */
  readonly accesses: Uint32Array
  /** Aggregation intervals the region kept its access level. */
  readonly age: Uint32Array
}

/**
 * The index of the region holding `page`, or -1. Tries `hint` (the last answer) first,
 * then its successor, then a binary search: O(1) for pages in address order, else
 * O(log regions).
 *
 * @since 0.1.0
 */
export const regionOf = (s: Snapshot, page: number, hint: number): number => {
  const start = s.start
  const end = s.end
  if (hint >= 0 && hint < s.count) {
    if (page >= start[hint] && page < end[hint]) return hint
    const next = hint + 1
    if (next < s.count && page >= start[next] && page < end[next]) return next
  }
  let lo = 0
  let hi = s.count - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (end[mid] <= page) lo = mid + 1
    else if (start[mid] > page) hi = mid - 1
    else return mid
  }
  return -1
}

/**
 * A running kdamond of kmm's.
 *
 * @since 0.1.0
 */
export interface Monitor {
  readonly mode: Mode
  readonly attrs: Attrs
  /** The latest regions: of the machine (paddr), or of one process (vaddr). */
  readonly latest: (pid?: number) => Snapshot | undefined
  /** Asks the kdamond for its regions now (waits up to one aggregation interval). */
  readonly refresh: Effect.Effect<void, PermissionDenied | BackendFailure>
  /** vaddr: the processes to monitor (the kdamond is committed when the set changes). */
  readonly watch: (pids: ReadonlyArray<number>) => Effect.Effect<void, PermissionDenied | BackendFailure>
  /** The processes monitored now (vaddr). */
  readonly watched: () => ReadonlyArray<number>
}

const fail = (operation: string) => (e: sys.SysError) => sys.classifyHost(e, operation, hints.damon)

const write = (path: string, value: string | number, operation = "set up DAMON") => sys.writeText(path, String(value)).pipe(Effect.mapError(fail(operation)))

const U32_MAX = "4294967295"
const UL_MAX = "18446744073709551615"

/** One `stat` scheme matching every region; in vaddr mode limited to one target. */
const writeScheme = (dir: string, targetIdx: number | undefined) =>
  Effect.gen(function* () {
    yield* write(`${dir}/action`, "stat")
    yield* write(`${dir}/access_pattern/sz/min`, 0)
    yield* write(`${dir}/access_pattern/sz/max`, UL_MAX)
    yield* write(`${dir}/access_pattern/nr_accesses/min`, 0)
    yield* write(`${dir}/access_pattern/nr_accesses/max`, U32_MAX)
    yield* write(`${dir}/access_pattern/age/min`, 0)
    yield* write(`${dir}/access_pattern/age/max`, U32_MAX)
    if (targetIdx !== undefined) {
      // Filter out the regions of every other target (older kernels: a matching
      // filter excludes; newer ones: `allow` defaults to N, which excludes too).
      yield* write(`${dir}/filters/nr_filters`, 1)
      yield* write(`${dir}/filters/0/type`, "target")
      yield* write(`${dir}/filters/0/damon_target_idx`, targetIdx)
      yield* write(`${dir}/filters/0/matching`, "N")
    }
  })

/** Reads one scheme's tried regions into a snapshot. O(regions) small reads. */
const readTried = (dir: string, pageSize: number, time: number): Snapshot => {
  const entries = sys
    .listDir(`${dir}/tried_regions`)
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
  const n = entries.length
  const start = new Float64Array(n)
  const end = new Float64Array(n)
  const accesses = new Uint32Array(n)
  const age = new Uint32Array(n)
  const order = new Int32Array(n)
  let count = 0
  for (const e of entries) {
    const r = `${dir}/tried_regions/${e}`
    const s = Number(sys.readTextOr(`${r}/start`)?.trim())
    const t = Number(sys.readTextOr(`${r}/end`)?.trim())
    if (!Number.isFinite(s) || !Number.isFinite(t) || t <= s) continue
    start[count] = Math.floor(s / pageSize)
    end[count] = Math.ceil(t / pageSize)
    accesses[count] = Number(sys.readTextOr(`${r}/nr_accesses`)?.trim() ?? 0)
    age[count] = Number(sys.readTextOr(`${r}/age`)?.trim() ?? 0)
    order[count] = count
    count++
  }
  // Sorted by start (DAMON lists them in address order; make sure).
  const idx = Array.from(order.subarray(0, count)).sort((a, b) => start[a] - start[b])
  const pick = <A extends Float64Array | Uint32Array>(src: A, make: (n: number) => A): A => {
    const out = make(count)
    for (let i = 0; i < count; i++) out[i] = src[idx[i]]
    return out
  }
  return {
    time,
    count,
    start: pick(start, (k) => new Float64Array(k)),
    end: pick(end, (k) => new Float64Array(k)),
    accesses: pick(accesses, (k) => new Uint32Array(k)),
    age: pick(age, (k) => new Uint32Array(k))
  }
}

/**
 * Starts kmm's kdamond in the current scope (turned off and removed when the scope
 * closes). paddr needs the nodes' memory; vaddr starts when `watch` names processes.
 *
 * @since 0.1.0
 */
export const start = (
  mode: Mode,
  attrs: Attrs,
  memory: ReadonlyArray<NodeMemory>
): Effect.Effect<Monitor, PermissionDenied | BackendFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const detected = detect()[mode]
    if (!detected.available) return yield* Effect.fail(new BackendFailure({ operation: `start DAMON (${mode})`, reason: detected.reason ?? "unavailable" }))
    const pageSize = host.pageSize()
    const kd = `${KDAMONDS}/0`
    const ctx = `${kd}/contexts/0`
    let running = false
    let pids: ReadonlyArray<number> = []
    let machine: Snapshot | undefined
    const perPid = new Map<number, Snapshot>()

    // Commands to the kdamond go one at a time (DAMON answers EBUSY to a second one).
    const lock = yield* Effect.makeSemaphore(1)
    const serial = <A, E>(effect: Effect.Effect<A, E>) => lock.withPermits(1)(Effect.uninterruptible(effect))
    // On shutdown: off, then no kdamonds; retried while DAMON is still busy with a command.
    const retry = (path: string, value: string) =>
      sys.writeText(path, value).pipe(Effect.retry({ while: (e) => e.code === "EBUSY", schedule: Schedule.spaced("50 millis"), times: 40 }), Effect.ignore)
    yield* Effect.acquireRelease(write(`${KDAMONDS}/nr_kdamonds`, 1), () =>
      serial(
        Effect.gen(function* () {
          if (running) yield* retry(`${kd}/state`, "off")
          yield* retry(`${KDAMONDS}/nr_kdamonds`, "0")
        })
      )
    )
    yield* write(`${kd}/contexts/nr_contexts`, 1)
    yield* write(`${ctx}/operations`, mode)
    yield* write(`${ctx}/monitoring_attrs/intervals/sample_us`, attrs.sampleUs)
    yield* write(`${ctx}/monitoring_attrs/intervals/aggr_us`, attrs.aggregateUs)
    yield* write(`${ctx}/monitoring_attrs/intervals/update_us`, attrs.updateUs)
    yield* write(`${ctx}/monitoring_attrs/nr_regions/min`, attrs.minRegions)
    yield* write(`${ctx}/monitoring_attrs/nr_regions/max`, attrs.maxRegions)

    if (mode === "paddr") {
      // The kernel takes one physical target per context: its initial regions are the
      // nodes' memory ranges, in address order.
      const ranges = memory.flatMap((m) => m.ranges).sort((a, b) => a[0] - b[0])
      yield* write(`${ctx}/targets/nr_targets`, 1)
      yield* write(`${ctx}/targets/0/regions/nr_regions`, ranges.length)
      for (let r = 0; r < ranges.length; r++) {
        yield* write(`${ctx}/targets/0/regions/${r}/start`, ranges[r][0] * pageSize)
        yield* write(`${ctx}/targets/0/regions/${r}/end`, ranges[r][1] * pageSize)
      }
      yield* write(`${ctx}/schemes/nr_schemes`, 1)
      yield* writeScheme(`${ctx}/schemes/0`, undefined)
      yield* write(`${kd}/state`, "on", "start DAMON")
      running = true
    }

    const watch = (next: ReadonlyArray<number>) =>
      serial(Effect.gen(function* () {
        if (mode !== "vaddr") return
        // The kdamond stops by itself once every process it watched has exited; a pid
        // that has exited since it was listed would make DAMON refuse the whole set.
        if (running && sys.readTextOr(`${kd}/state`)?.trim() !== "on") {
          running = false
          pids = []
        }
        const sorted = [...new Set(next)].filter((p) => sys.exists(`/proc/${p}`)).sort((a, b) => a - b)
        if (sorted.length === pids.length && sorted.every((p, i) => p === pids[i])) return
        yield* write(`${ctx}/targets/nr_targets`, sorted.length)
        for (let t = 0; t < sorted.length; t++) yield* write(`${ctx}/targets/${t}/pid_target`, sorted[t])
        yield* write(`${ctx}/schemes/nr_schemes`, sorted.length)
        for (let t = 0; t < sorted.length; t++) yield* writeScheme(`${ctx}/schemes/${t}`, t)
        if (sorted.length === 0) {
          if (running) yield* write(`${kd}/state`, "off", "stop DAMON")
          running = false
        } else if (running) {
          yield* write(`${kd}/state`, "commit", "update DAMON's targets")
        } else {
          yield* write(`${kd}/state`, "on", "start DAMON")
          running = true
        }
        pids = sorted
        for (const p of [...perPid.keys()]) if (!sorted.includes(p)) perPid.delete(p)
      }))

    const refresh = serial(Effect.gen(function* () {
      if (!running) return
      const state = sys.readTextOr(`${kd}/state`)?.trim()
      if (state !== "on") {
        // vaddr: the kdamond stops by itself when every monitored process has exited.
        running = false
        pids = []
        perPid.clear()
        return
      }
      yield* sys.writeTextAsync(`${kd}/state`, "update_schemes_tried_regions").pipe(Effect.mapError(fail("read DAMON regions")))
      const now = Date.now()
      if (mode === "paddr") machine = readTried(`${ctx}/schemes/0`, pageSize, now)
      else for (let t = 0; t < pids.length; t++) perPid.set(pids[t], readTried(`${ctx}/schemes/${t}`, pageSize, now))
    }))

    return {
      mode,
      attrs,
      latest: (pid) => (mode === "paddr" ? machine : pid === undefined ? undefined : perPid.get(pid)),
      refresh,
      watch,
      watched: () => pids
    }
  })
