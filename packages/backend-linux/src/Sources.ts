/**
 * The accessed-bit sources a Linux host may have, detected (never assumed), and the
 * choice among them. In order of preference:
 *
 * 1. `idle-page`: the idle page bitmap; per-page accessed bits, reads and writes,
 *    harvested and cleared (CONFIG_IDLE_PAGE_TRACKING, root).
 * 2. `damon-vaddr`: DAMON per process; regions of virtual addresses (CONFIG_DAMON_VADDR,
 *    root, DAMON not in use by another program).
 * 3. `damon-paddr`: DAMON over the nodes' physical memory; regions mapped back to each process's pages
 *    through PFNs (CONFIG_DAMON_PADDR, root, DAMON not in use by another program).
 * 4. `soft-dirty`: writes only (CONFIG_MEM_SOFT_DIRTY; the process's user or root).
 *
 * `auto` picks the first available; a source named in the config must be available or
 * the backend does not start (the error says why).
 *
 * @since 0.1.0
 */
import type { Source } from "@kmm/core/Backend"
import * as Either from "effect/Either"
import * as Damon from "./Damon.js"
import * as IdlePage from "./IdlePage.js"
import type { Detection } from "./internal/detection.js"
import type { SourceName } from "./LinuxConfig.js"
import * as SoftDirty from "./SoftDirty.js"

/**
 * A source's name.
 *
 * @since 0.1.0
 */
export type SourceId = "idle-page" | "damon-vaddr" | "damon-paddr" | "soft-dirty"

/**
 * Sources in order of preference.
 *
 * @since 0.1.0
 */
export const preference: ReadonlyArray<SourceId> = ["idle-page", "damon-vaddr", "damon-paddr", "soft-dirty"]

/**
 * What a source gives.
 *
 * @since 0.1.0
 */
export const kindsOf = (id: SourceId): ReadonlyArray<Source["kind"]> =>
  id === "soft-dirty" ? ["soft-dirty"] : id === "idle-page" ? ["accessed-bit"] : ["accessed-bit", "region-sample"]

/**
 * One source on this host.
 *
 * @since 0.1.0
 */
export interface Detected extends Detection {
  readonly id: SourceId
}

/**
 * Detects every source. Cheap: a few stat and open calls and small reads.
 *
 * @since 0.1.0
 */
export const detect = (): ReadonlyArray<Detected> => {
  const damon = Damon.detect()
  return [
    { id: "idle-page", ...IdlePage.detect() },
    { id: "damon-vaddr", ...damon.vaddr },
    { id: "damon-paddr", ...damon.paddr },
    { id: "soft-dirty", ...SoftDirty.detect() }
  ]
}

/**
 * The source to use: the one named (if available), or the first available for "auto",
 * or "none". Left: why the named source cannot be used.
 *
 * @since 0.1.0
 */
export const choose = (wanted: SourceName, detected: ReadonlyArray<Detected>): Either.Either<SourceId | "none", string> => {
  if (wanted === "none") return Either.right("none")
  if (wanted === "auto") return Either.right(preference.find((id) => detected.find((d) => d.id === id)?.available === true) ?? "none")
  const d = detected.find((x) => x.id === wanted)
  return d?.available === true ? Either.right(wanted) : Either.left(`source "${wanted}" is not available: ${d?.reason ?? "unknown source"}`)
}

/**
 * Capability entries: one per source and kind it gives. Only the chosen source is
 * available (it is the one scans report from); the others say why they are not used.
 *
 * @since 0.1.0
 */
export const capabilities = (chosen: SourceId | "none", detected: ReadonlyArray<Detected>): Array<Source> => {
  const out: Array<Source> = []
  for (const d of detected) {
    for (const kind of kindsOf(d.id)) {
      if (d.id === chosen) out.push({ kind, name: d.id, available: true, ...(d.reason !== undefined ? { reason: d.reason } : {}) })
      else if (!d.available) out.push({ kind, name: d.id, available: false, reason: d.reason ?? "unavailable" })
      else out.push({ kind, name: d.id, available: false, reason: `present on this host, not selected (${chosen === "none" ? "source: none" : `${chosen} is in use`}); set source: ${d.id} to use it` })
    }
  }
  out.push({
    kind: "sampled-access",
    name: "numa-hint-faults",
    available: false,
    reason: "the kernel reports NUMA hint faults to user space only as counters (/proc/vmstat), not per page"
  })
  return out
}
