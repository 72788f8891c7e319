/**
 * Tunables: the knobs of the daemon (the sysfs knobs of the kmmscand series), one
 * Schema-validated record with defaults, loadable from a file and from environment
 * variables, and changeable while the daemon runs. An invalid value is refused with
 * an error naming the knob, the value and the allowed range; the old value stays.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { InvalidTunable } from "./Errors.js"
import { closest } from "./internal/closest.js"

/**
 * Description of one knob: default, range, unit and meaning.
 *
 * @since 0.1.0
 */
export interface Knob {
  readonly name: keyof TunableValues
  readonly default: number | boolean
  /** Smallest and largest allowed values (numbers only). */
  readonly min?: number
  readonly max?: number
  readonly unit: string
  readonly doc: string
  /** The kmmscand sysfs knob it mirrors, if any. */
  readonly sysfs?: string
}

const int = (min: number, max: number) => Schema.Number.pipe(Schema.int(), Schema.between(min, max))

/**
 * The tunables record.
 *
 * @since 0.1.0
 */
export const TunableValues = Schema.Struct({
  scanEnabled: Schema.Boolean,
  scanSleepMs: int(0, 600_000),
  targetsPerPass: int(1, 1_048_576),
  scanPeriodMs: int(10, 3_600_000),
  scanPeriodMinMs: int(10, 3_600_000),
  scanPeriodMaxMs: int(10, 3_600_000),
  periodIgnorePages: int(0, 1_000_000_000),
  scanSizeMB: int(256, 4096),
  initialDelayMs: int(0, 3_600_000),
  targetNode: int(-1, 1023),
  migrateRateMBps: int(1, 1_048_576),
  migrateBatchPages: int(1, 65_536),
  noMemoryBackoffMs: int(0, 3_600_000),
  targetRefreshMs: int(10, 3_600_000)
})

/** @since 0.1.0 */
export interface TunableValues extends Schema.Schema.Type<typeof TunableValues> {}

/**
 * A partial record: what a config file, the environment or a PATCH may set.
 *
 * @since 0.1.0
 */
export const TunablesPatch = Schema.partial(TunableValues)

/** @since 0.1.0 */
export type TunablesPatch = Schema.Schema.Type<typeof TunablesPatch>

/**
 * Every knob with its default, range, unit and meaning (kmmscand defaults; scan size
 * and its range as in the series' V1).
 *
 * @since 0.1.0
 */
export const knobs: ReadonlyArray<Knob> = [
  { name: "scanEnabled", default: true, unit: "", doc: "Scan and migrate (false pauses the daemon)", sysfs: "scan_enabled" },
  { name: "scanSleepMs", default: 16, min: 0, max: 600_000, unit: "ms", doc: "Sleep between scan passes", sysfs: "scan_sleep_ms" },
  { name: "targetsPerPass", default: 4096, min: 1, max: 1_048_576, unit: "targets", doc: "Targets visited per scan pass", sysfs: "mms_to_scan" },
  { name: "scanPeriodMs", default: 2000, min: 10, max: 3_600_000, unit: "ms", doc: "Initial per-target scan period (adapts between min and max)", sysfs: "mm_scan_period_ms" },
  { name: "scanPeriodMinMs", default: 400, min: 10, max: 3_600_000, unit: "ms", doc: "Shortest adaptive scan period" },
  { name: "scanPeriodMaxMs", default: 5000, min: 10, max: 3_600_000, unit: "ms", doc: "Longest adaptive scan period" },
  { name: "periodIgnorePages", default: 100, min: 0, max: 1_000_000_000, unit: "pages", doc: "A change in pages found below this leaves the period alone" },
  { name: "scanSizeMB", default: 1024, min: 256, max: 4096, unit: "MiB", doc: "Address space scanned per pass, over all targets" },
  { name: "initialDelayMs", default: 1000, min: 0, max: 3_600_000, unit: "ms", doc: "Delay before a new target is first scanned" },
  { name: "targetNode", default: -1, min: -1, max: 1023, unit: "node", doc: "Promotion destination: a node id, or -1 for auto (the top-tier node where the target's accessed pages mostly sit)", sysfs: "target_node" },
  { name: "migrateRateMBps", default: 1024, min: 1, max: 1_048_576, unit: "MiB/s", doc: "Migration rate limit" },
  { name: "migrateBatchPages", default: 512, min: 1, max: 65_536, unit: "pages", doc: "Pages per migrate call" },
  { name: "noMemoryBackoffMs", default: 1000, min: 0, max: 3_600_000, unit: "ms", doc: "After a no-memory failure, time before that node is tried again" },
  { name: "targetRefreshMs", default: 1000, min: 10, max: 3_600_000, unit: "ms", doc: "How often the target list is refreshed" }
]

/**
 * The defaults.
 *
 * @since 0.1.0
 */
export const defaults: TunableValues = Object.fromEntries(knobs.map((k) => [k.name, k.default])) as unknown as TunableValues

const knobByName = new Map(knobs.map((k) => [k.name as string, k]))

/**
 * What a knob accepts, in words: "an integer from 0 to 600000 (ms)".
 *
 * @since 0.1.0
 */
export const expected = (name: string): string => {
  const k = knobByName.get(name)
  if (k === undefined) return `one of the known tunables (${knobs.map((k) => k.name).join(", ")})`
  if (typeof k.default === "boolean") return "true or false"
  return `an integer from ${k.min} to ${k.max}${k.unit ? ` (${k.unit})` : ""}`
}

/**
 * Checks a patch without applying it: every key must be a known knob with a value in
 * range. The first problem is reported.
 *
 * @since 0.1.0
 */
export const decodePatch = (input: unknown): Either.Either<TunablesPatch, InvalidTunable> => {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return Either.left(new InvalidTunable({ knob: "", value: input, expected: "an object of tunable names to values" }))
  }
  for (const [key, value] of Object.entries(input)) {
    if (!knobByName.has(key)) {
      const near = closest(key, knobs.map((k) => k.name))
      return Either.left(
        new InvalidTunable({ knob: key, value, expected: `a known tunable${near ? ` (did you mean "${near}"?)` : ""}` })
      )
    }
  }
  const decoded = Schema.decodeUnknownEither(TunablesPatch, { onExcessProperty: "error", errors: "all" })(input)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
  const first = issues[0]
  const knob = String(first?.path[0] ?? "")
  return Either.left(new InvalidTunable({ knob, value: (input as Record<string, unknown>)[knob], expected: expected(knob) }))
}

/**
 * Applies a patch to values, checking the knobs that relate (min <= period <= max).
 *
 * @since 0.1.0
 */
export const apply = (current: TunableValues, input: unknown): Either.Either<TunableValues, InvalidTunable> =>
  Either.flatMap(decodePatch(input), (patch) => {
    const next = { ...current } as Record<string, unknown>
    for (const [k, v] of Object.entries(patch)) if (v !== undefined) next[k] = v
    return checkRelated(next as unknown as TunableValues, patch)
  })

const checkRelated = (next: TunableValues, patch: TunablesPatch): Either.Either<TunableValues, InvalidTunable> => {
  {
    if (next.scanPeriodMinMs > next.scanPeriodMaxMs) {
      return Either.left(
        new InvalidTunable({
          knob: "scanPeriodMinMs" in patch ? "scanPeriodMinMs" : "scanPeriodMaxMs",
          value: "scanPeriodMinMs" in patch ? next.scanPeriodMinMs : next.scanPeriodMaxMs,
          expected: `scanPeriodMinMs <= scanPeriodMaxMs (now ${next.scanPeriodMinMs} and ${next.scanPeriodMaxMs})`
        })
      )
    }
    if (next.scanPeriodMs < next.scanPeriodMinMs || next.scanPeriodMs > next.scanPeriodMaxMs) {
      return Either.left(
        new InvalidTunable({
          knob: "scanPeriodMs",
          value: next.scanPeriodMs,
          expected: `a period from scanPeriodMinMs to scanPeriodMaxMs (${next.scanPeriodMinMs} to ${next.scanPeriodMaxMs} ms)`
        })
      )
    }
    return Either.right(next)
  }
}

/**
 * Environment variable of a knob: `scanSleepMs` is `KMM_SCAN_SLEEP_MS`.
 *
 * @since 0.1.0
 */
export const envName = (knob: string): string =>
  "KMM_" + knob.replace("MBps", "Mbps").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()

/**
 * Reads knobs from environment variables (`KMM_SCAN_SLEEP_MS=20`, `KMM_SCAN_ENABLED=false`).
 * A malformed value is refused with the variable's name.
 *
 * @since 0.1.0
 */
export const fromEnv = (env: Readonly<Record<string, string | undefined>>): Either.Either<TunablesPatch, InvalidTunable> => {
  const patch: Record<string, unknown> = {}
  for (const k of knobs) {
    const raw = env[envName(k.name)]
    if (raw === undefined || raw === "") continue
    const value = parseScalar(raw)
    const checked = decodePatch({ [k.name]: value })
    if (Either.isLeft(checked)) {
      return Either.left(new InvalidTunable({ knob: envName(k.name), value: raw, expected: expected(k.name) }))
    }
    patch[k.name] = value
  }
  return Either.right(patch as TunablesPatch)
}

/**
 * Parses a scalar written on a command line or in the environment: numbers and
 * booleans become typed; anything else stays a string (and fails validation).
 *
 * @since 0.1.0
 */
export const parseScalar = (raw: string): unknown => {
  const s = raw.trim()
  if (s === "true") return true
  if (s === "false") return false
  if (s !== "" && /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i.test(s)) return Number(s)
  return raw
}

/**
 * The live tunables of a running daemon.
 *
 * @since 0.1.0
 */
export interface Tunables {
  /** The values now. */
  readonly get: Effect.Effect<TunableValues>
  /** Validates and applies a patch atomically; on error nothing changes. */
  readonly set: (patch: unknown) => Effect.Effect<TunableValues, InvalidTunable>
  /** The values now and every change after. */
  readonly changes: Stream.Stream<TunableValues>
}

/**
 * The Tunables tag.
 *
 * @since 0.1.0
 */
export const Tunables: Context.Tag<Tunables, Tunables> = Context.GenericTag<Tunables>("@kmm/core/Tunables")

/**
 * Makes live tunables from the defaults and an initial patch (validated).
 *
 * @since 0.1.0
 */
export const make = (initial: unknown = {}): Effect.Effect<Tunables, InvalidTunable> =>
  Effect.gen(function* () {
    const start = yield* apply(defaults, initial)
    const ref = yield* SubscriptionRef.make(start)
    return {
      get: SubscriptionRef.get(ref),
      set: (patch: unknown) =>
        SubscriptionRef.modifyEffect(ref, (current) =>
          Either.match(apply(current, patch), {
            onLeft: (e) => Effect.fail(e),
            onRight: (next) => Effect.succeed([next, next] as const)
          })
        ),
      changes: ref.changes
    }
  })

/**
 * A layer with the defaults overridden by `initial`.
 *
 * @since 0.1.0
 */
export const layer = (initial: unknown = {}): Layer.Layer<Tunables, InvalidTunable> => Layer.effect(Tunables, make(initial))

/**
 * Pages per scan pass for a page size.
 *
 * @since 0.1.0
 */
export const scanSizePages = (values: TunableValues, pageSize: number): number =>
  Math.floor((values.scanSizeMB * 1024 * 1024) / pageSize)
