/**
 * Soft-dirty bits: writing "4" to /proc/PID/clear_refs clears them for the whole
 * process; pagemap bit 55 then says which pages were WRITTEN since (reads do not set
 * it). kmm reads the bit as it scans a sweep and clears the process's bits when the
 * sweep ends, so each sweep sees the writes made since the previous one ended. The
 * kernel needs CONFIG_MEM_SOFT_DIRTY.
 *
 * @since 0.1.0
 */
import type { BackendFailure, PermissionDenied, TargetGone } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import type { Detection } from "./internal/detection.js"
import { no, yes } from "./internal/detection.js"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"
import * as sys from "./internal/sys.js"
import * as Maps from "./Maps.js"
import { ENTRY_BYTES, Hi } from "./Pagemap.js"

/**
 * Clears the soft-dirty bits of every page of a process.
 *
 * @since 0.1.0
 */
export const clear = (pid: number): Effect.Effect<void, TargetGone | PermissionDenied | BackendFailure> =>
  sys.writeText(`/proc/${pid}/clear_refs`, "4").pipe(Effect.mapError((e) => sys.classify(e, { operation: "clear soft-dirty bits", target: pid, hint: hints.clearRefs })))

/**
 * Whether any present page of kmm's own anonymous memory has its soft-dirty bit set. A
 * page is soft-dirty from its first write fault where the kernel tracks the bit, so on
 * such a kernel the heap and stack always have some; on others the bit is always 0.
 */
const probeSelf = (): boolean | undefined => {
  const text = sys.readTextOr("/proc/self/maps")
  if (text === undefined) return undefined
  const shift = host.pageShift()
  let fd: number | undefined
  try {
    fd = fs.openSync("/proc/self/pagemap", "r")
    const buf = new Uint8Array(ENTRY_BYTES * 4096)
    const words = new Uint32Array(buf.buffer)
    let present = 0
    for (const a of Maps.parse(text, shift, { hugetlbMounts: [] })) {
      if (a.skip !== undefined || !a.perms.startsWith("rw") || a.inode !== 0) continue
      const n = Math.min(a.pages, 4096)
      const got = fs.readSync(fd, buf, 0, n * ENTRY_BYTES, a.start * ENTRY_BYTES) / ENTRY_BYTES
      for (let i = 0; i < got; i++) {
        const hi = words[2 * i + 1]
        if ((hi & Hi.PRESENT) === 0) continue
        if ((hi & Hi.SOFT_DIRTY) !== 0) return true
        present++
      }
      if (present >= 256) break
    }
    return present > 0 ? false : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * Whether the kernel tracks soft-dirty bits, and why not. Uses the kernel's build
 * configuration where readable, else looks at kmm's own pages.
 *
 * @since 0.1.0
 */
export const detect = (): Detection => {
  const config = host.configHas("CONFIG_MEM_SOFT_DIRTY")
  if (config === false) return no(`the kernel is built without CONFIG_MEM_SOFT_DIRTY (from ${host.kernelConfig()?.source})`)
  const probe = probeSelf()
  if (probe === false) return no("the kernel does not track soft-dirty bits (no page of kmm's own memory has pagemap bit 55 set; CONFIG_MEM_SOFT_DIRTY is off)")
  if (config === undefined && probe === undefined) return yes("assumed: neither the kernel configuration nor kmm's own pagemap could tell")
  return yes("writes only: soft-dirty bits say a page was written, not read")
}
