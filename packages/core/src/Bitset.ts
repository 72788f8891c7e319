/**
 * Bitsets laid out as segments of one Uint32Array: segment `seg` holds `words` words
 * from index `seg * words`. Reads and writes of 32 bits at any bit offset, so a scan
 * chunk whose start is not a multiple of 32 pages into its mapping still updates its
 * mapping's bits word by word.
 *
 * @since 0.1.0
 */

/** The 32 bits of segment `base..base+words` starting at bit `o` (bits past the end read 0). */
export const get32 = (d: Uint32Array, base: number, words: number, o: number): number => {
  const w = o >>> 5
  const s = o & 31
  if (s === 0) return d[base + w]
  const hi = w + 1 < words ? d[base + w + 1] << (32 - s) : 0
  return ((d[base + w] >>> s) | hi) >>> 0
}

/** Writes the bits of `value` selected by `mask` at bit `o` of the segment. */
export const set32 = (d: Uint32Array, base: number, words: number, o: number, value: number, mask: number): void => {
  const w = o >>> 5
  const s = o & 31
  if (s === 0) {
    d[base + w] = (d[base + w] & ~mask) | (value & mask)
    return
  }
  const lowMask = mask << s
  d[base + w] = (d[base + w] & ~lowMask) | ((value << s) & lowMask)
  if (w + 1 < words) {
    const hiMask = mask >>> (32 - s)
    d[base + w + 1] = (d[base + w + 1] & ~hiMask) | ((value >>> (32 - s)) & hiMask)
  }
}

/** Set bits in a 32-bit word. */
export const popcount32 = (x: number): number => {
  x = x - ((x >>> 1) & 0x55555555)
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
  x = (x + (x >>> 4)) & 0x0f0f0f0f
  return Math.imul(x, 0x01010101) >>> 24
}

/** The valid-bit mask of word `w` of a bitset of `length` bits. */
export const validMask = (w: number, length: number): number => {
  const rest = length - (w << 5)
  return rest >= 32 ? 0xffffffff : rest <= 0 ? 0 : ((1 << rest) - 1) >>> 0
}
