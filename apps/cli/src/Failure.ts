/**
 * Turns how a program ended into the error the CLI reports: a typed failure stays
 * itself (so its exit code follows its tag), a defect becomes a `RunFailed`, an
 * interruption is no error (the run was stopped on purpose).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { describe, RunFailed } from "./Errors.js"

/** Succeeds with the value (or undefined when interrupted), or fails with the cause's error. */
export const fromExit = <A>(exit: Exit.Exit<A, unknown>): Effect.Effect<A | undefined, unknown> => {
  if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
  const cause = exit.cause
  if (Cause.isInterruptedOnly(cause)) return Effect.succeed(undefined)
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return Effect.fail(failure.value)
  return Effect.fail(new RunFailed({ reason: `internal error: ${describe(Cause.squash(cause))}` }))
}
