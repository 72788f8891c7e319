/**
 * File access for /proc and /sys as Effects, with errors classified the way the backend
 * reports them: a process that is gone (ENOENT/ESRCH under /proc/PID), a privilege that
 * is missing (EPERM/EACCES, with a hint naming it), anything else a BackendFailure.
 *
 * Small files are read synchronously (a few microseconds each: /proc and /sys files are
 * generated in memory); large reads and writes that may block (pagemap, DAMON commands)
 * go through libuv's thread pool so the JS thread stays free.
 */
import { BackendFailure, PermissionDenied, TargetGone } from "@kmm/core/Errors"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"

/** An error from a system call, as Node reports it. */
export interface SysError {
  readonly code: string
  readonly errno: number
  readonly message: string
  readonly path: string
}

/** Turns anything thrown by node:fs into a SysError. */
export const sysError = (e: unknown, path: string): SysError => {
  const err = e as NodeJS.ErrnoException
  return {
    code: typeof err?.code === "string" ? err.code : "EUNKNOWN",
    errno: typeof err?.errno === "number" ? Math.abs(err.errno) : 0,
    message: err instanceof Error ? err.message : String(e),
    path
  }
}

/** Whether an error means "the process (or its /proc entry) is gone". */
export const isGone = (e: SysError): boolean => e.code === "ENOENT" || e.code === "ESRCH"

/** Whether an error means "not allowed". */
export const isDenied = (e: SysError): boolean => e.code === "EACCES" || e.code === "EPERM"

/** Context to classify an error into the backend's errors. */
export interface Context {
  readonly operation: string
  /** The target the path belongs to (a pid), when it is a /proc/PID file. */
  readonly target?: number
  /** What to do when permission is denied. */
  readonly hint: string
}

/** Classifies a SysError. A missing /proc/PID file means the process is gone. */
export const classify = (e: SysError, ctx: Context): TargetGone | PermissionDenied | BackendFailure => {
  if (ctx.target !== undefined && isGone(e)) return new TargetGone({ target: ctx.target, operation: ctx.operation })
  if (isDenied(e)) {
    return new PermissionDenied({
      operation: ctx.operation,
      path: e.path,
      ...(ctx.target !== undefined ? { target: ctx.target } : {}),
      errno: e.code,
      hint: ctx.hint
    })
  }
  return new BackendFailure({ operation: ctx.operation, reason: `${e.path}: ${e.message}` })
}

/** Classifies an error on a host-wide file (/sys, /proc/kpageflags): no target to lose. */
export const classifyHost = (e: SysError, operation: string, hint: string): PermissionDenied | BackendFailure =>
  isDenied(e)
    ? new PermissionDenied({ operation, path: e.path, errno: e.code, hint })
    : new BackendFailure({ operation, reason: `${e.path}: ${e.message}` })

/** Reads a small text file synchronously; the error is left raw for the caller to classify. */
export const readText = (path: string): Effect.Effect<string, SysError> =>
  Effect.try({ try: () => fs.readFileSync(path, "latin1"), catch: (e) => sysError(e, path) })

/** Reads a small text file, or undefined when it cannot be read. */
export const readTextOr = (path: string): string | undefined => {
  try {
    return fs.readFileSync(path, "latin1")
  } catch {
    return undefined
  }
}

/** Writes a small file (sysfs/procfs control file) synchronously. */
export const writeText = (path: string, text: string): Effect.Effect<void, SysError> =>
  Effect.try({ try: () => fs.writeFileSync(path, text), catch: (e) => sysError(e, path) })

/** Writes a control file on the thread pool (for writes that block, such as DAMON commands). */
export const writeTextAsync = (path: string, text: string): Effect.Effect<void, SysError> =>
  Effect.async<void, SysError>((resume) => {
    fs.writeFile(path, text, (err) => resume(err ? Effect.fail(sysError(err, path)) : Effect.void))
  })

/** Opens a file for reading (or reading and writing); the descriptor is closed by `close`. */
export const open = (path: string, flags: "r" | "r+" = "r"): Effect.Effect<number, SysError> =>
  Effect.async<number, SysError>((resume) => {
    fs.open(path, flags, (err, fd) => resume(err ? Effect.fail(sysError(err, path)) : Effect.succeed(fd)))
  })

/** Closes a descriptor, ignoring errors. */
export const close = (fd: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    fs.close(fd, () => resume(Effect.void))
  })

/**
 * Reads `length` bytes at `position` into `buffer` (offset 0) with as few preads as the
 * kernel allows, on the thread pool. Returns the bytes read: fewer than `length` only at
 * end of file (for pagemap: the address space was torn down, the process exited).
 */
export const preadFully = (fd: number, buffer: Uint8Array, length: number, position: number, path: string): Effect.Effect<number, SysError> =>
  Effect.async<number, SysError>((resume) => {
    let done = 0
    const step = (): void => {
      fs.read(fd, buffer, done, length - done, position + done, (err, n) => {
        if (err) return resume(Effect.fail(sysError(err, path)))
        done += n
        if (n === 0 || done >= length) return resume(Effect.succeed(done))
        step()
      })
    }
    step()
  })

/** Synchronous pread, for one-off small reads (kpageflags runs, the idle bitmap). */
export const preadSync = (fd: number, buffer: Uint8Array, length: number, position: number, path: string): Effect.Effect<number, SysError> =>
  Effect.try({
    try: () => {
      let done = 0
      while (done < length) {
        const n = fs.readSync(fd, buffer, done, length - done, position + done)
        if (n === 0) break
        done += n
      }
      return done
    },
    catch: (e) => sysError(e, path)
  })

/** Synchronous pwrite of a whole buffer. */
export const pwriteSync = (fd: number, buffer: Uint8Array, length: number, position: number, path: string): Effect.Effect<void, SysError> =>
  Effect.try({
    try: () => {
      let done = 0
      while (done < length) done += fs.writeSync(fd, buffer, done, length - done, position + done)
    },
    catch: (e) => sysError(e, path)
  })

/** Entries of a directory, or an empty list when it cannot be read. */
export const listDir = (path: string): ReadonlyArray<string> => {
  try {
    return fs.readdirSync(path)
  } catch {
    return []
  }
}

/** Whether a path exists. */
export const exists = (path: string): boolean => fs.existsSync(path)

/**
 * Tries to open a path (and closes it at once): undefined when it opens, else the error.
 * Unlike access(2), this checks the effective credentials and capabilities, as the
 * real reads and writes will.
 */
export const tryOpen = (path: string, write = false): SysError | undefined => {
  try {
    fs.closeSync(fs.openSync(path, write ? "r+" : "r"))
    return undefined
  } catch (e) {
    return sysError(e, path)
  }
}
