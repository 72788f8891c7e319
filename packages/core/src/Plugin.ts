/**
 * The plug-in contract. A backend or policy package exports a `descriptor`: its name,
 * kind, the @kmm/core version range it supports, a config Schema, and a `layer`
 * constructor. `kmm` finds plug-ins by name (built in) or by npm package name
 * (`--policy @acme/kmm-policy-foo`), checks the descriptor, validates the options a
 * user gave against its Schema, and builds the layer.
 *
 * ```ts
 * export const descriptor: Plugin.PolicyDescriptor<typeof Config> = {
 *   kind: "policy", name: "foo", coreRange: "^0.1.0", configSchema: Config, layer: (config) => layer(config)
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { resolve as resolveExports } from "resolve.exports"
import semver from "semver"
import type { Backend } from "./Backend.js"
import type { GroundTruth } from "./GroundTruth.js"
import type { Policy } from "./Policy.js"
import { version } from "./internal/version.js"

/**
 * The version of @kmm/core that is running.
 *
 * @since 0.1.0
 */
export const coreVersion: string = version

/**
 * A backend plug-in. Its layer provides core's `Backend` (and may provide more, such
 * as `GroundTruth` or its own service).
 *
 * @since 0.1.0
 */
export interface BackendDescriptor<S extends Schema.Schema.Any = Schema.Schema.Any> {
  readonly kind: "backend"
  readonly name: string
  readonly coreRange: string
  readonly description?: string
  readonly configSchema: S
  readonly layer: (config: Schema.Schema.Type<S>) => Layer.Layer<Backend, unknown, never>
}

/**
 * A policy plug-in. Its layer provides core's `Policy`; it may require `GroundTruth`
 * (reference policies on a simulated backend).
 *
 * @since 0.1.0
 */
export interface PolicyDescriptor<S extends Schema.Schema.Any = Schema.Schema.Any> {
  readonly kind: "policy"
  readonly name: string
  readonly coreRange: string
  readonly description?: string
  readonly configSchema: S
  readonly layer: (config: Schema.Schema.Type<S>) => Layer.Layer<Policy, unknown, GroundTruth>
}

/**
 * Either kind.
 *
 * @since 0.1.0
 */
export type Descriptor = BackendDescriptor | PolicyDescriptor

/**
 * A plug-in could not be loaded or used. `plugin` is the name the user gave.
 *
 * @since 0.1.0
 */
export class PluginError extends Schema.TaggedError<PluginError>()("PluginError", {
  plugin: Schema.String,
  reason: Schema.String,
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `plug-in "${this.plugin}": ${this.reason}${this.hint ? `. ${this.hint}` : ""}`
  }
}

const Shape = Schema.Struct({
  kind: Schema.Literal("backend", "policy"),
  name: Schema.String.pipe(Schema.minLength(1)),
  coreRange: Schema.String,
  description: Schema.optional(Schema.String),
  configSchema: Schema.declare((u: unknown): u is Schema.Schema.Any => Schema.isSchema(u), {
    description: "an Effect Schema"
  }),
  layer: Schema.declare((u: unknown): u is (...args: Array<never>) => unknown => typeof u === "function", {
    description: "a function from config to Layer"
  })
})

/**
 * Checks what a module exports: a `descriptor` (or a `descriptors` array, one of which
 * has `name`) of the expected kind, whose core range includes the running core.
 *
 * @since 0.1.0
 */
export const validate = (
  plugin: string,
  exported: unknown,
  kind: Descriptor["kind"],
  name?: string
): Either.Either<Descriptor, PluginError> => {
  const mod = exported as { descriptor?: unknown; descriptors?: unknown; default?: { descriptor?: unknown; descriptors?: unknown } } | null
  const candidates: Array<unknown> = []
  for (const m of [mod, mod?.default]) {
    if (m === null || m === undefined) continue
    if (m.descriptor !== undefined) candidates.push(m.descriptor)
    if (Array.isArray(m.descriptors)) candidates.push(...(m.descriptors as Array<unknown>))
  }
  if (candidates.length === 0) {
    return Either.left(
      new PluginError({
        plugin,
        reason: "the package exports no `descriptor`",
        hint: "A kmm plug-in exports `descriptor = { kind, name, coreRange, configSchema, layer }` from its main entry"
      })
    )
  }
  const ofKind = candidates.filter((c) => (c as { kind?: unknown })?.kind === kind)
  const chosen = name === undefined ? ofKind[0] : ofKind.find((c) => (c as { name?: unknown }).name === name)
  if (chosen === undefined) {
    const kinds = candidates.map((c) => `${String((c as { kind?: unknown })?.kind)} "${String((c as { name?: unknown })?.name)}"`)
    return Either.left(new PluginError({ plugin, reason: `it is not a ${kind}${name ? ` named "${name}"` : ""} (it provides ${kinds.join(", ")})` }))
  }
  const decoded = Schema.decodeUnknownEither(Shape)(chosen)
  if (Either.isLeft(decoded)) {
    const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
    return Either.left(
      new PluginError({ plugin, reason: `its descriptor is malformed at "${issue?.path.join(".") ?? ""}": ${issue?.message ?? "does not match"}` })
    )
  }
  const d = chosen as Descriptor
  if (semver.validRange(d.coreRange) === null) {
    return Either.left(new PluginError({ plugin, reason: `its coreRange "${d.coreRange}" is not a semver range` }))
  }
  if (!semver.satisfies(coreVersion, d.coreRange, { includePrerelease: true })) {
    return Either.left(
      new PluginError({
        plugin,
        reason: `it supports @kmm/core ${d.coreRange}, but this is @kmm/core ${coreVersion}`,
        hint: "Install a version of the plug-in built for this core, or a core in its range"
      })
    )
  }
  return Either.right(d)
}

/**
 * Validates a user's options against a plug-in's config Schema; errors name the path.
 *
 * @since 0.1.0
 */
export const decodeConfig = <D extends Descriptor>(d: D, options: unknown): Either.Either<Schema.Schema.Type<D["configSchema"]>, PluginError> => {
  const decoded = Schema.decodeUnknownEither(d.configSchema as Schema.Schema<unknown, unknown, never>, { onExcessProperty: "error" })(options ?? {})
  if (Either.isRight(decoded)) return Either.right(decoded.right as Schema.Schema.Type<D["configSchema"]>)
  const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
  const at = issue && issue.path.length > 0 ? ` at options.${issue.path.join(".")}` : ""
  return Either.left(new PluginError({ plugin: d.name, reason: `invalid options${at}: ${issue?.message ?? "does not match"}` }))
}

/**
 * Finds a package's entry file from a directory the way Node finds it for `import`:
 * up the `node_modules` folders, then the package's `exports` (conditions "import",
 * "node", "default", then "require"), else `module` / `main` / index.js.
 *
 * @since 0.1.0
 */
export const resolveEntry = (packageName: string, from: string): string | undefined => {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, "node_modules", ...packageName.split("/"))
    const manifest = path.join(pkgDir, "package.json")
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, "utf8")) as { exports?: unknown; module?: string; main?: string }
      if (pkg.exports !== undefined) {
        const esm = resolveExports(pkg, ".", { conditions: ["import", "node"] })?.[0]
        const cjs = esm === undefined ? resolveExports(pkg, ".", { require: true, conditions: ["node"] })?.[0] : undefined
        const entry = esm ?? cjs
        return entry === undefined ? undefined : path.join(pkgDir, entry)
      }
      return path.join(pkgDir, pkg.module ?? pkg.main ?? "index.js")
    }
    if (path.dirname(dir) === dir) return undefined
  }
}

/**
 * Imports a plug-in package by name, resolved from `from` (default: the working
 * directory, so packages the user installed are found), and validates it.
 *
 * @since 0.1.0
 */
export const load = (packageName: string, kind: Descriptor["kind"], from: string = process.cwd()): Effect.Effect<Descriptor, PluginError> =>
  Effect.gen(function* () {
    const resolved = yield* Effect.try({
      try: () => resolveEntry(packageName, from),
      catch: (e) => new PluginError({ plugin: packageName, reason: `its package.json cannot be read: ${e instanceof Error ? e.message : String(e)}` })
    })
    if (resolved === undefined || !fs.existsSync(resolved)) {
      return yield* Effect.fail(
        new PluginError({
          plugin: packageName,
          reason:
            resolved === undefined
              ? `no package "${packageName}" is installed (looked from ${path.resolve(from)})`
              : `its entry ${resolved} does not exist (is the package built?)`,
          hint: `Install it (npm install ${packageName}) or check the name; built-in names are listed by \`kmm plugins\``
        })
      )
    }
    const mod = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(resolved).href) as Promise<unknown>,
      catch: (e) => new PluginError({ plugin: packageName, reason: `it failed to load: ${e instanceof Error ? e.message : String(e)}` })
    })
    return yield* validate(packageName, mod, kind)
  })
