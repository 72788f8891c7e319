/**
 * Stack: composes a tiering stack (backend + policy + tunables) from a config file and
 * overrides, the one way `kmm run`, `kmm bench` and the server build what the daemon
 * runs on.
 *
 * - backend and policy: by built-in name (the descriptors an app passes in; core knows
 *   none itself) or by npm package name (`@acme/kmm-policy-foo`, loaded with
 *   `Plugin.load` from the config file's folder, then the working directory); each
 *   plug-in's options are validated against its config schema;
 * - tunables: defaults < config file < environment (`KMM_*`) < `--set KNOB=VALUE`.
 *
 * ```ts
 * import { Config, Daemon, Stack } from "@kmm/core"
 * import { Effect, Layer } from "effect"
 *
 * const resolved = yield* Stack.resolve(yield* Config.load("kmm.yaml"), {
 *   builtins: { backends: [sim.descriptor], policies: [hotness.descriptor] },
 *   defaults: { backend: "sim", policy: "hotness" },
 *   file: "kmm.yaml",
 *   env: process.env,
 *   set: ["scanSleepMs=20"]
 * })
 * const program = Daemon.run.pipe(Effect.provide(Stack.layer(resolved)))
 * ```
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { createRequire } from "node:module"
import * as path from "node:path"
import type { Backend } from "./Backend.js"
import type { StackConfig } from "./Config.js"
import * as Config from "./Config.js"
import { ConfigError, InvalidTunable } from "./Errors.js"
import { GroundTruth } from "./GroundTruth.js"
import { closest } from "./internal/closest.js"
import type { BackendDescriptor, Descriptor, PolicyDescriptor } from "./Plugin.js"
import * as Plugin from "./Plugin.js"
import type { Policy } from "./Policy.js"
import * as Tunables from "./Tunables.js"

/**
 * The plug-ins an app ships with, found by their descriptor's `name`.
 *
 * @since 0.1.0
 */
export interface Builtins {
  readonly backends: ReadonlyArray<BackendDescriptor>
  readonly policies: ReadonlyArray<PolicyDescriptor>
}

/**
 * How to resolve a config.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly builtins: Builtins
  /** Names used when neither the config nor an override names a plug-in. */
  readonly defaults: { readonly backend: string; readonly policy: string }
  /** The config file the config came from: named in errors, and packages are looked up next to it. */
  readonly file?: string
  /** Backend name overriding the config's (`--backend`); the config's options stay only if it names the same plug-in. */
  readonly backend?: string
  /** Policy name overriding the config's (`--policy`); same rule for options. */
  readonly policy?: string
  /** Environment to read `KMM_*` tunables from (default: none). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** `KNOB=VALUE` assignments (`--set`), applied last, in order. */
  readonly set?: ReadonlyArray<string>
  /** Folders to look packages up from, in order (default: the config file's folder, then the working directory). */
  readonly resolveFrom?: ReadonlyArray<string>
}

/**
 * Where a tunable's value came from.
 *
 * @since 0.1.0
 */
export type Origin = "default" | "config" | "env" | "set"

/**
 * One resolved plug-in.
 *
 * @since 0.1.0
 */
export interface Resolved<D extends Descriptor> {
  readonly descriptor: D
  /** The name the user gave: a built-in name or a package name. */
  readonly ref: string
  /** Built in, or loaded from an installed package. */
  readonly source: "builtin" | "package"
  /** Its options, validated by its config schema (defaults filled in). */
  readonly options: unknown
}

/**
 * A whole stack, resolved and validated, ready to build.
 *
 * @since 0.1.0
 */
export interface Stack {
  readonly backend: Resolved<BackendDescriptor>
  readonly policy: Resolved<PolicyDescriptor>
  readonly tunables: Tunables.TunableValues
  /** Where each tunable's value came from. */
  readonly origins: Readonly<Record<keyof Tunables.TunableValues, Origin>>
}

/**
 * Errors of `resolve`.
 *
 * @since 0.1.0
 */
export type StackError = Plugin.PluginError | ConfigError | InvalidTunable

/**
 * Parses one `KNOB=VALUE` assignment into a one-knob patch (the value is typed with
 * `Tunables.parseScalar`, then checked).
 *
 * @since 0.1.0
 */
export const parseAssignment = (assignment: string): Either.Either<Tunables.TunablesPatch, InvalidTunable> => {
  const eq = assignment.indexOf("=")
  if (eq <= 0) {
    return Either.left(new InvalidTunable({ knob: assignment, value: assignment, expected: "KNOB=VALUE, e.g. scanSleepMs=20 (see `kmm tunables`)" }))
  }
  const knob = assignment.slice(0, eq).trim()
  return Tunables.decodePatch({ [knob]: Tunables.parseScalar(assignment.slice(eq + 1)) })
}

/**
 * Merges the tunables of every source over the defaults and checks the result.
 * O(knobs x sources).
 *
 * @since 0.1.0
 */
export const mergeTunables = (
  fromConfig: Tunables.TunablesPatch | undefined,
  env: Readonly<Record<string, string | undefined>>,
  set: ReadonlyArray<string>
): Either.Either<{ readonly values: Tunables.TunableValues; readonly origins: Record<keyof Tunables.TunableValues, Origin> }, InvalidTunable> =>
  Either.gen(function* () {
    const origins = Object.fromEntries(Tunables.knobs.map((k) => [k.name, "default"])) as Record<keyof Tunables.TunableValues, Origin>
    const merged: Record<string, unknown> = {}
    const add = (patch: Tunables.TunablesPatch, origin: Origin) => {
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) continue
        merged[k] = v
        origins[k as keyof Tunables.TunableValues] = origin
      }
    }
    add(fromConfig ?? {}, "config")
    add(yield* Tunables.fromEnv(env), "env")
    for (const assignment of set) add(yield* parseAssignment(assignment), "set")
    const values = yield* Tunables.apply(Tunables.defaults, merged)
    return { values, origins }
  })

/**
 * Resolves a config: finds both plug-ins, validates their options, merges tunables.
 *
 * @since 0.1.0
 */
export const resolve = (config: StackConfig, options: Options): Effect.Effect<Stack, StackError> =>
  Effect.gen(function* () {
    const from = options.resolveFrom ?? [...(options.file ? [path.dirname(path.resolve(options.file))] : []), process.cwd()]
    const backend = yield* resolvePlugin("backend", config.backend, options.backend, options.defaults.backend, options.builtins.backends, from, options.file)
    const policy = yield* resolvePlugin("policy", config.policy, options.policy, options.defaults.policy, options.builtins.policies, from, options.file)
    const tunables = yield* mergeTunables(config.tunables, options.env ?? {}, options.set ?? [])
    return {
      backend: backend as Resolved<BackendDescriptor>,
      policy: policy as Resolved<PolicyDescriptor>,
      tunables: tunables.values,
      origins: tunables.origins
    }
  })

/**
 * Loads the config file (if any) and resolves it.
 *
 * @since 0.1.0
 */
export const fromFile = (file: string | undefined, options: Omit<Options, "file">): Effect.Effect<Stack, StackError> =>
  Effect.flatMap(file === undefined ? Effect.succeed<StackConfig>({}) : Config.load(file), (config) =>
    resolve(config, file === undefined ? options : { ...options, file })
  )

const resolvePlugin = (
  kind: Descriptor["kind"],
  fromConfig: Config.PluginRef | undefined,
  override: string | undefined,
  fallback: string,
  builtins: ReadonlyArray<Descriptor>,
  from: ReadonlyArray<string>,
  file: string | undefined
): Effect.Effect<Resolved<Descriptor>, StackError> =>
  Effect.gen(function* () {
    const configured = fromConfig === undefined ? undefined : Config.pluginName(fromConfig)
    const name = override ?? configured?.name ?? fallback
    // Options written for another plug-in do not carry over to the one named by the override.
    const givenOptions = configured !== undefined && configured.name === name ? configured.options : {}
    const builtin = builtins.find((d) => d.name === name)
    const descriptor = builtin ?? (yield* loadPackage(kind, name, builtins, from))
    const options = yield* decodeOptions(kind, name, descriptor, givenOptions, configured !== undefined && configured.name === name ? file : undefined)
    return { descriptor, ref: name, source: builtin ? "builtin" : "package", options }
  })

/** The first folder from which `name` resolves, if any. */
const findFrom = (name: string, from: ReadonlyArray<string>): string | undefined =>
  from.find((dir) => {
    try {
      createRequire(path.join(path.resolve(dir), "package.json")).resolve(name)
      return true
    } catch {
      return false
    }
  })

const loadPackage = (
  kind: Descriptor["kind"],
  name: string,
  builtins: ReadonlyArray<Descriptor>,
  from: ReadonlyArray<string>
): Effect.Effect<Descriptor, Plugin.PluginError> => {
  const dir = findFrom(name, from)
  if (dir !== undefined) return Plugin.load(name, kind, dir)
  const names = builtins.map((d) => d.name)
  const near = closest(name, names)
  return Effect.fail(
    new Plugin.PluginError({
      plugin: name,
      reason: `no built-in ${kind} has this name and no package "${name}" is installed (looked from ${[...new Set(from.map((d) => path.resolve(d)))].join(", ")})`,
      hint: `${near ? `Did you mean "${near}"? ` : ""}Built-in ${kind === "backend" ? "backends" : "policies"}: ${names.join(", ")}; for a plug-in package, install it (npm install ${name}) and give its npm name`
    })
  )
}

/** Validates a plug-in's options; errors from a config file name the file and the path in it. */
const decodeOptions = (
  kind: Descriptor["kind"],
  name: string,
  descriptor: Descriptor,
  options: unknown,
  file: string | undefined
): Effect.Effect<unknown, Plugin.PluginError | ConfigError> => {
  if (file === undefined) return Plugin.decodeConfig(descriptor, options)
  const decoded = Schema.decodeUnknownEither(descriptor.configSchema as Schema.Schema<unknown, unknown, never>, { onExcessProperty: "error" })(options)
  if (Either.isRight(decoded)) return Effect.succeed(decoded.right)
  const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0]
  const at = [kind, "options", ...(issue?.path ?? []).map(String)].join(".")
  let reason = issue?.message ?? "does not match the options of this plug-in"
  if (issue?._tag === "Unexpected") {
    // The formatter lists the keys it expected: "is unexpected, expected: "a" | "b"".
    const key = String(issue.path[issue.path.length - 1] ?? "")
    const known = [...reason.matchAll(/"([^"]+)"/g)].map((m) => m[1])
    const near = closest(key, known)
    reason = `unknown key "${key}" for ${kind} "${name}"${near ? `; did you mean "${near}"?` : ""}${known.length > 0 ? ` (known: ${known.join(", ")})` : ""}`
  } else {
    reason = `${reason}; found ${describeValue(valueAt(options, issue?.path ?? []))}`
  }
  return Effect.fail(new ConfigError({ file, path: at, reason }))
}

const valueAt = (input: unknown, at: ReadonlyArray<PropertyKey>): unknown => {
  let v: unknown = input
  for (const k of at) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined
  return v
}

const describeValue = (value: unknown): string =>
  value === undefined
    ? "nothing"
    : value === null
      ? "null"
      : Array.isArray(value)
        ? "a list"
        : typeof value === "object"
          ? "a mapping"
          : `${typeof value} ${JSON.stringify(value)}`

/**
 * The layers of a stack, apart.
 *
 * @since 0.1.0
 */
export interface Layers {
  /** Provides `Backend`, and whatever else the backend's layer provides (e.g. `GroundTruth`). */
  readonly backend: Layer.Layer<Backend, unknown>
  readonly policy: Layer.Layer<Policy, unknown, GroundTruth>
  readonly tunables: Layer.Layer<Tunables.Tunables>
}

/**
 * Builds each plug-in's layer from its validated options.
 *
 * @since 0.1.0
 */
export const layers = (stack: Stack): Layers => ({
  backend: stack.backend.descriptor.layer(stack.backend.options as never),
  policy: stack.policy.descriptor.layer(stack.policy.options as never),
  tunables: Layer.effect(Tunables.Tunables, Effect.orDie(Tunables.make(stack.tunables)))
})

/**
 * The whole stack as one layer, ready for `Daemon.make` / `Daemon.run`. It provides
 * what the backend's layer provides (so a simulated backend's own services stay
 * reachable), the policy and the tunables. The policy is given the backend's
 * `GroundTruth` when the backend has one; a policy that needs it on a backend
 * without it fails with a `PluginError`.
 *
 * @since 0.1.0
 */
export const layer = (stack: Stack): Layer.Layer<Backend | Policy | Tunables.Tunables, unknown> => {
  const parts = layers(stack)
  const withPolicy = Layer.flatMap(parts.backend, (context) => {
    const own = Layer.succeedContext(context)
    const hasTruth = Option.isSome(Context.getOption(context as Context.Context<unknown>, GroundTruth))
    const policy = hasTruth
      ? Layer.provide(parts.policy, own as unknown as Layer.Layer<GroundTruth>)
      : (parts.policy as Layer.Layer<Policy, unknown>).pipe(
          Layer.catchAllCause((cause) =>
            Layer.failCause(needsTruth(cause) ? Cause.fail(missingTruth(stack)) : cause)
          )
        )
    return Layer.merge(own, policy)
  })
  return Layer.merge(withPolicy, parts.tunables)
}

const needsTruth = (cause: Cause.Cause<unknown>): boolean =>
  [...Cause.defects(cause)].some((d) => d instanceof Error && d.message.includes(GroundTruth.key))

const missingTruth = (stack: Stack): Plugin.PluginError =>
  new Plugin.PluginError({
    plugin: stack.policy.ref,
    reason: `this policy needs the true access rates (GroundTruth), which backend "${stack.backend.ref}" does not provide`,
    hint: "Reference policies such as the oracle run on a simulated backend (sim)"
  })

/**
 * A plain description of a stack, for logs, `--json` output and the server.
 *
 * @since 0.1.0
 */
export const describe = (stack: Stack): {
  readonly backend: { readonly name: string; readonly ref: string; readonly source: "builtin" | "package"; readonly options: unknown }
  readonly policy: { readonly name: string; readonly ref: string; readonly source: "builtin" | "package"; readonly options: unknown }
  readonly tunables: Tunables.TunableValues
  readonly origins: Readonly<Record<string, Origin>>
} => ({
  backend: { name: stack.backend.descriptor.name, ref: stack.backend.ref, source: stack.backend.source, options: stack.backend.options },
  policy: { name: stack.policy.descriptor.name, ref: stack.policy.ref, source: stack.policy.source, options: stack.policy.options },
  tunables: stack.tunables,
  origins: stack.origins
})
