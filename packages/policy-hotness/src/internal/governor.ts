/**
 * Whether demoting to make room for promotions pays. A demotion for a promotion is a
 * swap; it pays only if the promoted page turns out hotter than the demoted one. So the
 * governor follows a sample of the pages it moved and, once their cooldown has passed
 * (the scans since the move are the newest bits of their history), reads how many of
 * those scans found them accessed:
 *
 *   gain = mean post-move hit rate of promoted pages - that of demoted pages
 *
 * (hit rate = accessed scans / scans read, 0..1; exponentially decayed means). While
 * gain >= minGain, demotions go at the watermark's pace. Otherwise (a flat access
 * pattern, where every page is as hot as any other and the history only tells noise
 * apart, or too little evidence yet) demotions are limited to a probe rate, which halves
 * each time a quarter of the samples needed, new demoted pages, confirm there is no gain, from 1/256 of the top tier's capacity per second
 * (at least 16 pages) down to 1/131072 of it (at least 1 page); a gain resets it.
 * State: two rings of `capacity` (target, page) pairs, allocated on first use.
 */

interface Ring {
  readonly target: Float64Array
  readonly page: Float64Array
  head: number
  size: number
  sum: number
  n: number
}

const ring = (capacity: number): Ring => ({
  target: new Float64Array(capacity),
  page: new Float64Array(capacity),
  head: 0,
  size: 0,
  sum: 0,
  n: 0
})

const EMPTY = ring(0)

export interface GovernorOptions {
  /** Moved pages followed per direction, at most. */
  readonly capacity: number
  /** Smallest gain for demotions at full pace (0 turns the governor off). */
  readonly minGain: number
  /** Evaluated pages needed per direction before the gain counts (at most; fewer on a small top tier: capacity / 64, at least 8). */
  readonly minSamples: number
  /** Newest history bits to read (the scans the cooldown guarantees after a move: 1 or 2). */
  readonly bits: number
}

export class Governor {
  private promoted: Ring = EMPTY
  private demoted: Ring = EMPTY
  /** Probe rate as a share of the maximum (1, 1/2, 1/4, ...). */
  private probeShare = 1
  private probe = 0
  private tokens = Infinity
  private lastNow = NaN
  private freshDemoted = 0
  private samplesNeeded: number

  constructor(private readonly o: GovernorOptions) {
    this.samplesNeeded = o.minSamples
  }

  get enabled(): boolean {
    return this.o.minGain > 0 && this.o.bits > 0
  }

  /** Follows a page that just moved (when there is room in the ring). */
  record(direction: "promote" | "demote", target: number, page: number): void {
    if (!this.enabled) return
    if (this.promoted === EMPTY) {
      this.promoted = ring(this.o.capacity)
      this.demoted = ring(this.o.capacity)
    }
    const r = direction === "promote" ? this.promoted : this.demoted
    if (r.size === r.target.length) return
    const k = (r.head + r.size) % r.target.length
    r.target[k] = target
    r.page[k] = page
    r.size++
  }

  /**
   * Reads the followed pages whose cooldown is over, oldest first, at most `max` per
   * direction. `read` gives a page's record (undefined when gone). O(max).
   */
  evaluate(read: (target: number, page: number) => number | undefined, max = 1024): void {
    if (!this.enabled) return
    this.drain(this.promoted, true, read, max)
    this.freshDemoted += this.drain(this.demoted, false, read, max)
  }

  private drain(r: Ring, top: boolean, read: (target: number, page: number) => number | undefined, max: number): number {
    let done = 0
    while (r.size > 0 && done < max) {
      const rec = read(r.target[r.head], r.page[r.head])
      if (rec !== undefined && ((rec >>> 5) & 3) !== 0 && ((rec & 0x80) !== 0) === top) break // cooldown not over yet
      r.head = (r.head + 1) % r.target.length
      r.size--
      if (rec === undefined || ((rec & 0x80) !== 0) !== top) continue // gone, or moved again
      const hits = this.o.bits >= 2 ? ((rec >>> 4) & 1) + ((rec >>> 3) & 1) : (rec >>> 4) & 1
      r.sum += hits / Math.min(2, this.o.bits)
      r.n++
      done++
      // Decay: the last few hundred pages weigh most.
      if (r.n > 512) {
        r.sum /= 2
        r.n /= 2
      }
    }
    return done
  }

  /** The gain, or NaN while there is too little evidence. */
  get gain(): number {
    const p = this.promoted
    const d = this.demoted
    if (p.n < this.samplesNeeded || d.n < this.samplesNeeded) return NaN
    return p.sum / p.n - d.sum / d.n
  }

  /** The probe rate now, pages per second. */
  get probeRate(): number {
    return this.probe
  }

  /**
   * How many of `wanted` demotions may go now (`now` in ms; `capacity`: top-tier pages).
   * Call it once per plan, with the demotions the plan could make (0 when none).
   */
  allowance(wanted: number, now: number, capacity: number): number {
    const dt = Number.isNaN(this.lastNow) ? 0 : Math.max(0, now - this.lastNow)
    this.lastNow = now
    if (!this.enabled) return wanted
    this.samplesNeeded = Math.min(this.o.minSamples, Math.max(8, Math.floor(capacity / 64)))
    const max = Math.max(16, capacity / 256)
    const min = Math.max(1, capacity / 131072)
    const g = this.gain
    if (g >= this.o.minGain) {
      this.probeShare = 1
      this.freshDemoted = 0
      return wanted
    }
    if (!Number.isNaN(g) && this.freshDemoted >= Math.max(1, this.samplesNeeded / 4)) {
      this.probeShare /= 2
      this.freshDemoted = 0
    }
    this.probe = Math.max(min, max * this.probeShare)
    // Five seconds' worth of tokens at most (a scan period may be that long; the first call starts full).
    this.tokens = Math.min(5 * this.probe, this.tokens + (this.probe * dt) / 1000)
    const allowed = Math.min(wanted, Math.floor(this.tokens))
    this.tokens -= allowed
    return allowed
  }

  /** Bytes held. */
  get bytes(): number {
    return 4 * this.promoted.target.byteLength
  }
}
