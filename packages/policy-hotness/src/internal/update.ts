/**
 * The hot loops over hotness records (layout in ../Record.ts), four records at a time
 * in one 32-bit word ("SIMD within a register"): the byte of page p is byte p & 3 of
 * word p >>> 2 on a little-endian machine. Every field update is done on the four
 * bytes at once with masks that keep carries inside each byte.
 */

/** Whether the four bytes of a Uint32 are in page order (little-endian). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** SPREAD[n] puts 0x10 in byte j for each set bit j of the nibble n. */
const SPREAD = new Uint32Array(16)
for (let n = 0; n < 16; n++) {
  let v = 0
  for (let j = 0; j < 4; j++) if ((n >>> j) & 1) v |= 0x10 << (8 * j)
  SPREAD[n] = v >>> 0
}

/** Node table size: node ids are Int16 in chunks; index = node + 1 (0 = not present). */
export const NODE_TABLE_SIZE = 32769

/**
 * A node table for `applyChunk`: per node + 1, 0 for not present (index 0), 0x01 for a
 * present page on a slow (or unknown) node, 0x81 on a top-tier node.
 */
export const nodeTable = (topNodes: Iterable<number>): Uint32Array => {
  const t = new Uint32Array(NODE_TABLE_SIZE).fill(0x01)
  t[0] = 0
  for (const n of topNodes) if (n >= 0 && n + 1 < NODE_TABLE_SIZE) t[n + 1] = 0x81
  return t
}

/**
 * One scan of `length` pages (accessed bitset, node per page) applied to records from
 * byte `off` of `d`. Four pages per step when `off` is a multiple of 4; page by page
 * otherwise and for the last `length & 3` pages. O(pages), no allocation.
 */
export const applyScan = (
  d: Uint8Array,
  d32: Uint32Array,
  off: number,
  length: number,
  accessed: Uint32Array,
  node: Int16Array,
  table: Uint32Array
): void => {
  let i = 0
  if ((off & 3) === 0 && LITTLE_ENDIAN) {
    const w0 = off >>> 2
    const end = length & ~3
    for (; i < end; i += 4) {
      const nib = (accessed[i >>> 5] >>> (i & 31)) & 15
      const x = table[node[i] + 1] | (table[node[i + 1] + 1] << 8) | (table[node[i + 2] + 1] << 16) | (table[node[i + 3] + 1] << 24)
      const s = d32[w0 + (i >>> 2)]
      const h = ((s & 0x1e1e1e1e) >>> 1) | SPREAD[nib]
      let c = (s >>> 5) & 0x03030303
      c -= (c | (c >>> 1)) & 0x01010101
      const keep = Math.imul(x & 0x01010101, 0xff)
      d32[w0 + (i >>> 2)] = ((h | (c << 5)) & keep) | (x & 0x80808080)
    }
  }
  for (; i < length; i++) {
    const x = table[node[i] + 1]
    const p = off + i
    if (x === 0) {
      d[p] = 0
      continue
    }
    const s = d[p]
    const a = (accessed[i >>> 5] >>> (i & 31)) & 1
    const c = (s >>> 5) & 3
    d[p] = ((s & 0x1e) >>> 1) | (a << 4) | ((c > 0 ? c - 1 : 0) << 5) | (x & 0x80)
  }
}

/**
 * Ages every record of an array by one interval with no access seen: history shifted,
 * cooldown one less, top kept. For state fed by sampled accesses only. O(pages / 4).
 */
export const age = (d32: Uint32Array): void => {
  for (let w = 0; w < d32.length; w++) {
    const s = d32[w]
    if (s === 0) continue
    let c = (s >>> 5) & 0x03030303
    c -= (c | (c >>> 1)) & 0x01010101
    d32[w] = ((s & 0x1e1e1e1e) >>> 1) | (c << 5) | (s & 0x80808080)
  }
}

/**
 * Per-byte flags (0x01 in each byte) of the records of word `s` that are promotion
 * candidates: not on the top tier, no cooldown, hotness >= the threshold whose
 * `addMin` = (32 - threshold) * 0x01010101.
 */
export const promotable = (s: number, addMin: number): number => {
  const tc = (s >>> 5) & 0x07070707
  const busy = (tc | (tc >>> 1) | (tc >>> 2)) & 0x01010101
  const ge = (((s & 0x1f1f1f1f) + addMin) >>> 5) & 0x01010101
  return ge & ~busy
}

/**
 * Per-byte flags of the records of word `s` that are demotion candidates: on the top
 * tier, no cooldown, hotness < the cold threshold whose `addCold` = (32 - cold) * 0x01010101
 * (cold >= 1).
 */
export const demotable = (s: number, addCold: number): number => {
  const c = (s >>> 5) & 0x03030303
  const busy = (c | (c >>> 1)) & 0x01010101
  const top = (s >>> 7) & 0x01010101
  const lt = (~((s & 0x1f1f1f1f) + addCold) >>> 5) & 0x01010101
  return lt & top & ~busy
}
