/**
 * Virtual time: runs an Effect in simulated time, as fast as the CPU allows or at a
 * chosen speed. It is a discrete-event loop: every fiber of the run is scheduled on a
 * scheduler of ours, and `Effect.sleep` registers a wake-up in a heap. When no fiber
 * can run, the clock jumps to the earliest wake-up. So an hour of a daemon on a
 * simulated machine takes as long as its work, not an hour, and two runs of the same
 * program see the same times.
 *
 * TestClock (for tests) moves time only when a test says so; VirtualTime moves it by
 * itself, for apps (`kmm run`, `kmm bench`) that want a simulated hour in seconds.
 *
 * ```ts
 * const vt = VirtualTime.make()
 * const result = await vt.run(Daemon.run.pipe(Effect.provide(stack)), { durationMs: 3_600_000 })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Scheduler from "effect/Scheduler"

interface Sleeper {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  cancelled: boolean
}

/**
 * How a run ended: the effect finished, or the time was up (or the run was aborted)
 * and the effect was interrupted.
 *
 * @since 0.1.0
 */
export type RunResult<A, E> =
  | { readonly _tag: "Done"; readonly exit: Exit.Exit<A, E>; readonly now: number }
  | { readonly _tag: "Stopped"; readonly exit: Exit.Exit<A, E>; readonly now: number; readonly reason: "time-up" | "aborted" }

/**
 * Options of `run`.
 *
 * @since 0.1.0
 */
export interface RunOptions {
  /** Stop (interrupt the effect) after this much virtual time, ms. Default: run until it ends. */
  readonly durationMs?: number
  /** Virtual ms per wall ms; Infinity (the default) runs as fast as possible. */
  readonly speed?: number
  /** Stops the run (the effect is interrupted, its finalizers run). */
  readonly signal?: AbortSignal
}

/**
 * A virtual clock and scheduler pair.
 *
 * @since 0.1.0
 */
export interface VirtualTime {
  /** The clock to give the effect (`run` provides it). */
  readonly clock: Clock.Clock
  /** Virtual now, ms. */
  readonly now: () => number
  /** Runs an effect to its end, or for `durationMs` of virtual time. */
  readonly run: <A, E>(effect: Effect.Effect<A, E>, options?: RunOptions) => Promise<RunResult<A, E>>
}

/**
 * Makes a virtual time source starting at `startMs` (default 0).
 *
 * @since 0.1.0
 */
export const make = (startMs = 0): VirtualTime => {
  let now = startMs
  let seq = 0
  const heap: Array<Sleeper> = []
  let tasks: Array<() => void> = []
  let interrupted = false

  const push = (s: Sleeper) => {
    heap.push(s)
    let i = heap.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (before(heap[p], heap[i])) break
      ;[heap[p], heap[i]] = [heap[i], heap[p]]
      i = p
    }
  }
  const pop = (): Sleeper | undefined => {
    const top = heap[0]
    const last = heap.pop()
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && before(heap[l], heap[m])) m = l
        if (r < heap.length && before(heap[r], heap[m])) m = r
        if (m === i) break
        ;[heap[m], heap[i]] = [heap[i], heap[m]]
        i = m
      }
    }
    return top
  }
  const peek = (): Sleeper | undefined => {
    while (heap.length > 0 && heap[0].cancelled) pop()
    return heap[0]
  }

  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    currentTimeMillis: Effect.sync(() => now),
    unsafeCurrentTimeNanos: () => BigInt(Math.round(now * 1e6)),
    currentTimeNanos: Effect.sync(() => BigInt(Math.round(now * 1e6))),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const s: Sleeper = { at: now + Math.max(0, Duration.toMillis(duration)), seq: seq++, wake: () => resume(Effect.void), cancelled: false }
        push(s)
        return Effect.sync(() => {
          s.cancelled = true
        })
      })
  }

  const scheduler: Scheduler.Scheduler = {
    scheduleTask: (task) => {
      tasks.push(task)
    },
    shouldYield: (fiber) => (fiber.currentOpCount > 2048 ? 0 : false)
  }

  /** Runs every runnable task, and what those schedule, until none is left. */
  const flush = () => {
    while (tasks.length > 0) {
      const batch = tasks
      tasks = []
      for (let i = 0; i < batch.length; i++) batch[i]()
    }
  }

  /** Moves the clock to the earliest wake-up and wakes everything due then. */
  const advance = (limit: number): boolean => {
    const next = peek()
    if (next === undefined || next.at > limit) return false
    now = Math.max(now, next.at)
    for (let s = peek(); s !== undefined && s.at <= now; s = peek()) {
      pop()
      s.wake()
    }
    return true
  }

  const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve))
  const wallSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

  const run = async <A, E>(effect: Effect.Effect<A, E>, options: RunOptions = {}): Promise<RunResult<A, E>> => {
    const fiber: Fiber.RuntimeFiber<A, E> = Effect.runFork(Effect.withClock(effect, clock), { scheduler })
    const end = options.durationMs === undefined ? Infinity : now + options.durationMs
    const speed = options.speed ?? Infinity
    const wallStart = performance.now()
    const virtualStart = now
    let lastBreath = performance.now()
    let stopping: "time-up" | "aborted" | undefined
    for (;;) {
      flush()
      const exit = fiber.unsafePoll()
      if (exit !== null) {
        return stopping === undefined ? { _tag: "Done", exit, now } : { _tag: "Stopped", exit, now, reason: stopping }
      }
      if (stopping === undefined && options.signal?.aborted) stopping = "aborted"
      const next = peek()
      if (stopping === undefined && next !== undefined && next.at > end) {
        now = end
        stopping = "time-up"
      }
      if (stopping !== undefined && !interrupted) {
        interrupted = true
        fiber.unsafeInterruptAsFork(FiberId.none)
        continue
      }
      if (next === undefined) {
        // Every fiber waits on something outside virtual time (I/O): let it happen.
        await macrotask()
        lastBreath = performance.now()
        continue
      }
      if (speed !== Infinity) {
        const wait = wallStart + (next.at - virtualStart) / speed - performance.now()
        if (wait > 1) {
          await wallSleep(Math.min(wait, 50))
          lastBreath = performance.now()
          continue
        }
      } else if (performance.now() - lastBreath > 20) {
        // Let signals, I/O and output through now and then.
        await macrotask()
        lastBreath = performance.now()
        continue
      }
      advance(stopping !== undefined ? Infinity : end)
    }
  }

  return {
    clock,
    now: () => now,
    run: (effect, options) => {
      interrupted = false
      return run(effect, options)
    }
  }
}

const before = (a: Sleeper, b: Sleeper): boolean => a.at < b.at || (a.at === b.at && a.seq < b.seq)
