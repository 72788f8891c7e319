/**
 * Zipf rank classes: ranks k = 1, 2, ... are grouped into log-spaced buckets, 8 per
 * octave (so the rate of pages within a bucket differs by at most (9/8)^s), giving at
 * most 256 classes for ranks up to 2^32. A page's class is an integer function of its
 * rank (no table, no pow in the hot loop); a class's rate is the mean of k^-s over its
 * ranks, so the expected accesses of each bucket are exact.
 */

/** Bucket (class) of rank k >= 1. O(1), integer operations only. */
export const bucketOf = (k: number): number => {
  const o = 31 - Math.clz32(k)
  const sub = o >= 3 ? (k >>> (o - 3)) & 7 : (k << (3 - o)) & 7
  return (o << 3) | sub
}

/** The ranks [lo, hi] of bucket c, intersected with [1, n]; hi < lo when empty. */
export const bucketRange = (c: number, n: number): readonly [number, number] => {
  const o = c >>> 3
  const sub = c & 7
  let lo: number
  let hi: number
  if (o >= 3) {
    lo = (8 + sub) * 2 ** (o - 3)
    hi = (9 + sub) * 2 ** (o - 3) - 1
  } else {
    const shift = 3 - o
    const k = (8 + sub) / 2 ** shift
    if (!Number.isInteger(k)) return [1, 0]
    lo = hi = k
  }
  return [Math.max(1, lo), Math.min(n, hi)]
}

/**
 * Sum of k^-s for k in [lo, hi]: exact for short ranges, else the midpoint-rule
 * integral (relative error below 1e-9 once lo exceeds a few thousand).
 */
export const powerSum = (lo: number, hi: number, s: number): number => {
  if (hi < lo) return 0
  if (hi - lo < 4096 || lo < 4096) {
    let sum = 0
    const top = Math.min(hi, lo + 4095)
    for (let k = lo; k <= top; k++) sum += Math.pow(k, -s)
    return top === hi ? sum : sum + powerSum(top + 1, hi, s)
  }
  const a = lo - 0.5
  const b = hi + 0.5
  if (Math.abs(s - 1) < 1e-12) return Math.log(b / a)
  return (Math.pow(b, 1 - s) - Math.pow(a, 1 - s)) / (1 - s)
}
