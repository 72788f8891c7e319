/**
 * Tagged errors of the core interfaces. Each carries the fields a user needs to act.
 * They are Schema classes, so they can cross a wire (the QEMU agent, the HTTP API).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The target (process, task) no longer exists. The daemon drops it and counts it.
 *
 * @since 0.1.0
 */
export class TargetGone extends Schema.TaggedError<TargetGone>()("TargetGone", {
  target: Schema.Number,
  operation: Schema.String
}) {
  override get message(): string {
    return `target ${this.target} is gone (during ${this.operation}); it is dropped from the scan list`
  }
}

/**
 * The backend was refused an operation: a /proc or /sys file, ptrace, move_pages.
 *
 * @since 0.1.0
 */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  operation: Schema.String,
  path: Schema.optional(Schema.String),
  target: Schema.optional(Schema.Number),
  errno: Schema.optional(Schema.String),
  hint: Schema.String
}) {
  override get message(): string {
    const where = this.path ? ` ${this.path}` : this.target !== undefined ? ` (target ${this.target})` : ""
    return `permission denied: ${this.operation}${where}${this.errno ? ` [${this.errno}]` : ""}. ${this.hint}`
  }
}

/**
 * Any other backend failure (I/O error, timeout, a lost agent).
 *
 * @since 0.1.0
 */
export class BackendFailure extends Schema.TaggedError<BackendFailure>()("BackendFailure", {
  operation: Schema.String,
  reason: Schema.String,
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `backend ${this.operation} failed: ${this.reason}${this.hint ? `. ${this.hint}` : ""}`
  }
}

/**
 * Errors a backend operation may fail with.
 *
 * @since 0.1.0
 */
export type BackendError = TargetGone | PermissionDenied | BackendFailure

/**
 * A tunable value was refused. When it was a change at run time, the old value stays
 * in force.
 *
 * @since 0.1.0
 */
export class InvalidTunable extends Schema.TaggedError<InvalidTunable>()("InvalidTunable", {
  knob: Schema.String,
  value: Schema.Unknown,
  expected: Schema.String
}) {
  override get message(): string {
    return `invalid value ${formatValue(this.value)} for tunable "${this.knob}": expected ${this.expected}`
  }
}

/**
 * A configuration file could not be read or does not match the schema.
 *
 * @since 0.1.0
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  /** Path inside the document, e.g. "tunables.scanSleepMs" ("" for the whole file). */
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}${this.path ? ` at ${this.path}` : ""}: ${this.reason}`
  }
}

/**
 * A daemon control request named a target the daemon does not know.
 *
 * @since 0.1.0
 */
export class UnknownTarget extends Schema.TaggedError<UnknownTarget>()("UnknownTarget", {
  target: Schema.Number
}) {
  override get message(): string {
    return `no target ${this.target} is known to the daemon; list targets to see the ids`
  }
}

/** @internal */
export const formatValue = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value) ?? value)
  } catch {
    return String(value)
  }
}

/**
 * One of the daemon's fibers died of a defect (a bug in a backend or policy, e.g. an
 * exception thrown from `observe`). The daemon stops; `Daemon.run` fails with this.
 *
 * @since 0.1.0
 */
export class DaemonCrashed extends Schema.TaggedError<DaemonCrashed>()("DaemonCrashed", {
  role: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `the daemon's ${this.role} stopped on an unexpected error: ${this.reason}`
  }
}
