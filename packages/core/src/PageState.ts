/**
 * Dense per-page state for policies: one typed array per (target, mapping), indexed by
 * the page's offset in its mapping. Scan chunks carry their mapping's start and size,
 * so a policy finds its array for a chunk in one map lookup, then runs a tight loop.
 *
 * @since 0.1.0
 */
import type { ScanChunk } from "./ScanChunk.js"
import type { TargetId } from "./Target.js"

/**
 * Typed arrays the store can hold.
 *
 * @since 0.1.0
 */
export type PageArray = Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array

/**
 * Per-page state of one mapping.
 *
 * @since 0.1.0
 */
export interface Region<A extends PageArray> {
  readonly target: TargetId
  /** First virtual page number of the mapping. */
  readonly start: number
  readonly pages: number
  readonly data: A
}

/**
 * A store of per-mapping arrays.
 *
 * @since 0.1.0
 */
export class PageStateStore<A extends PageArray> {
  private readonly targets = new Map<TargetId, Map<number, Region<A>>>()
  private bytes = 0

  /** @param alloc makes a zeroed array of `pages` entries */
  constructor(private readonly alloc: (pages: number) => A) {}

  /**
   * The array for the mapping a chunk lies in; allocated (zeroed) on first use, and
   * re-allocated when the mapping changed size.
   */
  forChunk(chunk: ScanChunk): Region<A> {
    return this.region(chunk.target, chunk.mappingStart, chunk.mappingPages)
  }

  /** The array of a mapping (allocated on first use). */
  region(target: TargetId, start: number, pages: number): Region<A> {
    let byStart = this.targets.get(target)
    if (byStart === undefined) {
      byStart = new Map()
      this.targets.set(target, byStart)
    }
    const found = byStart.get(start)
    if (found !== undefined && found.pages === pages) return found
    if (found !== undefined) this.bytes -= found.data.byteLength
    const region: Region<A> = { target, start, pages, data: this.alloc(pages) }
    this.bytes += region.data.byteLength
    byStart.set(start, region)
    return region
  }

  /** The regions of a target (empty when unknown). */
  regionsOf(target: TargetId): Iterable<Region<A>> {
    return this.targets.get(target)?.values() ?? []
  }

  /** Every target with state. */
  targetIds(): Iterable<TargetId> {
    return this.targets.keys()
  }

  /** The region holding virtual page `page` of a target, if any. O(mappings). */
  find(target: TargetId, page: number): Region<A> | undefined {
    const byStart = this.targets.get(target)
    if (byStart === undefined) return undefined
    for (const r of byStart.values()) if (page >= r.start && page < r.start + r.pages) return r
    return undefined
  }

  /** Drops a target's state. */
  forget(target: TargetId): void {
    const byStart = this.targets.get(target)
    if (byStart === undefined) return
    for (const r of byStart.values()) this.bytes -= r.data.byteLength
    this.targets.delete(target)
  }

  /** Bytes held. */
  get byteLength(): number {
    return this.bytes
  }
}
