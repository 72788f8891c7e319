/**
 * Per-mapping state for policies, on top of PageStateStore: a small record per mapping (not
 * per page) next to the store's typed array, and a sorted index of mapping starts per
 * target so that a page number (from a migration outcome) finds its mapping in
 * O(log mappings).
 *
 * @since 0.1.0
 */
import type { PageArray, Region } from "./PageState.js"
import { PageStateStore } from "./PageState.js"
import type { ScanChunk } from "./ScanChunk.js"
import type { TargetId } from "./Target.js"

/** A mapping's array and the policy's record for it. */
export interface Entry<A extends PageArray, M> {
  readonly region: Region<A>
  readonly meta: M
}

interface Sorted<A extends PageArray, M> {
  readonly starts: Float64Array
  readonly entries: ReadonlyArray<Entry<A, M>>
}

export class Regions<A extends PageArray, M> {
  readonly store: PageStateStore<A>
  private readonly byTarget = new Map<TargetId, Map<number, Entry<A, M>>>()
  private readonly sorted = new Map<TargetId, Sorted<A, M>>()
  private last: Entry<A, M> | undefined

  constructor(
    alloc: (pages: number) => A,
    private readonly makeMeta: (region: Region<A>) => M
  ) {
    this.store = new PageStateStore(alloc)
  }

  /** The entry of the mapping a chunk lies in (created, or re-created on a size change). */
  forChunk(chunk: ScanChunk): Entry<A, M> {
    return this.entry(chunk.target, chunk.mappingStart, chunk.mappingPages)
  }

  /** The entry of a mapping, created on first use. */
  entry(target: TargetId, start: number, pages: number): Entry<A, M> {
    let byStart = this.byTarget.get(target)
    if (byStart === undefined) {
      byStart = new Map()
      this.byTarget.set(target, byStart)
    }
    const known = byStart.get(start)
    if (known !== undefined && known.region.pages === pages) return known
    const region = this.store.region(target, start, pages)
    const entry: Entry<A, M> = { region, meta: this.makeMeta(region) }
    byStart.set(start, entry)
    this.sorted.delete(target)
    this.last = undefined
    return entry
  }

  /** The entry holding virtual page `page` of a target, if any. O(log mappings). */
  find(target: TargetId, page: number): Entry<A, M> | undefined {
    const last = this.last
    if (last !== undefined && last.region.target === target && page >= last.region.start && page < last.region.start + last.region.pages) {
      return last
    }
    const s = this.sortedOf(target)
    if (s === undefined) return undefined
    let lo = 0
    let hi = s.starts.length - 1
    let at = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (s.starts[mid] <= page) {
        at = mid
        lo = mid + 1
      } else hi = mid - 1
    }
    if (at < 0) return undefined
    const e = s.entries[at]
    if (page >= e.region.start + e.region.pages) return undefined
    this.last = e
    return e
  }

  /** The entries of a target, in address order. */
  entriesOf(target: TargetId): ReadonlyArray<Entry<A, M>> {
    return this.sortedOf(target)?.entries ?? []
  }

  /** Targets with state. */
  targets(): ReadonlyArray<TargetId> {
    return [...this.byTarget.keys()]
  }

  /** Number of mappings held. */
  get count(): number {
    let n = 0
    for (const m of this.byTarget.values()) n += m.size
    return n
  }

  /** Drops a target's state. */
  forget(target: TargetId): void {
    this.store.forget(target)
    this.byTarget.delete(target)
    this.sorted.delete(target)
    this.last = undefined
  }

  private sortedOf(target: TargetId): Sorted<A, M> | undefined {
    const cached = this.sorted.get(target)
    if (cached !== undefined) return cached
    const byStart = this.byTarget.get(target)
    if (byStart === undefined) return undefined
    const entries = [...byStart.values()].sort((a, b) => a.region.start - b.region.start)
    const s: Sorted<A, M> = { starts: Float64Array.from(entries, (e) => e.region.start), entries }
    this.sorted.set(target, s)
    return s
  }
}
