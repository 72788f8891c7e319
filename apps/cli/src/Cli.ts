/**
 * The `kmm` command: its subcommands, and how it ends. Errors print as one line on
 * stderr (what is wrong and what to do); exit codes are 0 success, 1 runtime failure,
 * 2 usage or config error.
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { stripVTControlCharacters } from "node:util"
import pkg from "../package.json" with { type: "json" }
import * as Bench from "./commands/Bench.js"
import * as Plugins from "./commands/Plugins.js"
import * as Run from "./commands/Run.js"
import * as Serve from "./commands/Serve.js"
import * as Topology from "./commands/Topology.js"
import * as TunablesCommand from "./commands/Tunables.js"
import { describe, ExitCode, exitCodeOf } from "./Errors.js"
import * as Help from "./Help.js"

/** The root command. */
export const kmm = Command.make("kmm").pipe(
  Command.withDescription(
    Help.doc(
      [
        "kmm: a pluggable memory-tiering stack. It finds hot pages on a slow memory tier (CXL, a CPU-less NUMA node) and promotes them to the fast tier, with a backend (the machine), a policy (the decisions) and tunables you choose. `kmm run` with no options runs the simulated backend's default preset with the hotness policy.",
        "Commands: run (the daemon), bench (policies x workloads on the simulated backend), serve (the HTTP control plane and dashboard), topology (nodes and tiers), tunables (every knob), plugins (backends and policies found). `kmm COMMAND --help` for each."
      ],
      [
        ["kmm run", "watch the default stack promote a hot set, live"],
        ["kmm bench --workloads default,zipf", "compare every built-in policy on two workloads"],
        ["kmm serve --port 8080", "the daemon behind an HTTP API, metrics and a live dashboard"],
        ["kmm tunables", "every knob with its default, range, unit and meaning"]
      ]
    )
  ),
  Command.withSubcommands([Run.command, Bench.command, Topology.command, TunablesCommand.command, Plugins.command, Serve.command])
)

const cli = Command.run(kmm, { name: "kmm", version: pkg.version, executable: "kmm" })

/**
 * Effect's console for @effect/cli: help text loses its terminal colours where stdout
 * is not a terminal (or NO_COLOR is set); usage errors are kept in `errors`, to be
 * printed as one line with a hint.
 */
const cliConsole = (errors: Array<string>) =>
  Effect.map(Effect.console, (c): Console.Console => {
    const colour = process.stdout.isTTY === true && !process.env.NO_COLOR
    return {
      ...c,
      log: (...args) => c.log(...(colour ? args : args.map((a) => (typeof a === "string" ? stripVTControlCharacters(a) : a)))),
      error: (...args) =>
        Effect.sync(() => {
          errors.push(args.map((a) => stripVTControlCharacters(String(a))).join(" "))
        })
    }
  })

/** The subcommand named in `argv`, for the hint after a usage error. */
const commandOf = (argv: ReadonlyArray<string>): string => {
  const names = ["run", "bench", "serve", "topology", "tunables", "plugins"]
  const found = argv.slice(2).find((a) => names.includes(a))
  return found ? `kmm ${found} --help` : "kmm --help"
}

/** Runs the CLI on `argv` (process.argv) and sets the exit code. */
export const main = (argv: ReadonlyArray<string>): Promise<void> => {
  // `kmm` alone shows the help.
  const args = argv.length <= 2 ? [...argv, "--help"] : argv
  const errors: Array<string> = []
  const program = Effect.flatMap(cliConsole(errors), (console) =>
    cli(args).pipe(
      Effect.withConsole(console),
      Effect.provide(Layer.mergeAll(NodeContext.layer, CliConfig.layer({ showBuiltIns: false, showTypes: false })))
    )
  )
  return Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isSuccess(exit)) {
      process.exitCode = process.exitCode ?? ExitCode.ok
      return
    }
    const failure = Exit.causeOption(exit)
    const error = failure._tag === "Some" ? squash(failure.value) : undefined
    const message = ValidationError.isValidationError(error)
      ? `${errors.join(" ").replace(/\s+/g, " ").trim() || "invalid command line"}; see \`${commandOf(args)}\``
      : describe(error)
    process.stderr.write(`kmm: ${message}\n`)
    if (process.env.KMM_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`)
    process.exitCode = ValidationError.isValidationError(error) ? ExitCode.usage : exitCodeOf(error)
  })
}

const squash = (cause: Cause.Cause<unknown>): unknown => {
  const failure = Cause.failureOption(cause)
  return failure._tag === "Some" ? failure.value : Cause.squash(cause)
}
