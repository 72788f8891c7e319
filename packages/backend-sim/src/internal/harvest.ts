/**
 * The hot loops of a scan: drawing accessed (and written) bits for a run of pages.
 *
 * A page of heat class c, last harvested dt ago, is found accessed with probability
 * 1 - exp(-rate_c * dt): the chance that a Poisson stream of accesses at rate_c hit it
 * at least once. The caller turns those probabilities into 31-bit thresholds per class
 * (once per distinct dt), so each page costs one xorshift step, one table lookup and
 * one compare. Written bits use a second threshold with the same draw, so a page found
 * written is always found accessed.
 *
 * Bits are written a 32-bit word at a time; runs start on word boundaries.
 */

/**
 * Draws accessed bits for pages [base, base + count) of `heat` into `acc` from word
 * `word0`. Returns the new generator state. O(count).
 */
export const drawBits = (
  heat: Uint8Array,
  base: number,
  count: number,
  thr: Int32Array,
  acc: Uint32Array,
  word0: number,
  state: number
): number => {
  let x = state
  let w = word0
  for (let i = 0; i < count; i += 32) {
    const n = Math.min(32, count - i)
    const p = base + i
    let bits = 0
    for (let b = 0; b < n; b++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      if (Math.imul(x, 0x2545f491) >>> 1 <= thr[heat[p + b]]) bits |= 1 << b
    }
    acc[w++] = bits
  }
  return x
}

/**
 * `drawBits` for a run where every page has the same threshold (one class): no table
 * lookup, and no draws at all when the probability is 0 or 1. O(count).
 */
export const drawBitsUniform = (count: number, t: number, acc: Uint32Array, word0: number, state: number): number => {
  if (t < 0) return state
  if (t === 0x7fffffff) {
    setRange(acc, word0 << 5, (word0 << 5) + count)
    return state
  }
  let x = state
  let w = word0
  for (let i = 0; i < count; i += 32) {
    const n = Math.min(32, count - i)
    let bits = 0
    for (let b = 0; b < n; b++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      if (Math.imul(x, 0x2545f491) >>> 1 <= t) bits |= 1 << b
    }
    acc[w++] = bits
  }
  return x
}

/**
 * Draws accessed and written bits together: one draw per page, compared with the
 * accessed threshold and the (lower) written threshold. O(count).
 */
export const drawBitsDirty = (
  heat: Uint8Array,
  base: number,
  count: number,
  thr: Int32Array,
  thrW: Int32Array,
  acc: Uint32Array,
  dirty: Uint32Array,
  word0: number,
  state: number
): number => {
  let x = state
  let w = word0
  for (let i = 0; i < count; i += 32) {
    const n = Math.min(32, count - i)
    const p = base + i
    let bits = 0
    let wbits = 0
    for (let b = 0; b < n; b++) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      const u = Math.imul(x, 0x2545f491) >>> 1
      const c = heat[p + b]
      if (u <= thr[c]) bits |= 1 << b
      if (u <= thrW[c]) wbits |= 1 << b
    }
    acc[w] = bits
    dirty[w++] = wbits
  }
  return x
}

/** Sets bits [from, to) of a bitset. O((to - from) / 32). */
export const setRange = (bits: Uint32Array, from: number, to: number): void => {
  let i = from
  while (i < to && (i & 31) !== 0) {
    bits[i >>> 5] |= 1 << (i & 31)
    i++
  }
  while (i + 32 <= to) {
    bits[i >>> 5] = 0xffffffff
    i += 32
  }
  while (i < to) {
    bits[i >>> 5] |= 1 << (i & 31)
    i++
  }
}

/** Set bits of a word. */
export const popcount32 = (x: number): number => {
  x = x - ((x >>> 1) & 0x55555555)
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  x = (x + (x >>> 4)) & 0x0f0f0f0f
  return Math.imul(x, 0x01010101) >>> 24
}
