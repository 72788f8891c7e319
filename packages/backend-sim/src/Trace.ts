/**
 * Access traces for replay: a simple text format, a parser that refuses malformed
 * input with the line number, and a writer.
 *
 * The format, one event per line:
 *
 * ```text
 * # kmm-sim trace v1: time_ms task page count
 * 0      1  0     3
 * 0.5    1  17    1
 * 12     2  4096  8
 * ```
 *
 * - `time_ms`: when the accesses happen, ms after the replay starts (a non-negative
 *   decimal); events are in time order (equal times are fine).
 * - `task`: which task replays the event (a non-negative integer, matched against a
 *   task's id, or the `task` option of its trace workload).
 * - `page`: the page, as an index in the task's page order (0 = its first page).
 * - `count`: accesses to that page at that time (a positive integer).
 *
 * Fields are separated by spaces, tabs or commas. Blank lines and lines starting with
 * `#` are ignored. A looped trace restarts `span` ms after it started, where span is
 * its last event's time plus 1 ms.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"

/**
 * A trace could not be read, or is malformed. `line` is 1-based; 0 means the whole file.
 *
 * @since 0.1.0
 */
export class TraceError extends Schema.TaggedError<TraceError>()("TraceError", {
  source: Schema.String,
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `trace ${this.source}${this.line > 0 ? `, line ${this.line}` : ""}: ${this.reason}`
  }
}

/**
 * A parsed trace: events as parallel typed arrays, entries [0, count) used.
 *
 * @since 0.1.0
 */
export interface Trace {
  /** File name, or "<inline>". */
  readonly source: string
  readonly count: number
  /** Event times, ms from the start of the replay, non-decreasing. */
  readonly time: Float64Array
  readonly task: Uint32Array
  /** Page index in the task's page order. */
  readonly page: Float64Array
  /** Accesses of each event (>= 1). */
  readonly accesses: Uint32Array
  /** Source line of each event, for errors found after parsing. */
  readonly line: Uint32Array
  /** Loop period, ms: last event time + 1. */
  readonly spanMs: number
}

const DECIMAL = /^(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/
const INTEGER = /^\d+$/
const SEPARATOR = /[\s,]+/

/**
 * Parses a trace. O(length of text); events are stored in growing typed arrays.
 *
 * @since 0.1.0
 */
export const parse = (text: string, source = "<inline>"): Either.Either<Trace, TraceError> => {
  let cap = 1024
  let time = new Float64Array(cap)
  let task = new Uint32Array(cap)
  let page = new Float64Array(cap)
  let accesses = new Uint32Array(cap)
  let line = new Uint32Array(cap)
  let count = 0
  let last = 0
  const fail = (ln: number, reason: string) => Either.left(new TraceError({ source, line: ln, reason }))
  const lines = text.split("\n")
  for (let l = 0; l < lines.length; l++) {
    const raw = lines[l].trim()
    if (raw === "" || raw.startsWith("#")) continue
    const ln = l + 1
    const f = raw.split(SEPARATOR)
    if (f.length !== 4) return fail(ln, `expected 4 fields (time_ms task page count), found ${f.length}: "${clip(raw)}"`)
    const [ts, ks, ps, cs] = f
    if (!DECIMAL.test(ts)) return fail(ln, `time_ms must be a non-negative number, found "${clip(ts)}"`)
    const t = Number(ts)
    if (!Number.isFinite(t)) return fail(ln, `time_ms must be finite, found "${clip(ts)}"`)
    if (t < last) return fail(ln, `time_ms ${t} is before the previous event's ${last}; events must be in time order`)
    if (!INTEGER.test(ks) || Number(ks) > 0x7fffffff) return fail(ln, `task must be a non-negative integer, found "${clip(ks)}"`)
    if (!INTEGER.test(ps) || !Number.isSafeInteger(Number(ps))) return fail(ln, `page must be a non-negative integer, found "${clip(ps)}"`)
    if (!INTEGER.test(cs) || Number(cs) < 1 || Number(cs) > 0xffffffff) {
      return fail(ln, `count must be a positive integer (at most 4294967295), found "${clip(cs)}"`)
    }
    if (count === cap) {
      cap *= 2
      time = grow(time, cap)
      task = grow(task, cap)
      page = grow(page, cap)
      accesses = grow(accesses, cap)
      line = grow(line, cap)
    }
    time[count] = t
    task[count] = Number(ks)
    page[count] = Number(ps)
    accesses[count] = Number(cs)
    line[count] = ln
    last = t
    count++
  }
  if (count === 0) return fail(0, "no events (every line is blank or a # comment)")
  return Either.right({
    source,
    count,
    time: time.subarray(0, count),
    task: task.subarray(0, count),
    page: page.subarray(0, count),
    accesses: accesses.subarray(0, count),
    line: line.subarray(0, count),
    spanMs: last + 1
  })
}

/**
 * Reads and parses a trace file.
 *
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<Trace, TraceError> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) => new TraceError({ source: file, line: 0, reason: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})` })
  }).pipe(Effect.flatMap((text) => parse(text, file)))

/**
 * One event, for `format`.
 *
 * @since 0.1.0
 */
export interface Event {
  readonly timeMs: number
  readonly task: number
  readonly page: number
  readonly count: number
}

/**
 * Writes events in the trace format (with its header comment).
 *
 * @since 0.1.0
 */
export const format = (events: Iterable<Event>): string => {
  const out = ["# kmm-sim trace v1: time_ms task page count"]
  for (const e of events) out.push(`${e.timeMs} ${e.task} ${e.page} ${e.count}`)
  return out.join("\n") + "\n"
}

/**
 * The events of one task, in time order.
 *
 * @since 0.1.0
 */
export interface TaskEvents {
  readonly count: number
  readonly time: Float64Array
  readonly page: Float64Array
  readonly accesses: Uint32Array
  readonly line: Uint32Array
  readonly spanMs: number
}

/**
 * Selects the events of one task column. O(events).
 *
 * @since 0.1.0
 */
export const forTask = (trace: Trace, task: number): TaskEvents => {
  let n = 0
  for (let i = 0; i < trace.count; i++) if (trace.task[i] === task) n++
  const time = new Float64Array(n)
  const page = new Float64Array(n)
  const accesses = new Uint32Array(n)
  const line = new Uint32Array(n)
  let j = 0
  for (let i = 0; i < trace.count; i++) {
    if (trace.task[i] !== task) continue
    time[j] = trace.time[i]
    page[j] = trace.page[i]
    accesses[j] = trace.accesses[i]
    line[j] = trace.line[i]
    j++
  }
  return { count: n, time, page, accesses, line, spanMs: trace.spanMs }
}

const clip = (s: string): string => (s.length > 40 ? s.slice(0, 37) + "..." : s)

const grow = <A extends Float64Array | Uint32Array>(a: A, cap: number): A => {
  const next = new (a.constructor as new (n: number) => A)(cap)
  next.set(a)
  return next
}
