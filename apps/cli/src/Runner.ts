/**
 * Runs a program on the clock its backend lives on: a simulated backend in core's
 * `VirtualTime` (as fast as possible, or at a speed), any other in wall-clock time.
 * Either way it stops after `durationMs` or when `signal` aborts (Ctrl-C), by
 * interrupting the program so its scopes close and finalizers run.
 */
import * as VirtualTime from "@kmm/core/VirtualTime"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"

/** How a run ended. */
export interface Outcome<A, E> {
  readonly exit: Exit.Exit<A, E>
  /** The program finished by itself, the time was up, or it was stopped. */
  readonly reason: "done" | "time-up" | "aborted"
  /** Time on the program's clock from start to end, ms. */
  readonly elapsedMs: number
  /** Wall time, ms. */
  readonly wallMs: number
}

/** Options of `run`. */
export interface Options {
  /** Virtual time (a simulated backend) or the wall clock. */
  readonly virtual: boolean
  /** Stop after this long on the program's clock (default: run until it ends or is aborted). */
  readonly durationMs?: number
  /** Virtual ms per wall ms (virtual time only; Infinity = as fast as possible). */
  readonly speed?: number
  readonly signal?: AbortSignal
}

/** Runs `program` to its end, its duration, or the abort. */
export const run = async <A, E>(program: Effect.Effect<A, E>, options: Options): Promise<Outcome<A, E>> => {
  const t0 = performance.now()
  if (options.virtual) {
    const vt = VirtualTime.make()
    const result = await vt.run(program, {
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      ...(options.speed === undefined ? {} : { speed: options.speed }),
      ...(options.signal === undefined ? {} : { signal: options.signal })
    })
    return { exit: result.exit, reason: result._tag === "Done" ? "done" : result.reason, elapsedMs: result.now, wallMs: performance.now() - t0 }
  }
  const fiber = Effect.runFork(program)
  let reason: Outcome<A, E>["reason"] = "done"
  const stop = (why: "time-up" | "aborted") => {
    if (reason !== "done") return
    reason = why
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  const timer = options.durationMs === undefined ? undefined : setTimeout(() => stop("time-up"), options.durationMs)
  const onAbort = () => stop("aborted")
  if (options.signal?.aborted) onAbort()
  options.signal?.addEventListener("abort", onAbort, { once: true })
  try {
    const exit = await Effect.runPromise(Fiber.await(fiber))
    return { exit, reason, elapsedMs: performance.now() - t0, wallMs: performance.now() - t0 }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
  }
}
