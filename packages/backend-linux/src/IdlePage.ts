/**
 * The idle page bitmap, /sys/kernel/mm/page_idle/bitmap: one bit per page frame, in
 * 64-bit words. Writing a 1 bit marks a page idle (and clears its accessed bits in the
 * page tables); reading it later returns 1 if no one touched the page since. kmm reads
 * the bits of a chunk's present pages (by PFN), reports those found not idle as
 * accessed, and marks them idle again: a real harvest-and-clear of the accessed bit,
 * reads and writes alike. It needs CONFIG_IDLE_PAGE_TRACKING and root (PFNs, and the
 * file is mode 0600).
 *
 * The bits of a chunk's pages are read and written in spans of whole words (word
 * indices merged when at most 64 words apart): one pread and one pwrite per span.
 *
 * @since 0.1.0
 */
import { BackendFailure, PermissionDenied } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import type { Detection } from "./internal/detection.js"
import { no, yes } from "./internal/detection.js"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"
import * as spans from "./internal/spans.js"
import * as sys from "./internal/sys.js"

/** @since 0.1.0 */
export const PATH = "/sys/kernel/mm/page_idle/bitmap"

/**
 * Whether the idle page bitmap is there and usable, and why not.
 *
 * @since 0.1.0
 */
export const detect = (): Detection => {
  if (!sys.exists(PATH)) {
    const config = host.configHas("CONFIG_IDLE_PAGE_TRACKING")
    return no(
      config === false
        ? `${PATH} does not exist: the kernel is built without CONFIG_IDLE_PAGE_TRACKING (from ${host.kernelConfig()?.source})`
        : `${PATH} does not exist (the kernel lacks CONFIG_IDLE_PAGE_TRACKING)`
    )
  }
  const err = sys.tryOpen(PATH, true)
  if (err !== undefined) return no(sys.isDenied(err) ? `${PATH} is not writable by this user (${err.code}). ${hints.pfn}` : `${PATH}: ${err.message}`)
  if (!host.hasCap(host.Cap.SYS_ADMIN)) return no(`pagemap reports page frame numbers only with CAP_SYS_ADMIN, and the bitmap is indexed by them. ${hints.pfn}`)
  return yes("reads and writes: per-page accessed bits, harvested and cleared through page frame numbers")
}

/**
 * An open bitmap.
 *
 * @since 0.1.0
 */
export interface Bitmap {
  readonly fd: number
}

/**
 * Opens the bitmap for reading and writing.
 *
 * @since 0.1.0
 */
export const open: Effect.Effect<Bitmap, PermissionDenied | BackendFailure> = sys.open(PATH, "r+").pipe(
  Effect.map((fd) => ({ fd })),
  Effect.mapError((e) => sys.classifyHost(e, "open the idle page bitmap", hints.pfn))
)

/**
 * Closes the bitmap.
 *
 * @since 0.1.0
 */
export const close = (bitmap: Bitmap): Effect.Effect<void> => sys.close(bitmap.fd)

/** Words further apart than this are read in separate spans. */
const GAP = 64

/**
 * Harvests the bits of `n` present pages: page k has frame `pfn[k]` and index
 * `index[k]` in the chunk. When `report`, pages found not idle get their bit set in
 * `accessed`; then all are marked idle. Returns the pages found accessed.
 * O(n log n) for the sort, plus the kernel's work per page.
 *
 * @since 0.1.0
 */
export const harvest = (
  bitmap: Bitmap,
  pfn: Float64Array,
  index: Int32Array,
  n: number,
  accessed: Uint32Array,
  report: boolean
): Effect.Effect<number, PermissionDenied | BackendFailure> =>
  Effect.gen(function* () {
    if (n === 0) return 0
    const words = new Float64Array(n)
    for (let k = 0; k < n; k++) words[k] = Math.floor(pfn[k] / 64)
    const sp = spans.build(words, n, GAP)
    const bits = new Uint32Array(sp.total * 2)
    const mask = new Uint32Array(sp.total * 2)
    const bytes = new Uint8Array(bits.buffer)
    const maskBytes = new Uint8Array(mask.buffer)
    const fail = (e: sys.SysError) => sys.classifyHost(e, "idle page bitmap", hints.pfn)
    if (report) {
      for (let s = 0; s < sp.start.length; s++) {
        yield* sys.preadSync(bitmap.fd, bytes.subarray(sp.base[s] * 8), sp.length[s] * 8, sp.start[s] * 8, PATH).pipe(Effect.mapError(fail))
      }
    }
    // O(n log words): find each page's word, test its idle bit, set its mark.
    let found = 0
    for (let k = 0; k < n; k++) {
      const w = words[k]
      const bit = pfn[k] - w * 64
      const at = spans.find(sp, w) * 2 + (bit >= 32 ? 1 : 0)
      const m = 1 << (bit & 31)
      mask[at] |= m
      if (report && (bits[at] & m) === 0) {
        const i = index[k]
        accessed[i >>> 5] |= 1 << (i & 31)
        found++
      }
    }
    for (let s = 0; s < sp.start.length; s++) {
      yield* sys.pwriteSync(bitmap.fd, maskBytes.subarray(sp.base[s] * 8), sp.length[s] * 8, sp.start[s] * 8, PATH).pipe(Effect.mapError(fail))
    }
    return found
  })
