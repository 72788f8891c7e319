/**
 * `kmm tunables`: every knob with its default, range, unit and meaning, and the value
 * a stack would run with (config file < KMM_* environment < --set) and where it comes from.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Stack from "@kmm/core/Stack"
import * as Tunables from "@kmm/core/Tunables"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Format from "../Format.js"
import * as Help from "../Help.js"
import * as StackFlags from "../StackFlags.js"
import * as Table from "../Table.js"

const flags = {
  config: StackFlags.config,
  set: StackFlags.set,
  json: Options.boolean("json").pipe(Options.withDescription("A JSON array, one object per knob"))
}

/** One knob as printed. */
export interface Row {
  readonly name: string
  readonly value: number | boolean
  /** Where the value comes from: default, config, env or set. */
  readonly origin: Stack.Origin
  readonly default: number | boolean
  readonly min: number | null
  readonly max: number | null
  readonly unit: string
  readonly env: string
  readonly sysfs: string | null
  readonly meaning: string
}

/** Every knob with the values the flags give. */
export const rows = (values: Tunables.TunableValues, origins: Readonly<Record<string, Stack.Origin>>): ReadonlyArray<Row> =>
  Tunables.knobs.map((k) => ({
    name: k.name,
    value: values[k.name],
    origin: origins[k.name] ?? "default",
    default: k.default,
    min: k.min ?? null,
    max: k.max ?? null,
    unit: k.unit,
    env: Tunables.envName(k.name),
    sysfs: k.sysfs ?? null,
    meaning: k.doc
  }))

const range = (r: Row) => (r.min === null ? "true, false" : `${r.min} .. ${r.max}`)

/** Prints the knobs. */
export const run = (f: Command.Command.ParseConfig<typeof flags>): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const config = yield* StackFlags.loadConfig(f.config)
    const merged = yield* Either.match(Stack.mergeTunables(config.tunables, process.env, f.set), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    const all = rows(merged.values, merged.origins)
    if (f.json) {
      process.stdout.write(Format.json(all, 2) + "\n")
      return
    }
    const table = Table.render(
      ["knob", "value", "default", "range", "unit", "env variable", "meaning"],
      all.map((r) => [
        r.name + (r.sysfs ? `\n(sysfs ${r.sysfs})` : ""),
        r.origin === "default" ? String(r.value) : `${r.value} (${r.origin})`,
        String(r.default),
        range(r),
        r.unit,
        r.env,
        r.meaning
      ]),
      { widths: [null, null, null, null, null, null, 44] }
    )
    process.stdout.write(table + "\n")
  })

/** The `tunables` command. */
export const command = Command.make("tunables", flags, run).pipe(
  Command.withDescription(
    Help.doc(
      [
        "Lists every tunable of the daemon (the sysfs knobs of the kmmscand series) with its default, allowed range, unit and meaning, and the value a stack would run with: defaults < config file (tunables:) < KMM_* environment variables < --set. A value that is not the default shows where it came from. Tunables can also change while the daemon runs (the server's API)."
      ],
      [
        ["kmm tunables", "the table"],
        ["kmm tunables --config kmm.yaml --set scanSleepMs=50", "the values a run with this config and flag would use"],
        ["KMM_SCAN_SIZE_MB=512 kmm tunables --json", "as JSON, with a value from the environment"]
      ]
    )
  )
)
