/**
 * Groups scattered indices of a big kernel array (frame numbers into /proc/kpageflags,
 * idle-bitmap words) into a few contiguous spans, so a batch costs one pread per span
 * instead of one per entry.
 */

/** Spans over sorted unique keys, and each key's place in one buffer holding all spans back to back. */
export interface Spans {
  /** Sorted unique keys. */
  readonly keys: Float64Array
  /** First key and entries of each span. */
  readonly start: ReadonlyArray<number>
  readonly length: ReadonlyArray<number>
  /** Offset of each span in the buffer, entries. */
  readonly base: ReadonlyArray<number>
  /** Entries in all spans. */
  readonly total: number
  /** Buffer offset (entries) of each key. */
  readonly pos: Int32Array
}

/**
 * Builds spans over `values[0..n)` (any order, repeats allowed); keys further apart than
 * `gap` start a new span. O(n log n).
 */
export const build = (values: Float64Array, n: number, gap: number): Spans => {
  const sorted = values.slice(0, n).sort()
  let u = 0
  for (let k = 0; k < n; k++) if (k === 0 || sorted[k] !== sorted[u - 1]) sorted[u++] = sorted[k]
  const keys = sorted.subarray(0, u)
  const start: Array<number> = []
  const length: Array<number> = []
  const base: Array<number> = []
  const pos = new Int32Array(u)
  let total = 0
  for (let j = 0; j < u; j++) {
    const last = start.length - 1
    if (last >= 0 && keys[j] - (start[last] + length[last] - 1) <= gap) {
      const grown = keys[j] - start[last] + 1
      total += grown - length[last]
      length[last] = grown
    } else {
      start.push(keys[j])
      length.push(1)
      base.push(total)
      total += 1
    }
    pos[j] = base[start.length - 1] + keys[j] - start[start.length - 1]
  }
  return { keys, start, length, base, total, pos }
}

/** The buffer offset of `key` (which must be one of the keys). O(log keys). */
export const find = (spans: Spans, key: number): number => {
  const keys = spans.keys
  let lo = 0
  let hi = keys.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < key) lo = mid + 1
    else hi = mid
  }
  return spans.pos[lo]
}
