/**
 * `kmm plugins`: the backends and policies kmm can use: built in, installed as npm
 * packages, and named in a config file (each checked).
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "@kmm/core/Config"
import * as Plugin from "@kmm/core/Plugin"
import * as Stack from "@kmm/core/Stack"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import * as Builtins from "../Builtins.js"
import * as Discover from "../Discover.js"
import { describe, UsageError } from "../Errors.js"
import * as Format from "../Format.js"
import * as Help from "../Help.js"
import * as StackFlags from "../StackFlags.js"
import * as Table from "../Table.js"

const flags = {
  config: StackFlags.config,
  json: Options.boolean("json").pipe(Options.withDescription("As JSON: builtin, installed and configured lists"))
}

/** A plug-in the config file names, and whether it loads. */
export interface Configured {
  readonly kind: "backend" | "policy"
  readonly ref: string
  readonly source: "builtin" | "package" | null
  readonly name: string | null
  /** "ok", or the error. */
  readonly status: string
}

/** Checks the backend or the policy a config names, alone. */
const checkConfigured = (config: Config.StackConfig, file: string, kind: "backend" | "policy"): Effect.Effect<Configured | undefined> => {
  const ref = config[kind]
  if (ref === undefined) return Effect.succeed(undefined)
  const only: Config.StackConfig = { [kind]: ref }
  return Stack.resolve(only, { builtins: Builtins.builtins, defaults: Builtins.defaults, file }).pipe(
    Effect.map((s): Configured => ({ kind, ref: s[kind].ref, source: s[kind].source, name: s[kind].descriptor.name, status: "ok" })),
    Effect.catchAll((e) => Effect.succeed<Configured>({ kind, ref: Config.pluginName(ref).name, source: null, name: null, status: describe(e) }))
  )
}

/** Lists the plug-ins. */
export const run = (f: Command.Command.ParseConfig<typeof flags>): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const builtin = Builtins.entries.map((e) => ({
      kind: e.descriptor.kind,
      name: e.descriptor.name,
      package: e.package,
      coreRange: e.descriptor.coreRange,
      description: e.description
    }))
    const config = yield* StackFlags.loadConfig(f.config)
    const from = [...(Option.isSome(f.config) ? [path.dirname(path.resolve(f.config.value))] : []), process.cwd()]
    const exclude = new Set(["@kmm/core", "@kmm/cli", ...Builtins.entries.map((e) => e.package)])
    const found = Discover.find(from, exclude)
    const installed = (yield* Effect.promise(() => Promise.all(found.map(Discover.check)))).flat()
    const configured = Option.isSome(f.config)
      ? (yield* Effect.all([checkConfigured(config, f.config.value, "backend"), checkConfigured(config, f.config.value, "policy")])).filter(
          (c): c is Configured => c !== undefined
        )
      : []
    if (f.json) {
      process.stdout.write(Format.json({ core: Plugin.coreVersion, builtin, installed, configured }, 2) + "\n")
    } else {
      const out: Array<string> = [`Built in (@kmm/core ${Plugin.coreVersion}):`]
      out.push(Table.render(["kind", "name", "package", "description"], builtin.map((b) => [b.kind, b.name, b.package, b.description]), { widths: [null, null, null, 60] }))
      out.push("", `Installed plug-in packages (found from ${[...new Set(from)].join(", ")}):`)
      out.push(
        installed.length === 0
          ? "  none. A plug-in package exports a `descriptor` and has the keyword kmm-policy or kmm-backend; install one with npm and name it with --policy or --backend."
          : Table.render(["kind", "name", "package", "version", "core", "status"], installed.map((i) => [i.kind, i.name, i.package, i.version, i.coreRange, i.status]), {
              widths: [null, null, null, null, null, 50]
            })
      )
      if (Option.isSome(f.config)) {
        out.push("", `Named in ${f.config.value}:`)
        out.push(
          configured.length === 0
            ? "  none (the defaults apply: backend sim, policy hotness)"
            : Table.render(["kind", "name given", "source", "status"], configured.map((c) => [c.kind, c.ref, c.source ?? "-", c.status]), { widths: [null, null, null, 60] })
        )
      }
      process.stdout.write(out.join("\n") + "\n")
    }
    const broken = configured.find((c) => c.status !== "ok")
    if (broken !== undefined) {
      return yield* new UsageError({ reason: `the ${broken.kind} named in ${Option.getOrElse(f.config, () => "the config")} cannot be used: ${broken.status}` })
    }
  })

/** The `plugins` command. */
export const command = Command.make("plugins", flags, run).pipe(
  Command.withDescription(
    Help.doc(
      [
        "Lists the backends and policies kmm can use: the built-in ones, plug-in packages installed in node_modules (from the working directory and the config file's folder up to the root; a package counts when its keywords include kmm-policy, kmm-backend or kmm-plugin), each imported and checked, and the ones a config file names. A plug-in named in the config that cannot be loaded makes the exit code 2.",
        "A plug-in package exports `descriptor = { kind, name, coreRange, configSchema, layer }` (or `descriptors`, a list); `--policy PACKAGE` or `policy: { name: PACKAGE, options }` in a config file loads it."
      ],
      [
        ["kmm plugins", "built-in and installed plug-ins"],
        ["kmm plugins --config kmm.yaml", "also check the ones the config names"],
        ["kmm plugins --json", "as JSON"]
      ]
    )
  )
)
