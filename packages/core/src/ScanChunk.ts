/**
 * A scan chunk: the result of harvesting accessed bits over a run of pages of one
 * mapping. Everything per page is a typed array; nothing per page is an object.
 *
 * Bytes per page while a chunk lives: 1/8 (accessed bitset) + 2 (node) [+ 8 (PFN)].
 *
 * @since 0.1.0
 */
import { popcount32 } from "./Bitset.js"
import type { TargetId } from "./Target.js"

/**
 * Node value of a page that is not present (not mapped to memory).
 *
 * @since 0.1.0
 */
export const NOT_PRESENT = -1

/**
 * @since 0.1.0
 */
export interface ScanChunk {
  readonly target: TargetId
  /** First virtual page number of the mapping this chunk lies in. */
  readonly mappingStart: number
  /** Pages of that mapping in all. */
  readonly mappingPages: number
  /** First virtual page number of the chunk (mappingStart <= start). */
  readonly start: number
  /** Pages in the chunk. */
  readonly length: number
  /** Accessed bitset: page i is accessed when bit (i & 31) of word (i >>> 5) is set. */
  readonly accessed: Uint32Array
  /** Node of each page, or NOT_PRESENT. */
  readonly node: Int16Array
  /** Pages present (node >= 0); the backend counts them while it fills `node`. */
  present: number
  /** Page frame number of each page (0 where unknown), when the backend reports PFNs. */
  readonly pfn?: Float64Array
}

/**
 * Words needed for an accessed bitset of `length` pages.
 *
 * @since 0.1.0
 */
export const bitsetWords = (length: number): number => (length + 31) >>> 5

/**
 * Allocates an empty chunk (nothing accessed, every page not present).
 *
 * @since 0.1.0
 */
export const alloc = (options: {
  readonly target: TargetId
  readonly mappingStart: number
  readonly mappingPages: number
  readonly start: number
  readonly length: number
  readonly withPfn?: boolean
}): ScanChunk => {
  const chunk: ScanChunk = {
    target: options.target,
    mappingStart: options.mappingStart,
    mappingPages: options.mappingPages,
    start: options.start,
    length: options.length,
    accessed: new Uint32Array(bitsetWords(options.length)),
    present: 0,
    node: new Int16Array(options.length).fill(NOT_PRESENT),
    ...(options.withPfn ? { pfn: new Float64Array(options.length) } : {})
  }
  return chunk
}

/**
 * Whether page `i` of the chunk (0-based within the chunk) was accessed.
 *
 * @since 0.1.0
 */
export const isAccessed = (chunk: ScanChunk, i: number): boolean => (chunk.accessed[i >>> 5] & (1 << (i & 31))) !== 0

/**
 * Marks page `i` of the chunk accessed.
 *
 * @since 0.1.0
 */
export const setAccessed = (chunk: ScanChunk, i: number): void => {
  chunk.accessed[i >>> 5] |= 1 << (i & 31)
}

/**
 * Number of accessed pages in the chunk. O(words).
 *
 * @since 0.1.0
 */
export const countAccessed = (chunk: ScanChunk): number => {
  let total = 0
  const words = chunk.accessed
  for (let w = 0; w < words.length; w++) total += popcount32(words[w])
  return total
}

/**
 * Set bits in a 32-bit word (also in `Bitset`).
 *
 * @since 0.1.0
 */
export { popcount32 }
