/**
 * Processes as targets: listed from /proc, filtered by a pid list, a command-name
 * pattern, a cgroup and a minimum resident set size. Kernel threads (no address space),
 * zombies and kmm's own process are never targets.
 *
 * @since 0.1.0
 */
import { BackendFailure, PermissionDenied } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"
import * as sys from "./internal/sys.js"

/**
 * Which processes to scan. Every filter given must match.
 *
 * @since 0.1.0
 */
export interface Selection {
  /** Only these pids (default: every process). */
  readonly pids?: ReadonlyArray<number> | undefined
  /** A regular expression the command name (/proc/PID/comm) must match. */
  readonly comm?: string | undefined
  /** A cgroup (v2) path, e.g. "/system.slice/app.service": the process's cgroup is it or lies below it. */
  readonly cgroup?: string | undefined
  /** Minimum resident set size, bytes. */
  readonly minRssBytes?: number | undefined
  /** Whether kmm's own process may be a target (default false). */
  readonly includeSelf?: boolean | undefined
}

/**
 * What /proc/PID/stat says of a process.
 *
 * @since 0.1.0
 */
export interface Stat {
  readonly pid: number
  readonly comm: string
  /** R, S, D, Z, T, ... */
  readonly state: string
  /** Kernel task flags (PF_*). */
  readonly flags: number
  /** Start time after boot, in clock ticks: with the pid, it names a process uniquely. */
  readonly startTime: number
  /** Resident set size, pages. */
  readonly rssPages: number
}

/** PF_KTHREAD. */
const PF_KTHREAD = 0x00200000

/**
 * Whether a process is a kernel thread (no address space to scan).
 *
 * @since 0.1.0
 */
export const isKernelThread = (s: Stat): boolean => (s.flags & PF_KTHREAD) !== 0

/**
 * Parses /proc/PID/stat. The command name sits in parentheses and may itself contain
 * spaces and parentheses, so fields are counted from the last ")".
 *
 * @since 0.1.0
 */
export const parseStat = (pid: number, text: string): Stat | undefined => {
  const open = text.indexOf("(")
  const close = text.lastIndexOf(")")
  if (open < 0 || close < open) return undefined
  const f = text.slice(close + 2).split(" ")
  // f[0] is field 3 (state); field n is f[n - 3].
  return {
    pid,
    comm: text.slice(open + 1, close),
    state: f[0],
    flags: Number(f[9 - 3]),
    startTime: Number(f[22 - 3]),
    rssPages: Number(f[24 - 3])
  }
}

/**
 * Reads /proc/PID/stat; undefined when the process is gone.
 *
 * @since 0.1.0
 */
export const stat = (pid: number): Stat | undefined => {
  const text = sys.readTextOr(`/proc/${pid}/stat`)
  return text === undefined ? undefined : parseStat(pid, text)
}

/**
 * The cgroup v2 path of a process (from the "0::" line of /proc/PID/cgroup), or the
 * first path listed on a cgroup v1 host; undefined when unreadable.
 *
 * @since 0.1.0
 */
export const cgroupOf = (pid: number): string | undefined => {
  const text = sys.readTextOr(`/proc/${pid}/cgroup`)
  if (text === undefined) return undefined
  const lines = text.split("\n").filter((l) => l.length > 0)
  const v2 = lines.find((l) => l.startsWith("0::"))
  const line = v2 ?? lines[0]
  return line === undefined ? undefined : line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1)
}

/** Whether `path` is `root` or lies below it. */
export const underCgroup = (path: string, root: string): boolean => {
  const r = root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root
  return r === "/" || path === r || path.startsWith(`${r}/`)
}

/**
 * Whether a process passes the selection's filters (not the pid list). O(1) reads.
 *
 * @since 0.1.0
 */
export const matches = (s: Stat, selection: Selection, commPattern: RegExp | undefined, pageSize: number): boolean => {
  if (isKernelThread(s) || s.state === "Z" || s.state === "X") return false
  if (s.pid === process.pid && selection.includeSelf !== true) return false
  if (commPattern !== undefined && !commPattern.test(s.comm)) return false
  if (selection.minRssBytes !== undefined && s.rssPages * pageSize < selection.minRssBytes) return false
  if (selection.cgroup !== undefined) {
    const cg = cgroupOf(s.pid)
    if (cg === undefined || !underCgroup(cg, selection.cgroup)) return false
  }
  return true
}

/**
 * The processes a selection names now. A pid of an explicit list that does not exist
 * is left out (it may not have started yet, or has exited). Fails with BackendFailure
 * when /proc cannot be listed, and with PermissionDenied when the selection is an
 * explicit pid list and kmm may not read one of them (an open question otherwise).
 *
 * @since 0.1.0
 */
export const list = (selection: Selection): Effect.Effect<ReadonlyArray<Stat>, BackendFailure | PermissionDenied> =>
  Effect.suspend((): Effect.Effect<ReadonlyArray<Stat>, BackendFailure | PermissionDenied> => {
    const pageSize = host.pageSize()
    const pattern = selection.comm === undefined ? undefined : new RegExp(selection.comm)
    let pids: ReadonlyArray<number>
    if (selection.pids !== undefined) {
      pids = selection.pids
    } else {
      const entries = sys.listDir("/proc")
      if (entries.length === 0) return Effect.fail(new BackendFailure({ operation: "targets", reason: "/proc cannot be listed", hint: "kmm needs procfs mounted at /proc" }))
      pids = entries.filter((e) => e.charCodeAt(0) >= 48 && e.charCodeAt(0) <= 57).map(Number)
    }
    const out: Array<Stat> = []
    for (const pid of pids) {
      const s = stat(pid)
      if (s === undefined || !matches(s, selection, pattern, pageSize)) continue
      out.push(s)
    }
    if (selection.pids !== undefined) {
      for (const s of out) {
        const denied = sys.tryOpen(`/proc/${s.pid}/pagemap`)
        if (denied !== undefined && sys.isDenied(denied)) {
          return Effect.fail(new PermissionDenied({ operation: "targets", path: denied.path, target: s.pid, errno: denied.code, hint: hints.ptraceRead }))
        }
      }
    }
    return Effect.succeed(out)
  })
