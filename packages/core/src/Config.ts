/**
 * The stack configuration file: which backend, which policy, and tunables, in JSON or
 * YAML. Errors name the file, the path inside it, what was expected and what was found;
 * an unknown key is refused with the closest known key.
 *
 * ```yaml
 * backend: sim                 # or { name: "@acme/kmm-backend-foo", options: {...} }
 * policy:
 *   name: hotness
 *   options: { threshold: 3 }
 * tunables:
 *   scanSleepMs: 20
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as YAML from "yaml"
import { ConfigError, formatValue } from "./Errors.js"
import { closest } from "./internal/closest.js"
import * as Tunables from "./Tunables.js"

/**
 * A plug-in reference: a name (built in, or an npm package name) and its options.
 *
 * @since 0.1.0
 */
export const PluginRef = Schema.Union(
  Schema.String,
  Schema.Struct({
    name: Schema.String,
    options: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
  })
)

/** @since 0.1.0 */
export type PluginRef = Schema.Schema.Type<typeof PluginRef>

/**
 * The whole stack.
 *
 * @since 0.1.0
 */
export const StackConfig = Schema.Struct({
  backend: Schema.optional(PluginRef),
  policy: Schema.optional(PluginRef),
  tunables: Schema.optional(Tunables.TunablesPatch),
  /** Where tunables changed at run time are kept across restarts (optional). */
  stateFile: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export type StackConfig = Schema.Schema.Type<typeof StackConfig>

const topKeys = ["backend", "policy", "tunables", "stateFile"]

/**
 * Name and options of a plug-in reference.
 *
 * @since 0.1.0
 */
export const pluginName = (ref: PluginRef): { readonly name: string; readonly options: Readonly<Record<string, unknown>> } =>
  typeof ref === "string" ? { name: ref, options: {} } : { name: ref.name, options: ref.options ?? {} }

/**
 * Parses a document's text as JSON (`.json`) or YAML (anything else; JSON is YAML too).
 *
 * @since 0.1.0
 */
export const parseText = (file: string, text: string): Either.Either<unknown, ConfigError> => {
  if (file.endsWith(".json")) {
    try {
      return Either.right(JSON.parse(text) as unknown)
    } catch (e) {
      return Either.left(new ConfigError({ file, path: "", reason: `not valid JSON: ${(e as Error).message}` }))
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const err = doc.errors[0]
    const line = err.linePos?.[0]
    return Either.left(
      new ConfigError({
        file,
        path: "",
        reason: `not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ""}: ${err.message.split("\n")[0]}`
      })
    )
  }
  return Either.right(doc.toJS() as unknown)
}

/**
 * Validates a parsed document as a StackConfig.
 *
 * @since 0.1.0
 */
export const decode = (file: string, input: unknown): Either.Either<StackConfig, ConfigError> => {
  if (input === null || input === undefined) return Either.right({})
  if (typeof input !== "object" || Array.isArray(input)) {
    return Either.left(new ConfigError({ file, path: "", reason: `expected a mapping of keys (${topKeys.join(", ")}), found ${describe(input)}` }))
  }
  const record = input as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!topKeys.includes(key)) return Either.left(unknownKey(file, "", key, topKeys))
  }
  if (record.tunables !== undefined) {
    const t = record.tunables
    if (typeof t !== "object" || t === null || Array.isArray(t)) {
      return Either.left(new ConfigError({ file, path: "tunables", reason: `expected a mapping of tunable names to values, found ${describe(t)}` }))
    }
    const checked = Tunables.decodePatch(t)
    if (Either.isLeft(checked)) {
      const e = checked.left
      const known = Tunables.knobs.map((k) => k.name as string)
      if (!known.includes(e.knob)) return Either.left(unknownKey(file, "tunables", e.knob, known))
      return Either.left(
        new ConfigError({ file, path: `tunables.${e.knob}`, reason: `expected ${e.expected}, found ${describe(e.value)}` })
      )
    }
  }
  const decoded = Schema.decodeUnknownEither(StackConfig, { onExcessProperty: "error" })(input)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
  const path = issue ? issue.path.map(String).join(".") : ""
  return Either.left(new ConfigError({ file, path, reason: `${issue?.message ?? "does not match"}; found ${describe(valueAt(input, issue?.path ?? []))}` }))
}

/**
 * Reads, parses and validates a config file.
 *
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<StackConfig, ConfigError> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) => new ConfigError({ file, path: "", reason: `cannot read the file: ${(e as NodeJS.ErrnoException).code ?? String(e)}` })
  }).pipe(Effect.flatMap((text) => Either.flatMap(parseText(file, text), (doc) => decode(file, doc))))

const unknownKey = (file: string, at: string, key: string, known: ReadonlyArray<string>): ConfigError => {
  const near = closest(key, known)
  return new ConfigError({
    file,
    path: at ? `${at}.${key}` : key,
    reason: `unknown key "${key}"${near ? `; did you mean "${near}"?` : ""} (known: ${known.join(", ")})`
  })
}

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "a list" : typeof value === "object" ? "a mapping" : `${typeof value} ${formatValue(value)}`

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let v: unknown = input
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined
  return v
}
