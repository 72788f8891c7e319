/**
 * The CLI's own errors, how every error becomes one line for the user, and exit codes:
 * 0 success, 1 runtime failure, 2 usage or config error.
 */
import * as Data from "effect/Data"

/** A flag or argument that cannot be used as given. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly reason: string; readonly hint?: string }> {
  override get message(): string {
    return `${this.reason}${this.hint ? `. ${this.hint}` : ""}`
  }
}

/** The stack started but failed while running (a backend failure, a crash of a bench cell). */
export class RunFailed extends Data.TaggedError("RunFailed")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** Exit codes. */
export const ExitCode = { ok: 0, failure: 1, usage: 2 } as const

/** Errors that mean "what you asked for is wrong" (exit 2), by tag. */
const usageTags = new Set([
  "UsageError",
  // @kmm/core and the simulator
  "ConfigError",
  "PluginError",
  "InvalidTunable",
  "TokenError",
  "SimConfigError",
  "TraceError"
])

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof (error as { _tag: unknown })._tag === "string"
    ? (error as { _tag: string })._tag
    : undefined

/** The exit code for an error. */
export const exitCodeOf = (error: unknown): number => (usageTags.has(tagOf(error) ?? "") ? ExitCode.usage : ExitCode.failure)

/** One line saying what is wrong (and what to do, where the error carries a hint). */
export const describe = (error: unknown): string => {
  if (tagOf(error) === "InvalidTunable") return String((error as Error).message)
  if (error instanceof Error) return error.message.split("\n")[0]
  if (typeof error === "object" && error !== null && "message" in error) return String((error as { message: unknown }).message)
  return String(error)
}
