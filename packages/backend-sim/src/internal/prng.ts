/**
 * The simulator's random source: xorshift32 with a multiplicative output scramble,
 * in plain 32-bit integer operations (no Math.random, no allocation). The state is a
 * non-zero int32; hot loops copy it to a local, step it inline, and store it back.
 */

/** Mixes a seed into a non-zero 32-bit state (splitmix32 finaliser). */
export const seedState = (seed: number, stream = 0): number => {
  let z = (Math.imul(seed | 0, 0x9e3779b9) + Math.imul(stream | 0, 0x85ebca6b) + 0x6a09e667) | 0
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  z ^= z >>> 16
  return z === 0 ? 0x2545f491 : z
}

/** One xorshift32 step. */
export const step = (x: number): number => {
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  return x
}

/** A uniform double in [0, 1) from state `x`. */
export const unit = (x: number): number => (Math.imul(x, 0x2545f491) >>> 0) / 4294967296

/**
 * Threshold for the 31-bit output `Math.imul(x, 0x2545f491) >>> 1` (the hot loops
 * inline it) to be <= threshold with probability `p`, to 2^-31: -1 for p = 0 (never),
 * 2^31 - 1 for p = 1 (always).
 */
export const threshold31 = (p: number): number => {
  if (!(p > 0)) return -1
  if (p >= 1) return 0x7fffffff
  return Math.min(0x7fffffff, Math.round(p * 2147483648) - 1)
}

/** A small stateful generator for cold paths (set-up, faults, sampling). */
export class Rng {
  constructor(public state: number) {}
  /** Uniform double in [0, 1). */
  next(): number {
    this.state = step(this.state)
    return unit(this.state)
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
}
