/**
 * Workloads: how a simulated task touches its pages. Each workload turns into a heat
 * class per page (one byte) and an access rate per class; the machine draws accessed
 * bits from those rates at scan time and computes results and the oracle from them.
 *
 * - `uniform`: every page equally likely (kmmscand's abench).
 * - `hotset`: GUPS with a hot set: `hotAccessFraction` of the accesses go to
 *   `hotFraction` of the pages, contiguous from `offset` or scattered.
 * - `zipf`: page of rank k is accessed in proportion to k^-s (ranks scattered by a
 *   seeded permutation unless `permute` is false).
 * - `stream`: a sequential sweep over the pages at `pagesPerSec`, wrapping around.
 * - `trace`: replay of a trace file (see the Trace module).
 * - `idle`: no accesses.
 *
 * Every workload takes `writeFraction` (0..1), the share of its accesses that are
 * writes: it sets soft-dirty bits and weighs node write latencies.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { affine } from "./internal/permute.js"
import { Rng, seedState } from "./internal/prng.js"
import { bucketOf, bucketRange, powerSum } from "./internal/zipf.js"

const Fraction = Schema.Number.pipe(Schema.between(0, 1))
const Rate = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const writeFraction = Schema.optionalWith(Fraction, { default: () => 0 })
const accessesPerSec = Schema.optionalWith(Rate, { default: () => 1_000_000 })

/**
 * Uniform random accesses over all pages.
 *
 * @since 0.1.0
 */
export const Uniform = Schema.Struct({
  kind: Schema.Literal("uniform"),
  /** Accesses per second over the whole task (default 1e6). */
  accessesPerSec,
  writeFraction
})

/**
 * GUPS with a hot set.
 *
 * @since 0.1.0
 */
export const HotSet = Schema.Struct({
  kind: Schema.Literal("hotset"),
  accessesPerSec,
  /** Share of the pages that are hot (default 0.2). */
  hotFraction: Schema.optionalWith(Fraction, { default: () => 0.2 }),
  /** Share of the accesses that go to the hot pages (default 0.9). */
  hotAccessFraction: Schema.optionalWith(Fraction, { default: () => 0.9 }),
  /** Where the hot set starts, as a share of the pages (0..1, default 0); a later phase with another offset is a hot-set shift. */
  offset: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(0), Schema.lessThan(1)), { default: () => 0 }),
  /** `contiguous` (default): one run of pages from `offset`; `scattered`: a seeded spread over the pages. */
  layout: Schema.optionalWith(Schema.Literal("contiguous", "scattered"), { default: () => "contiguous" as const }),
  writeFraction
})

/**
 * Zipf-distributed accesses.
 *
 * @since 0.1.0
 */
export const Zipf = Schema.Struct({
  kind: Schema.Literal("zipf"),
  accessesPerSec,
  /** Exponent s >= 0 (default 1; 0 is uniform). */
  s: Schema.optionalWith(Schema.Number.pipe(Schema.finite(), Schema.between(0, 10)), { default: () => 1 }),
  /** Scatter the ranks over the pages with a seeded permutation (default true); false puts rank 1 at page 0. */
  permute: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  writeFraction
})

/**
 * Sequential streaming.
 *
 * @since 0.1.0
 */
export const Stream = Schema.Struct({
  kind: Schema.Literal("stream"),
  /** Pages swept per second (default 262144, 1 GiB/s of 4 KiB pages). */
  pagesPerSec: Schema.optionalWith(Rate.pipe(Schema.positive()), { default: () => 262_144 }),
  /** Accesses per page visit (default 64: every cache line of a 4 KiB page). */
  accessesPerPage: Schema.optionalWith(Rate.pipe(Schema.positive()), { default: () => 64 }),
  writeFraction
})

/**
 * Trace replay.
 *
 * @since 0.1.0
 */
export const Trace = Schema.Struct({
  kind: Schema.Literal("trace"),
  /** Trace file (see the Trace module for the format). */
  file: Schema.optional(Schema.String),
  /** The trace itself, inline (instead of `file`). */
  text: Schema.optional(Schema.String),
  /** Which task column of the trace this task replays (default: this task's id). */
  task: Schema.optional(Schema.NonNegativeInt),
  /** Start again from the beginning when the trace ends (default false). */
  loop: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  writeFraction
})

/**
 * No accesses at all.
 *
 * @since 0.1.0
 */
export const Idle = Schema.Struct({ kind: Schema.Literal("idle"), writeFraction })

/**
 * Any workload.
 *
 * @since 0.1.0
 */
export const Workload = Schema.Union(Uniform, HotSet, Zipf, Stream, Trace, Idle)

/** @since 0.1.0 */
export type Workload = Schema.Schema.Type<typeof Workload>

/** @since 0.1.0 */
export type WorkloadInput = Schema.Schema.Encoded<typeof Workload>

/**
 * Heat classes per page are one byte; this is their count.
 *
 * @since 0.1.0
 */
export const MAX_CLASSES = 256

/**
 * Per-class rates of a classified workload.
 *
 * @since 0.1.0
 */
export interface Classes {
  /** Accesses per second of one page of each class (length MAX_CLASSES). */
  readonly rates: Float64Array
  /** Pages in each class (length MAX_CLASSES). */
  readonly counts: Float64Array
  /** Classes in use: every page's class is below this. */
  readonly size: number
}

/**
 * What `classify` needs beyond the workload.
 *
 * @since 0.1.0
 */
export interface ClassifyOptions {
  /** Seed of the permutations (hot-set scatter, Zipf ranks). */
  readonly seed: number
  /** For traces: accesses per page (page order) over the whole trace. */
  readonly traceCounts?: Uint32Array
  /** For traces: the trace's span in seconds. */
  readonly traceSeconds?: number
}

/**
 * Fills `heat` (one class per page, in the task's page order) for a workload and
 * returns the rate of each class. O(pages), one pass, no allocation per page.
 *
 * @since 0.1.0
 */
export const classify = (workload: Workload, heat: Uint8Array, options: ClassifyOptions): Classes => {
  const n = heat.length
  const rates = new Float64Array(MAX_CLASSES)
  const counts = new Float64Array(MAX_CLASSES)
  const rng = new Rng(seedState(options.seed, 0x5eed))
  switch (workload.kind) {
    case "idle":
      heat.fill(0)
      counts[0] = n
      return { rates, counts, size: 1 }
    case "uniform":
      heat.fill(0)
      counts[0] = n
      rates[0] = n > 0 ? workload.accessesPerSec / n : 0
      return { rates, counts, size: 1 }
    case "stream":
      // Time-averaged, every page is visited pagesPerSec / n times a second.
      heat.fill(0)
      counts[0] = n
      rates[0] = n > 0 ? (workload.pagesPerSec * workload.accessesPerPage) / n : 0
      return { rates, counts, size: 1 }
    case "hotset":
      return hotset(workload, heat, rng, rates, counts)
    case "zipf":
      return zipf(workload, heat, rng, rates, counts)
    case "trace":
      return trace(heat, options, rates, counts)
  }
}

/** Class 1 = hot, class 0 = cold. O(pages). */
const hotset = (w: Schema.Schema.Type<typeof HotSet>, heat: Uint8Array, rng: Rng, rates: Float64Array, counts: Float64Array): Classes => {
  const n = heat.length
  let hot = Math.min(n, Math.round(w.hotFraction * n))
  if (hot === 0 && w.hotFraction > 0 && n > 0) hot = 1
  heat.fill(0)
  if (w.layout === "contiguous") {
    const start = Math.floor(w.offset * n) % Math.max(1, n)
    const end = start + hot
    heat.fill(1, start, Math.min(n, end))
    if (end > n) heat.fill(1, 0, end - n)
  } else {
    // Page i is hot when its image under a seeded permutation is below `hot`. O(pages).
    const { a, b } = affine(n, rng)
    let r = (b + Math.floor(w.offset * n)) % Math.max(1, n)
    for (let i = 0; i < n; i++) {
      if (r < hot) heat[i] = 1
      r += a
      if (r >= n) r -= n
    }
  }
  counts[0] = n - hot
  counts[1] = hot
  const toHot = hot === 0 ? 0 : hot === n ? 1 : w.hotAccessFraction
  rates[1] = hot > 0 ? (w.accessesPerSec * toHot) / hot : 0
  rates[0] = n - hot > 0 ? (w.accessesPerSec * (1 - toHot)) / (n - hot) : 0
  return { rates, counts, size: 2 }
}

/** Class = log bucket of the page's rank. O(pages) plus O(classes) power sums. */
const zipf = (w: Schema.Schema.Type<typeof Zipf>, heat: Uint8Array, rng: Rng, rates: Float64Array, counts: Float64Array): Classes => {
  const n = heat.length
  if (n === 0) return { rates, counts, size: 1 }
  if (w.permute) {
    const { a, b } = affine(n, rng)
    let r = b
    for (let i = 0; i < n; i++) {
      heat[i] = bucketOf(r + 1)
      r += a
      if (r >= n) r -= n
    }
  } else {
    for (let i = 0; i < n; i++) heat[i] = bucketOf(i + 1)
  }
  const size = bucketOf(n) + 1
  let total = 0
  for (let c = 0; c < size; c++) {
    const [lo, hi] = bucketRange(c, n)
    if (hi < lo) continue
    counts[c] = hi - lo + 1
    rates[c] = powerSum(lo, hi, w.s)
    total += rates[c]
  }
  for (let c = 0; c < size; c++) if (counts[c] > 0) rates[c] = (w.accessesPerSec * rates[c]) / total / counts[c]
  return { rates, counts, size }
}

/** Class 0 = never accessed, class 1 + floor(log2(count)) otherwise. O(pages). */
const trace = (heat: Uint8Array, options: ClassifyOptions, rates: Float64Array, counts: Float64Array): Classes => {
  const n = heat.length
  const per = options.traceCounts
  const seconds = Math.max(1e-3, options.traceSeconds ?? 1)
  let size = 1
  for (let i = 0; i < n; i++) {
    const c = per === undefined ? 0 : per[i]
    const cls = c === 0 ? 0 : Math.min(MAX_CLASSES - 1, 32 - Math.clz32(c))
    heat[i] = cls
    counts[cls]++
    rates[cls] += c
    if (cls >= size) size = cls + 1
  }
  for (let c = 0; c < size; c++) rates[c] = counts[c] > 0 ? rates[c] / counts[c] / seconds : 0
  return { rates, counts, size }
}

/**
 * A one-line description, for result events and logs.
 *
 * @since 0.1.0
 */
export const describe = (w: Workload): string => {
  const pct = (x: number) => `${Math.round(x * 1000) / 10}%`
  const rw = w.writeFraction > 0 ? `, ${pct(w.writeFraction)} writes` : ""
  switch (w.kind) {
    case "uniform":
      return `uniform, ${w.accessesPerSec} accesses/s${rw}`
    case "hotset":
      return `hot set: ${pct(w.hotAccessFraction)} of ${w.accessesPerSec} accesses/s to ${pct(w.hotFraction)} of pages (${w.layout} at ${pct(w.offset)})${rw}`
    case "zipf":
      return `zipf s=${w.s}, ${w.accessesPerSec} accesses/s${rw}`
    case "stream":
      return `stream, ${w.pagesPerSec} pages/s${rw}`
    case "trace":
      return `trace ${w.file ?? "(inline)"}${w.loop ? ", looped" : ""}${rw}`
    case "idle":
      return "idle"
  }
}
