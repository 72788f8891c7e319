/**
 * /proc/kpageflags: flags of each page frame, 64 bits per frame (the flags kmm uses sit
 * in the low 32). Read in spans over a batch's sorted frame numbers (one pread per
 * span; frames at most 64 apart share a span). Root only (CAP_SYS_ADMIN), like PFNs.
 *
 * @since 0.1.0
 */
import type { BackendFailure, PermissionDenied } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import type { Detection } from "./internal/detection.js"
import { no, yes } from "./internal/detection.js"
import * as hints from "./internal/hints.js"
import * as spans from "./internal/spans.js"
import * as sys from "./internal/sys.js"

/** @since 0.1.0 */
export const PATH = "/proc/kpageflags"

/**
 * Flag bits (include/uapi/linux/kernel-page-flags.h).
 *
 * @since 0.1.0
 */
export const Flag = {
  REFERENCED: 1 << 2,
  DIRTY: 1 << 4,
  LRU: 1 << 5,
  ACTIVE: 1 << 6,
  MMAP: 1 << 11,
  ANON: 1 << 12,
  SWAPBACKED: 1 << 14,
  COMPOUND_HEAD: 1 << 15,
  COMPOUND_TAIL: 1 << 16,
  /** hugetlb. */
  HUGE: 1 << 17,
  UNEVICTABLE: 1 << 18,
  NOPAGE: 1 << 20,
  KSM: 1 << 21,
  /** Part of a transparent huge page. */
  THP: 1 << 22,
  ZERO_PAGE: 1 << 24,
  IDLE: 1 << 25
} as const

/**
 * Whether kpageflags can be read, and why not.
 *
 * @since 0.1.0
 */
export const detect = (): Detection => {
  if (!sys.exists(PATH)) return no(`${PATH} does not exist (the kernel lacks CONFIG_PROC_PAGE_MONITOR)`)
  const err = sys.tryOpen(PATH)
  if (err !== undefined) return no(sys.isDenied(err) ? `${PATH}: ${err.code}. ${hints.pfn}` : `${PATH}: ${err.message}`)
  return yes()
}

/**
 * Reads the flags (low 32 bits) of frames `pfn[0..n)` into `out[0..n)`. O(n log n).
 *
 * @since 0.1.0
 */
export const read = (pfn: Float64Array, n: number, out: Uint32Array): Effect.Effect<void, PermissionDenied | BackendFailure> =>
  Effect.acquireUseRelease(
    sys.open(PATH).pipe(Effect.mapError((e) => sys.classifyHost(e, "open kpageflags", hints.pfn))),
    (fd) =>
      Effect.gen(function* () {
        if (n === 0) return
        const sp = spans.build(pfn, n, 64)
        const words = new Uint32Array(sp.total * 2)
        const bytes = new Uint8Array(words.buffer)
        for (let s = 0; s < sp.start.length; s++) {
          yield* sys
            .preadSync(fd, bytes.subarray(sp.base[s] * 8), sp.length[s] * 8, sp.start[s] * 8, PATH)
            .pipe(Effect.mapError((e) => sys.classifyHost(e, "read kpageflags", hints.pfn)))
        }
        for (let k = 0; k < n; k++) out[k] = words[spans.find(sp, pfn[k]) * 2]
      }),
    (fd) => sys.close(fd)
  )
