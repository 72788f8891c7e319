/**
 * move_pages(2) through the package's native addon: where pages are (query: no
 * destination) and moving them to a node (MPOL_MF_MOVE, or MPOL_MF_MOVE_ALL for pages
 * other processes map too). Each call runs on libuv's thread pool, so the daemon's JS
 * thread stays free while the kernel copies pages.
 *
 * Per-page results map to core's outcome codes: a node (>= 0), or
 * ENOENT -> GONE (not present), EBUSY/EAGAIN/EIO -> BUSY, ENOMEM -> NO_MEMORY,
 * EACCES/EPERM -> DENIED (shared page without MOVE_ALL, or not allowed),
 * EFAULT/EINVAL and anything else -> INVALID (zero page, special or unmapped address).
 * Whole-call failures: ESRCH -> TargetGone, EPERM/EACCES -> PermissionDenied (with the
 * privilege needed), ENOMEM -> every page NO_MEMORY, ENODEV/EINVAL -> every page
 * INVALID (the destination is not an online memory node).
 *
 * The addon is optional: where it was not built, `status` says why and the calls fail
 * with a BackendFailure carrying that reason.
 *
 * @since 0.1.0
 */
import { BackendFailure, PermissionDenied, TargetGone } from "@kmm/core/Errors"
import { Status } from "@kmm/core/MigrationPlan"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as os from "node:os"
import * as addon from "./internal/addon.js"
import * as hints from "./internal/hints.js"
import * as host from "./internal/host.js"

const E = os.constants.errno

/**
 * Whether the addon is there: `{ available: true }` or `{ available: false, reason }`.
 *
 * @since 0.1.0
 */
export const status = (): { readonly available: boolean; readonly reason?: string; readonly path?: string } => {
  const l = addon.load()
  return l._tag === "Available" ? { available: true, path: l.path } : { available: false, reason: l.reason }
}

/**
 * Maps one move_pages status (a node, or -errno) to core's outcome code.
 *
 * @since 0.1.0
 */
export const outcomeOf = (s: number): number => {
  if (s >= 0) return s
  switch (-s) {
    case E.ENOENT:
      return Status.GONE
    case E.EBUSY:
    case E.EAGAIN:
    case E.EIO:
      return Status.BUSY
    case E.ENOMEM:
      return Status.NO_MEMORY
    case E.EACCES:
    case E.EPERM:
      return Status.DENIED
    default:
      return Status.INVALID
  }
}

/** A whole-call failure: either an error, or one outcome for every page. */
type CallFailure = TargetGone | PermissionDenied | BackendFailure | { readonly _tag: "Uniform"; readonly status: number }

const callFailure = (pid: number, operation: string, e: unknown): CallFailure => {
  const code = (e as { code?: unknown })?.code
  const message = e instanceof Error ? e.message : String(e)
  switch (code) {
    case "ESRCH":
      return new TargetGone({ target: pid, operation })
    case "EPERM":
    case "EACCES":
      return new PermissionDenied({ operation, target: pid, errno: code, hint: hints.movePages })
    case "ENOMEM":
      return { _tag: "Uniform", status: Status.NO_MEMORY }
    case "ENODEV":
    case "EINVAL":
      return { _tag: "Uniform", status: Status.INVALID }
    case "ENOSYS":
      return new BackendFailure({ operation, reason: message, hint: "the kernel lacks move_pages(2) (CONFIG_NUMA and CONFIG_MIGRATION)" })
    default:
      return new BackendFailure({ operation, reason: message })
  }
}

/** Handles a call failure that gives every page one outcome; other failures stay errors. */
const orUniform =
  <A>(onUniform: (status: number) => A) =>
  (f: CallFailure): Effect.Effect<A, TargetGone | PermissionDenied | BackendFailure> =>
    f._tag === "Uniform" ? Effect.succeed(onUniform(f.status)) : Effect.fail(f)

const call = (
  pid: number,
  operation: string,
  pages: Float64Array,
  nodes: Int32Array | null,
  flags: number,
  out: Int32Array,
  count: number
): Effect.Effect<void, CallFailure> => {
  const l = addon.load()
  if (l._tag === "Missing") return Effect.fail(new BackendFailure({ operation, reason: l.reason }))
  return Effect.tryPromise({
    try: () => l.addon.movePages(pid, pages, host.pageShift(), nodes, flags, out, count),
    catch: (e) => callFailure(pid, operation, e)
  }).pipe(Effect.asVoid)
}

/**
 * Pages per move_pages call: the kernel takes any count, but smaller calls let other
 * work run between them and bound the memory of the address array.
 *
 * @since 0.1.0
 */
export const MAX_BATCH = 65536

/**
 * Pages per query call, and query calls run at once: a query only reads page tables, so
 * two threads of the pool answer a large one about twice as fast as one.
 *
 * @since 0.1.0
 */
export const QUERY_BATCH = 16384
const QUERY_CONCURRENCY = 2

/**
 * Where pages are: writes each page's node, or -errno (-ENOENT: not present, -EFAULT:
 * zero page or not mapped) into `status` (at least `count` entries).
 *
 * @since 0.1.0
 */
export const query = (
  pid: number,
  pages: Float64Array,
  count: number,
  status: Int32Array
): Effect.Effect<void, TargetGone | PermissionDenied | BackendFailure> =>
  Effect.forEach(
    Array.from({ length: Math.ceil(count / QUERY_BATCH) }, (_, k) => k * QUERY_BATCH),
    (from) => {
      const n = Math.min(QUERY_BATCH, count - from)
      // Each call runs to its end (no interruption of the others when one fails), so
      // none can still be writing into `status` once this returns.
      return call(pid, "move_pages query", pages.subarray(from, from + n), null, 0, status.subarray(from, from + n), n).pipe(
        Effect.catchAll(orUniform(() => void status.fill(-E.EINVAL, from, from + n))),
        Effect.either
      )
    },
    { concurrency: QUERY_CONCURRENCY }
  ).pipe(
    Effect.flatMap((results) => {
      const failed = results.find(Either.isLeft)
      return failed === undefined ? Effect.void : Effect.fail(failed.left)
    }),
    Effect.uninterruptible
  )

/**
 * Options of `move`.
 *
 * @since 0.1.0
 */
export interface MoveOptions {
  /** MPOL_MF_MOVE_ALL: also move pages that other processes map (needs CAP_SYS_NICE). */
  readonly shared?: boolean
}

/**
 * Moves pages to `destination` and returns core's outcome code per page (the node the
 * page now sits on, or why it did not move). A transparent huge page moves as a whole,
 * but the kernel may report EBUSY for its tail pages: pages reported busy are queried
 * once more, and those found on the destination count as moved.
 *
 * @since 0.1.0
 */
export const move = (
  pid: number,
  pages: Float64Array,
  count: number,
  destination: number,
  options: MoveOptions = {}
): Effect.Effect<Int16Array, TargetGone | PermissionDenied | BackendFailure> =>
  Effect.gen(function* () {
    const l = addon.load()
    if (l._tag === "Missing") return yield* Effect.fail(new BackendFailure({ operation: "move_pages", reason: l.reason }))
    const flags = options.shared === true ? l.addon.MPOL_MF_MOVE_ALL : l.addon.MPOL_MF_MOVE
    const outcome = new Int16Array(count)
    const raw = new Int32Array(Math.min(count, MAX_BATCH))
    const nodes = new Int32Array(Math.min(count, MAX_BATCH)).fill(destination)
    const busy = new Float64Array(Math.min(count, MAX_BATCH))
    const busyAt = new Int32Array(Math.min(count, MAX_BATCH))
    for (let from = 0; from < count; from += MAX_BATCH) {
      const n = Math.min(MAX_BATCH, count - from)
      const batch = pages.subarray(from, from + n)
      const failed = yield* call(pid, "move_pages", batch, nodes, flags, raw, n).pipe(
        Effect.as(undefined),
        Effect.catchAll(orUniform((status): number | undefined => status))
      )
      if (failed !== undefined) {
        outcome.fill(failed, from, from + n)
        continue
      }
      // O(n): map statuses; collect busy pages for one more look.
      let nBusy = 0
      for (let i = 0; i < n; i++) {
        const o = outcomeOf(raw[i])
        outcome[from + i] = o
        if (o === Status.BUSY) {
          busy[nBusy] = batch[i]
          busyAt[nBusy++] = from + i
        }
      }
      if (nBusy > 0) {
        yield* call(pid, "move_pages query", busy, null, 0, raw, nBusy).pipe(Effect.ignore)
        for (let k = 0; k < nBusy; k++) if (raw[k] === destination) outcome[busyAt[k]] = destination
      }
    }
    return outcome
  })
