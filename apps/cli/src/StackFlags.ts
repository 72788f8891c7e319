/**
 * The flags that compose a stack, shared by `run`, `bench`, `topology`, `tunables` and
 * `plugins`: `--config`, `--backend`, `--policy`, `--preset`, `--set`.
 */
import * as Options from "@effect/cli/Options"
import * as Preset from "@kmm/backend-sim/Preset"
import * as SimConfig from "@kmm/backend-sim/SimConfig"
import * as Config from "@kmm/core/Config"
import { ConfigError } from "@kmm/core/Errors"
import * as Stack from "@kmm/core/Stack"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Builtins from "./Builtins.js"
import { UsageError } from "./Errors.js"

/** `--config FILE`. */
export const config = Options.text("config").pipe(
  Options.withAlias("c"),
  Options.withPseudoName("FILE"),
  Options.withDescription("Stack config file, JSON or YAML: backend, policy (each a name or { name, options }) and tunables"),
  Options.optional
)

/** `--backend NAME`. */
export const backend = Options.text("backend").pipe(
  Options.withPseudoName("NAME"),
  Options.withDescription('Backend: a built-in name (sim) or an npm package name; overrides the config file (default "sim")'),
  Options.optional
)

/** `--policy NAME`. */
export const policy = Options.text("policy").pipe(
  Options.withPseudoName("NAME"),
  Options.withDescription(
    'Policy: a built-in name (hotness, abit, static, numa-balancing, oracle) or an npm package name such as @acme/kmm-policy-foo; overrides the config file (default "hotness")'
  ),
  Options.optional
)

/** `--preset NAME`. */
export const preset = Options.choice("preset", Preset.names).pipe(
  Options.withDescription('Simulated machine and workload (backend sim): sets the backend option "preset" (default "default")'),
  Options.optional
)

/** `--set KNOB=VALUE`, repeatable. */
export const set = Options.text("set").pipe(
  Options.withPseudoName("KNOB=VALUE"),
  Options.withDescription("Sets a tunable (see `kmm tunables`); repeat for more. Overrides the config file and KMM_* variables"),
  Options.repeated
)

/** What the flags say. */
export interface Flags {
  readonly config: Option.Option<string>
  readonly backend: Option.Option<string>
  readonly policy: Option.Option<string>
  readonly preset: Option.Option<Preset.Name>
  readonly set: ReadonlyArray<string>
}

/** Reads the config file, if any. */
export const loadConfig = (file: Option.Option<string>): Effect.Effect<Config.StackConfig, Stack.StackError> =>
  Option.match(file, { onNone: () => Effect.succeed<Config.StackConfig>({}), onSome: Config.load })

/**
 * Applies `--preset` to a config: the simulated backend with `options.preset` set
 * (its other options kept).
 */
export const withPreset = (
  config: Config.StackConfig,
  backendFlag: Option.Option<string>,
  preset: Option.Option<Preset.Name>
): Effect.Effect<Config.StackConfig, UsageError> => {
  if (Option.isNone(preset)) return Effect.succeed(config)
  const configured = config.backend === undefined ? undefined : Config.pluginName(config.backend)
  const name = Option.getOrElse(backendFlag, () => configured?.name ?? Builtins.defaults.backend)
  if (name !== Builtins.defaults.backend) {
    return Effect.fail(new UsageError({ reason: `--preset applies to the simulated backend (sim), not to "${name}"`, hint: "Drop --preset, or use --backend sim" }))
  }
  const options = configured?.name === name ? configured.options : {}
  return Effect.succeed({ ...config, backend: { name, options: { ...options, preset: preset.value } } })
}

/** Composes the stack the flags describe (config file, overrides, `KMM_*` environment, `--set`). */
export const resolve = (
  flags: Flags,
  overrides: { readonly policy?: string } = {}
): Effect.Effect<Stack.Stack, Stack.StackError | UsageError | SimConfig.SimConfigError> =>
  Effect.gen(function* () {
    const loaded = yield* loadConfig(flags.config)
    const config = yield* withPreset(loaded, flags.backend, flags.preset)
    const policy = overrides.policy ?? Option.getOrUndefined(flags.policy)
    const backend = Option.getOrUndefined(flags.backend)
    const stack = yield* Stack.resolve(config, {
      builtins: Builtins.builtins,
      defaults: Builtins.defaults,
      ...(Option.isSome(flags.config) ? { file: flags.config.value } : {}),
      ...(backend === undefined ? {} : { backend }),
      ...(policy === undefined ? {} : { policy }),
      env: process.env,
      set: flags.set
    })
    yield* checkSim(stack, config, Option.getOrUndefined(flags.config))
    return stack
  })

/**
 * Checks a simulated backend's options in full before anything runs (references
 * between keys that its schema alone cannot check, such as a task on a node that does
 * not exist), so a mistake in a config file is reported with the file and its path.
 */
export const checkSim = (stack: Stack.Stack, config: Config.StackConfig, file: string | undefined): Effect.Effect<void, ConfigError | SimConfig.SimConfigError> => {
  if (!Builtins.isSimulated(stack)) return Effect.void
  const resolved = SimConfig.decode(stack.backend.options)
  if (Either.isRight(resolved)) return Effect.void
  const e = resolved.left
  const fromFile = file !== undefined && config.backend !== undefined && typeof config.backend !== "string" && config.backend.options !== undefined
  return Effect.fail(fromFile ? new ConfigError({ file, path: ["backend", "options", ...(e.path ? [e.path] : [])].join("."), reason: e.reason }) : e)
}
