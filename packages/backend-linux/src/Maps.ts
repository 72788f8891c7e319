/**
 * /proc/PID/maps: a process's mappings (VMAs), and the rules for which ones kmm scans.
 * One small object per mapping; nothing per page.
 *
 * A mapping is skipped (with the reason kept, `kmm inspect` shows it) when its pages
 * cannot or should not be migrated:
 * - kernel special mappings: `[vsyscall]`, `[vvar]`, `[vvar_vclock]`, `[vdso]`,
 *   `[uprobes]` and any other bracketed name except `[heap]`, `[stack]`, `[anon:...]`
 *   and `[anon_shmem:...]`;
 * - no access (`---p`/`---s`): guard pages and reserved address space;
 * - device files (`/dev/...` other than `/dev/zero` and `/dev/shm/...`): VM_IO or
 *   VM_PFNMAP memory (frame buffers, DAX, PCI BARs) that has no migratable pages;
 * - hugetlb (`/anon_hugepage`, or a file on a hugetlbfs mount of kmm's mount
 *   namespace): skipped like the kmmscand series does; transparent huge pages are
 *   scanned.
 * Everything else (anonymous, heap, stack, file-backed, shared memory) is scanned.
 *
 * @since 0.1.0
 */
import type { BackendFailure, PermissionDenied, TargetGone } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import * as hints from "./internal/hints.js"
import * as sys from "./internal/sys.js"

/**
 * One mapping.
 *
 * @since 0.1.0
 */
export interface Area {
  /** First virtual page number. */
  readonly start: number
  readonly pages: number
  /** e.g. "rw-p". */
  readonly perms: string
  /** Offset in the file, in pages. */
  readonly offset: number
  readonly inode: number
  /** Path, `[heap]`-style name, or "" for anonymous memory. */
  readonly path: string
  /** Why kmm does not scan it; undefined when it does. */
  readonly skip: string | undefined
}

/**
 * What the rules need to know of the host.
 *
 * @since 0.1.0
 */
export interface Rules {
  /** Mount points of hugetlbfs (from /proc/self/mountinfo). */
  readonly hugetlbMounts: ReadonlyArray<string>
}

/** Addresses as hex strings to page numbers, exactly (addresses have up to 64 bits). */
const pageOf = (hex: string, pageShift: number): number => {
  const k4 = hex.length > 3 ? parseInt(hex.slice(0, -3), 16) : 0 // address >> 12, < 2^52
  return pageShift === 12 ? k4 : Math.floor(k4 / 2 ** (pageShift - 12))
}

const KEEP_BRACKETED = /^\[(heap|stack|anon:.*|anon_shmem:.*)\]$/

/**
 * Why a mapping is not scanned, or undefined. See the module comment for the rules.
 *
 * @since 0.1.0
 */
export const skipReason = (perms: string, path: string, rules: Rules): string | undefined => {
  if (path.startsWith("[") && !KEEP_BRACKETED.test(path)) return "kernel special mapping"
  if (perms.startsWith("---")) return "no access (guard or reserved range)"
  if (path.startsWith("/dev/") && path !== "/dev/zero" && !path.startsWith("/dev/zero ") && !path.startsWith("/dev/shm/")) {
    return "device mapping (VM_IO/VM_PFNMAP memory is not migratable)"
  }
  if (path.startsWith("/anon_hugepage")) return "hugetlb (not scanned, like kmmscand)"
  for (const m of rules.hugetlbMounts) if (path.startsWith(m.endsWith("/") ? m : `${m}/`)) return "hugetlb (not scanned, like kmmscand)"
  return undefined
}

/**
 * Parses the text of /proc/PID/maps. O(lines).
 *
 * @since 0.1.0
 */
export const parse = (text: string, pageShift: number, rules: Rules): Array<Area> => {
  const areas: Array<Area> = []
  for (const line of text.split("\n")) {
    // start-end perms offset dev inode [path]; the path may contain spaces.
    const m = LINE.exec(line)
    if (m === null) continue
    const start = pageOf(m[1], pageShift)
    const path = m[7]
    areas.push({
      start,
      pages: pageOf(m[2], pageShift) - start,
      perms: m[3],
      offset: pageOf(m[4], pageShift),
      inode: Number(m[6]),
      path,
      skip: skipReason(m[3], path, rules)
    })
  }
  return areas
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) (\S+) (\d+) *(.*)$/

/**
 * Reads and parses /proc/PID/maps. An empty file means the process has no address space
 * (a kernel thread, or a process that has exited and not yet been reaped).
 *
 * @since 0.1.0
 */
export const read = (pid: number, pageShift: number, rules: Rules): Effect.Effect<Array<Area>, TargetGone | PermissionDenied | BackendFailure> =>
  sys.readText(`/proc/${pid}/maps`).pipe(
    Effect.map((text) => parse(text, pageShift, rules)),
    Effect.mapError((e) => sys.classify(e, { operation: "read maps", target: pid, hint: hints.ptraceRead }))
  )

/**
 * Pages of the mappings kmm scans. O(mappings).
 *
 * @since 0.1.0
 */
export const scannablePages = (areas: ReadonlyArray<Area>): number => {
  let pages = 0
  for (const a of areas) if (a.skip === undefined) pages += a.pages
  return pages
}

/**
 * Mount points of hugetlbfs in kmm's mount namespace, from /proc/self/mountinfo.
 *
 * @since 0.1.0
 */
export const hugetlbMounts = (): ReadonlyArray<string> => {
  const text = sys.readTextOr("/proc/self/mountinfo") ?? ""
  const mounts: Array<string> = []
  for (const line of text.split("\n")) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const sep = line.indexOf(" - ")
    if (sep < 0) continue
    if (line.slice(sep + 3).split(" ")[0] !== "hugetlbfs") continue
    const mountpoint = line.split(" ")[4]
    if (mountpoint !== undefined) mounts.push(mountpoint.replace(/\\040/g, " "))
  }
  return mounts
}
