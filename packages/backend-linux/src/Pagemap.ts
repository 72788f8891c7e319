/**
 * /proc/PID/pagemap: one 64-bit entry per virtual page. kmm reads it in large batched
 * preads (a whole window of a mapping at a time, 64 Ki pages by default: 512 KiB) on
 * libuv's thread pool, and decodes the entries with plain loops over a Uint32Array view
 * of the bytes (no BigInt, no object per page).
 *
 * Entry bits (Documentation/admin-guide/mm/pagemap.rst), as seen in the high 32-bit word
 * (`hi`) and low word (`lo`) of a little-endian entry:
 * - 63 present, 62 swapped, 61 file-page or shared-anon, 58 guard region (6.13+),
 *   57 uffd-wp, 56 exclusively mapped, 55 soft-dirty;
 * - 0-54 page frame number when present (zero without CAP_SYS_ADMIN).
 *
 * @since 0.1.0
 */
import type { BackendFailure, PermissionDenied } from "@kmm/core/Errors"
import { TargetGone } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"
import * as sys from "./internal/sys.js"

/** Bytes per pagemap entry. @since 0.1.0 */
export const ENTRY_BYTES = 8

/**
 * Flag bits of an entry's high 32-bit word (entry bit n is bit n - 32 here).
 *
 * @since 0.1.0
 */
export const Hi = {
  PRESENT: 0x80000000,
  SWAPPED: 0x40000000,
  FILE_SHARED: 0x20000000,
  GUARD: 0x04000000,
  UFFD_WP: 0x02000000,
  EXCLUSIVE: 0x01000000,
  SOFT_DIRTY: 0x00800000,
  /** PFN bits 32-54. */
  PFN_HIGH: 0x007fffff
} as const

/**
 * The page frame number of an entry from its two words (exact: PFNs have 55 bits).
 *
 * @since 0.1.0
 */
export const pfnOf = (lo: number, hi: number): number => (hi & Hi.PFN_HIGH) * 4294967296 + (lo >>> 0)

/**
 * An open pagemap of one process. The descriptor pins the process's mm: once the
 * process exits, reads return nothing, which is how a scan learns it is gone.
 *
 * @since 0.1.0
 */
export interface Reader {
  readonly pid: number
  readonly path: string
  readonly fd: number
}

/**
 * Opens /proc/PID/pagemap. Fails with TargetGone when the process does not exist, or
 * PermissionDenied (ptrace access) when it is another user's.
 *
 * @since 0.1.0
 */
export const open = (pid: number): Effect.Effect<Reader, TargetGone | PermissionDenied | BackendFailure> => {
  const path = `/proc/${pid}/pagemap`
  return sys.open(path).pipe(
    Effect.map((fd): Reader => ({ pid, path, fd })),
    Effect.mapError((e) => sys.classify(e, { operation: "open pagemap", target: pid, hint: hints.ptraceRead }))
  )
}

/**
 * Closes a reader.
 *
 * @since 0.1.0
 */
export const close = (reader: Reader): Effect.Effect<void> => sys.close(reader.fd)

/**
 * Reads the entries of virtual pages [start, start + count) into `into` (two words per
 * page; `into` must hold 2 * count words), in one pread where the kernel allows. Fails
 * with TargetGone when the process has exited (the read returns nothing).
 *
 * @since 0.1.0
 */
export const read = (
  reader: Reader,
  start: number,
  count: number,
  into: Uint32Array
): Effect.Effect<void, TargetGone | PermissionDenied | BackendFailure> => {
  if (into.length < count * 2) return Effect.die(new RangeError(`pagemap read of ${count} pages into ${into.length / 2} entries`))
  const bytes = new Uint8Array(into.buffer, into.byteOffset, count * ENTRY_BYTES)
  return sys.preadFully(reader.fd, bytes, count * ENTRY_BYTES, start * ENTRY_BYTES, reader.path).pipe(
    Effect.mapError((e) => sys.classify(e, { operation: "read pagemap", target: reader.pid, hint: hints.ptraceRead })),
    Effect.flatMap((n) =>
      n === count * ENTRY_BYTES ? Effect.void : Effect.fail(new TargetGone({ target: reader.pid, operation: "read pagemap" }))
    )
  )
}

/**
 * Reads the entries of pages [start, start + count) into `into` in pieces of `piece`
 * entries, and calls `consume(from, to)` for each piece (entries [from, to) of `into`,
 * relative to `start`), in order, as soon as it is in. Up to `depth` pieces are read at
 * once on libuv's thread pool, and the next reads are issued before a piece is handed
 * over, so the kernel fills pieces (several at a time, on as many cores) while
 * JavaScript decodes. One Effect for the whole window (no per-piece fibers); it completes only
 * once no read is in flight, so `into` is free again when it does. Every window is
 * read on the pool, even a small one: a scan step always waits for I/O once, so a
 * scanning fiber never keeps the JS thread from other fibers and the event loop.
 *
 * @since 0.1.0
 */
export const readPieces = (
  reader: Reader,
  start: number,
  count: number,
  into: Uint32Array,
  piece: number,
  consume: (from: number, to: number) => void,
  depth = 2
): Effect.Effect<void, TargetGone | PermissionDenied | BackendFailure> =>
  Effect.async<void, TargetGone | PermissionDenied | BackendFailure>((resume) => {
    if (into.length < count * 2) return resume(Effect.die(new RangeError(`pagemap read of ${count} pages into ${into.length / 2} entries`)))
    const bytes = new Uint8Array(into.buffer, into.byteOffset, count * ENTRY_BYTES)
    const pieces = Math.ceil(count / piece)
    const fail = (e: unknown) =>
      resume(Effect.fail(sys.classify(sys.sysError(e, reader.path), { operation: "read pagemap", target: reader.pid, hint: hints.ptraceRead })))
    // Up to `depth` pieces are read at once (the pool's threads read in parallel); they
    // are handed to `consume` in order, each once it and those before it are in.
    const state = new Uint8Array(pieces) // 0 pending, 1 in, 2 short (the process exited) or failed
    let issued = 0
    let consumed = 0
    let inFlight = 0
    let stopped = false
    let error: unknown
    let defect: unknown
    // Reads piece j, looping on short reads.
    const read = (j: number, at: number): void => {
      const end = Math.min(count, (j + 1) * piece)
      fs.read(reader.fd, bytes, at * ENTRY_BYTES, (end - at) * ENTRY_BYTES, (start + at) * ENTRY_BYTES, (err, n) => {
        if (!err && n > 0 && at + n / ENTRY_BYTES < end) return read(j, at + n / ENTRY_BYTES)
        if (err) error ??= err
        inFlight--
        state[j] = !err && n > 0 ? 1 : 2
        drain()
      })
    }
    const fill = () => {
      for (; !stopped && issued < pieces && issued - consumed < depth; issued++, inFlight++) read(issued, issued * piece)
    }
    const drain = () => {
      while (!stopped && consumed < pieces && state[consumed] !== 0) {
        if (state[consumed] === 2) {
          stopped = true
          break
        }
        const j = consumed++
        fill() // the next reads go on while this piece is decoded
        try {
          consume(j * piece, Math.min(count, (j + 1) * piece))
        } catch (e) {
          stopped = true
          defect = e
        }
      }
      if (inFlight > 0) return // settle only once no read can still write into `into`
      if (defect !== undefined) resume(Effect.die(defect))
      else if (error !== undefined) fail(error)
      else if (stopped) resume(Effect.fail(new TargetGone({ target: reader.pid, operation: "read pagemap" })))
      else if (consumed === pieces) resume(Effect.void)
    }
    fill()
  })

/**
 * The frames of the kernel's zero pages: `small`, the zero page every never-written
 * page a process has read maps to, and `huge`, the first of the frames of the huge zero
 * page (a transparent huge page's worth), where they were found.
 *
 * @since 0.1.0
 */
export interface ZeroFrames {
  readonly small: number | undefined
  readonly huge: number | undefined
  /** Frames in the huge zero page. */
  readonly hugePages: number
}

let zero: ZeroFrames | undefined

const KPF_ZERO_PAGE = 1 << 24

/** Reads the low 32 flag bits of frames [first, first + count) from /proc/kpageflags. */
const frameFlags = (first: number, count: number): Uint32Array | undefined => {
  let fd: number | undefined
  try {
    fd = fs.openSync("/proc/kpageflags", "r")
    const words = new Uint32Array(2 * count)
    const n = fs.readSync(fd, new Uint8Array(words.buffer), 0, 8 * count, first * 8) / 8
    const flags = new Uint32Array(n)
    for (let i = 0; i < n; i++) flags[i] = words[2 * i]
    return flags
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** The zero page lies in the kernel's bss (or data): its frame is the one flagged KPF_ZERO_PAGE there. */
const smallFromKernelImage = (pageSize: number): number | undefined => {
  const iomem = sys.readTextOr("/proc/iomem") ?? ""
  for (const m of iomem.matchAll(/^\s*([0-9a-f]+)-([0-9a-f]+) : Kernel (bss|data)$/gm)) {
    const first = Math.floor(parseInt(m[1], 16) / pageSize)
    const last = Math.floor(parseInt(m[2], 16) / pageSize)
    if (first === 0 || last - first > 1 << 20) continue // addresses hidden (not root), or implausible
    const flags = frameFlags(first, last - first + 1)
    if (flags === undefined) return undefined
    for (let i = 0; i < flags.length; i++) if ((flags[i] & KPF_ZERO_PAGE) !== 0) return first + i
  }
  return undefined
}

/**
 * Frames that many of kmm's own pages map after it reads a fresh buffer: the small zero
 * page (one frame, mapped again and again) and, where transparent huge pages are on for
 * every mapping, the huge zero page (page v maps its first frame + v mod its size).
 */
const fromOwnPages = (pageSize: number, hugePages: number): { small: number | undefined; huge: number | undefined } => {
  // 40 MiB: above glibc's largest mmap threshold (32 MiB), so a fresh anonymous mapping
  // that nothing has written; reading some of its pages maps them to a zero page.
  const probe = new Uint8Array(40 << 20)
  let sink = 0
  for (let i = 0; i < 64; i++) sink += probe[i * 16 * pageSize]
  const repeated = new Map<number, number>()
  const shifted = new Map<number, number>()
  let fd: number | undefined
  try {
    fd = fs.openSync("/proc/self/pagemap", "r")
    for (const line of (sys.readTextOr("/proc/self/maps") ?? "").split("\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw.p 00000000 00:00 0 /.exec(line)
      if (m === null) continue
      const start = Math.floor(parseInt(m[1], 16) / pageSize)
      const pages = Math.min(Math.floor(parseInt(m[2], 16) / pageSize) - start, 1 << 16)
      const bytes = new Uint8Array(pages * ENTRY_BYTES)
      const n = fs.readSync(fd, bytes, 0, bytes.length, start * ENTRY_BYTES) / ENTRY_BYTES
      const words = new Uint32Array(bytes.buffer)
      for (let i = 0; i < n; i++) {
        const hi = words[2 * i + 1]
        if ((hi & Hi.PRESENT) === 0) continue
        const pfn = pfnOf(words[2 * i], hi)
        if (pfn === 0) continue
        repeated.set(pfn, (repeated.get(pfn) ?? 0) + 1)
        const base = pfn - ((start + i) % hugePages)
        shifted.set(base, (shifted.get(base) ?? 0) + 1)
      }
    }
  } catch {
    return { small: undefined, huge: undefined }
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
  const most = (counts: Map<number, number>): number | undefined => {
    let best: number | undefined
    let times = 31 // at least 32 of the 64 pages read
    for (const [k, v] of counts) if (v > times) [best, times] = [k, v]
    return best
  }
  const confirmed = (pfn: number | undefined) => (pfn !== undefined && sink === 0 && ((frameFlags(pfn, 1)?.[0] ?? KPF_ZERO_PAGE) & KPF_ZERO_PAGE) !== 0 ? pfn : undefined)
  const small = confirmed(most(repeated))
  const huge = small === undefined ? confirmed(most(shifted)) : undefined
  return { small, huge }
}

/**
 * The kernel's zero pages, found once, where frame numbers are visible (CAP_SYS_ADMIN):
 * the small one among the kernel image's frames flagged KPF_ZERO_PAGE in
 * /proc/kpageflags (the ranges /proc/iomem names "Kernel bss" and "Kernel data"), and
 * either from the frames many of kmm's own pages map after it reads a fresh buffer;
 * the huge one only that way (where transparent huge pages are on for every mapping).
 *
 * @since 0.1.0
 */
export const zeroFrames = (): ZeroFrames => {
  if (zero !== undefined) return zero
  const pageSize = host.pageSize()
  const pmd = Number(sys.readTextOr("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")?.trim() ?? 2 << 20)
  const hugePages = Math.max(1, Math.floor(pmd / pageSize))
  const own = fromOwnPages(pageSize, hugePages)
  zero = { small: smallFromKernelImage(pageSize) ?? own.small, huge: own.huge, hugePages }
  return zero
}

/**
 * Counts of a window of entries.
 *
 * @since 0.1.0
 */
export interface Summary {
  present: number
  swapped: number
  softDirty: number
  exclusive: number
  /** Present entries whose PFN is non-zero (zero for all without CAP_SYS_ADMIN). */
  withPfn: number
}

/**
 * Counts present, swapped, soft-dirty, exclusive pages and non-zero PFNs in `count`
 * entries. O(count).
 *
 * @since 0.1.0
 */
export const summarize = (words: Uint32Array, count: number, into?: Summary): Summary => {
  const s = into ?? { present: 0, swapped: 0, softDirty: 0, exclusive: 0, withPfn: 0 }
  for (let i = 0; i < count; i++) {
    const hi = words[2 * i + 1]
    if ((hi & Hi.PRESENT) !== 0) {
      s.present++
      if ((words[2 * i] | (hi & Hi.PFN_HIGH)) !== 0) s.withPfn++
      if ((hi & Hi.EXCLUSIVE) !== 0) s.exclusive++
    } else if ((hi & Hi.SWAPPED) !== 0) {
      s.swapped++
    }
    if ((hi & Hi.SOFT_DIRTY) !== 0) s.softDirty++
  }
  return s
}
