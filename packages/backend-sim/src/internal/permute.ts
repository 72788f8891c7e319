/**
 * A cheap seeded permutation of [0, n): i -> (a * i + b) mod n with gcd(a, n) = 1.
 * Consecutive images differ by a, so a loop over i walks the permutation with one
 * addition and one compare per page; a near n / golden ratio spreads neighbours far
 * apart. Exact in doubles while a * n < 2^53 (n up to 2^26 pages, 256 GiB, in one
 * product; the loop form has no product at all).
 */
import { Rng } from "./prng.js"

/** Multiplier and offset of the permutation. */
export interface Affine {
  readonly a: number
  readonly b: number
}

const gcd = (x: number, y: number): number => {
  while (y !== 0) [x, y] = [y, x % y]
  return x
}

/** A permutation of [0, n) drawn from `rng`. */
export const affine = (n: number, rng: Rng): Affine => {
  if (n <= 2) return { a: 1, b: n === 2 ? rng.int(2) : 0 }
  const golden = 0.6180339887498949
  // A multiplier near n / phi, jittered by the seed, made coprime with n.
  let a = Math.max(1, Math.floor(n * golden) + rng.int(Math.max(1, Math.floor(n / 64))) - Math.floor(n / 128)) % n
  if (a === 0) a = 1
  while (gcd(a, n) !== 1) a = (a + 1) % n || 1
  return { a, b: rng.int(n) }
}
