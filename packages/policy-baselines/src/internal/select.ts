/**
 * The k-th largest value of an array (1-based), by quickselect with a median-of-three
 * pivot. Reorders `a`. O(n) on average.
 */
export const kthLargest = (a: Float32Array, k: number): number => {
  const n = a.length
  if (n === 0 || k <= 0) return Infinity
  if (k >= n) {
    let min = Infinity
    for (let i = 0; i < n; i++) if (a[i] < min) min = a[i]
    return min
  }
  // The k-th largest is the (n - k)-th smallest (0-based).
  const target = n - k
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const x = a[lo]
    const y = a[mid]
    const z = a[hi]
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i] < pivot) i++
      while (a[j] > pivot) j--
      if (i <= j) {
        const t = a[i]
        a[i] = a[j]
        a[j] = t
        i++
        j--
      }
    }
    if (target <= j) hi = j
    else if (target >= i) lo = i
    else return a[target]
  }
  return a[target]
}
