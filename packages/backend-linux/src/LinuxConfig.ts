/**
 * The Linux backend's configuration: a Schema (so `kmm` validates a user's
 * `backend: { name: "linux", options: {...} }` block) and its defaults. Every key is
 * optional.
 *
 * | key | default | meaning |
 * |---|---|---|
 * | `targets.pids` | every process | only these pids |
 * | `targets.comm` | none | regular expression the command name (/proc/PID/comm) must match |
 * | `targets.cgroup` | none | cgroup v2 path; the process's cgroup is it or lies below it |
 * | `targets.minRss` | 0 | minimum resident set size: bytes, or "64MiB", "1G" |
 * | `targets.includeSelf` | false | whether kmm's own process may be a target |
 * | `source` | "auto" | accessed-bit source: auto, idle-page, damon-vaddr, damon-paddr, soft-dirty, none |
 * | `nodeSource` | "auto" | how a page's node is found: move-pages (query), pfn (frame number to memory block), auto (pfn as root, else move-pages) |
 * | `reportPfn` | false | scan chunks carry page frame numbers (where readable: root); 8 bytes a page |
 * | `chunkPages` | 65536 | pages per pagemap read and per scan chunk (512 to 1048576, a multiple of 32) |
 * | `moveShared` | false | also migrate pages other processes map (MPOL_MF_MOVE_ALL; needs CAP_SYS_NICE) |
 * | `damon.sampleUs` | 5000 | DAMON sampling interval, us |
 * | `damon.aggregateUs` | 200000 | DAMON aggregation interval, us |
 * | `damon.updateUs` | 1000000 | DAMON vaddr region update interval, us |
 * | `damon.minRegions` / `damon.maxRegions` | 10 / 1000 | DAMON's region count bounds |
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const UNITS: Record<string, number> = {
  "": 1, b: 1, k: 1024, kb: 1e3, kib: 1024, m: 1024 ** 2, mb: 1e6, mib: 1024 ** 2, g: 1024 ** 3, gb: 1e9, gib: 1024 ** 3, t: 1024 ** 4, tb: 1e12, tib: 1024 ** 4
}

/** Parses "64MiB", "1 G", "4096" into bytes (K/M/G/T and KiB... binary; KB... decimal). */
const parseSize = (text: string): number | undefined => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text)
  if (m === null) return undefined
  const unit = UNITS[m[2].toLowerCase()]
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit)
}

/**
 * A size in bytes: a non-negative integer, or a string such as "64MiB", "1G".
 *
 * @since 0.1.0
 */
export const Size = Schema.transformOrFail(Schema.Union(Schema.Number, Schema.String), Schema.Number, {
  strict: true,
  decode: (input, _, ast) => {
    const bytes = typeof input === "number" ? (Number.isSafeInteger(input) && input >= 0 ? input : undefined) : parseSize(input)
    return bytes === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, input, `expected a size: bytes, or a number with a unit such as "64MiB" or "1G"; found ${JSON.stringify(input)}`))
      : ParseResult.succeed(bytes)
  },
  encode: (bytes) => ParseResult.succeed(bytes)
}).annotations({ identifier: "Size" })

const Pattern = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      new RegExp(s)
      return true
    } catch (e) {
      return `expected a regular expression: ${e instanceof Error ? e.message : String(e)}`
    }
  })
)

/**
 * Which processes are targets. Every filter given must match.
 *
 * @since 0.1.0
 */
export const TargetSelection = Schema.Struct({
  pids: Schema.optional(Schema.Array(Schema.Int.pipe(Schema.positive()))),
  comm: Schema.optional(Pattern),
  cgroup: Schema.optional(Schema.String.pipe(Schema.startsWith("/", { message: () => 'expected a cgroup path starting with "/"' }))),
  minRss: Schema.optional(Size),
  includeSelf: Schema.optional(Schema.Boolean)
})

/**
 * Accessed-bit sources, and "auto" (the best one the host has) and "none".
 *
 * @since 0.1.0
 */
export const SourceName = Schema.Literal("auto", "idle-page", "damon-vaddr", "damon-paddr", "soft-dirty", "none")

/** @since 0.1.0 */
export type SourceName = Schema.Schema.Type<typeof SourceName>

const Us = Schema.Int.pipe(Schema.between(100, 60_000_000))

/**
 * DAMON's monitoring attributes.
 *
 * @since 0.1.0
 */
export const DamonConfig = Schema.Struct({
  sampleUs: Schema.optional(Us),
  aggregateUs: Schema.optional(Us),
  updateUs: Schema.optional(Us),
  minRegions: Schema.optional(Schema.Int.pipe(Schema.between(3, 1_000_000))),
  maxRegions: Schema.optional(Schema.Int.pipe(Schema.between(3, 1_000_000)))
})

/**
 * The configuration.
 *
 * @since 0.1.0
 */
export const LinuxConfig = Schema.Struct({
  targets: Schema.optional(TargetSelection),
  source: Schema.optional(SourceName),
  nodeSource: Schema.optional(Schema.Literal("auto", "move-pages", "pfn")),
  reportPfn: Schema.optional(Schema.Boolean),
  chunkPages: Schema.optional(
    Schema.Int.pipe(
      Schema.between(512, 1 << 20),
      Schema.filter((n) => n % 32 === 0 || "expected a multiple of 32")
    )
  ),
  moveShared: Schema.optional(Schema.Boolean),
  damon: Schema.optional(DamonConfig)
})

/** @since 0.1.0 */
export type LinuxConfig = Schema.Schema.Type<typeof LinuxConfig>

/** What a user writes (sizes may be strings). @since 0.1.0 */
export type LinuxConfigInput = Schema.Schema.Encoded<typeof LinuxConfig>

/**
 * The configuration with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly targets: {
    readonly pids: ReadonlyArray<number> | undefined
    readonly comm: string | undefined
    readonly cgroup: string | undefined
    readonly minRssBytes: number | undefined
    readonly includeSelf: boolean
  }
  readonly source: SourceName
  readonly nodeSource: "auto" | "move-pages" | "pfn"
  readonly reportPfn: boolean
  readonly chunkPages: number
  readonly moveShared: boolean
  readonly damon: {
    readonly sampleUs: number
    readonly aggregateUs: number
    readonly updateUs: number
    readonly minRegions: number
    readonly maxRegions: number
  }
}

/**
 * A configuration that does not match the schema, with the path of the offending key.
 *
 * @since 0.1.0
 */
export class LinuxConfigError extends Schema.TaggedError<LinuxConfigError>()("LinuxConfigError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `linux backend config${this.path ? ` at ${this.path}` : ""}: ${this.reason}`
  }
}

/**
 * Fills the defaults into a decoded configuration.
 *
 * @since 0.1.0
 */
export const resolve = (c: LinuxConfig): Either.Either<Resolved, LinuxConfigError> => {
  const damon = {
    sampleUs: c.damon?.sampleUs ?? 5000,
    aggregateUs: c.damon?.aggregateUs ?? 200_000,
    updateUs: c.damon?.updateUs ?? 1_000_000,
    minRegions: c.damon?.minRegions ?? 10,
    maxRegions: c.damon?.maxRegions ?? 1000
  }
  if (damon.aggregateUs < damon.sampleUs) return Either.left(new LinuxConfigError({ path: "damon.aggregateUs", reason: "must be at least damon.sampleUs" }))
  if (damon.maxRegions < damon.minRegions) return Either.left(new LinuxConfigError({ path: "damon.maxRegions", reason: "must be at least damon.minRegions" }))
  return Either.right({
    targets: {
      pids: c.targets?.pids,
      comm: c.targets?.comm,
      cgroup: c.targets?.cgroup,
      minRssBytes: c.targets?.minRss,
      includeSelf: c.targets?.includeSelf ?? false
    },
    source: c.source ?? "auto",
    nodeSource: c.nodeSource ?? "auto",
    reportPfn: c.reportPfn ?? false,
    chunkPages: c.chunkPages ?? 65536,
    moveShared: c.moveShared ?? false,
    damon
  })
}

const decodeSchema = Schema.decodeUnknownEither(LinuxConfig, { onExcessProperty: "error" })

/**
 * Validates a user's options and fills the defaults.
 *
 * @since 0.1.0
 */
export const decode = (input: unknown): Either.Either<Resolved, LinuxConfigError> => {
  const decoded = decodeSchema(input ?? {})
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    return Either.left(new LinuxConfigError({ path: issue ? issue.path.map(String).join(".") : "", reason: issue?.message ?? "does not match the schema" }))
  }
  return resolve(decoded.right)
}
