/**
 * `kmm run`: composes the stack and runs the daemon on it, with a live view on a
 * terminal, plain lines otherwise, or one JSON object a line; Ctrl-C stops it cleanly
 * and prints a summary.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as SimBackend from "@kmm/backend-sim/SimBackend"
import { Backend } from "@kmm/core/Backend"
import * as Daemon from "@kmm/core/Daemon"
import * as Stack from "@kmm/core/Stack"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Builtins from "../Builtins.js"
import * as Duration from "../Duration.js"
import { RunFailed, UsageError } from "../Errors.js"
import * as Failure from "../Failure.js"
import * as Format from "../Format.js"
import * as Help from "../Help.js"
import * as LiveView from "../LiveView.js"
import * as Monitor from "../Monitor.js"
import * as Runner from "../Runner.js"
import * as RunReport from "../RunReport.js"
import * as StackFlags from "../StackFlags.js"

/** Speed of a simulated run shown live on a terminal (virtual ms per wall ms). */
export const LIVE_SPEED = 10

const duration = Options.text("duration").pipe(
  Options.withAlias("d"),
  Options.withPseudoName("D"),
  Options.withDescription(
    "How long to run: 30s, 5m, 1h, 1h30m, 250ms. On the simulated backend it is virtual time, and the default is the preset's natural length (30 s after its last scheduled change, at least 60 s: 60 s for the default preset, whose hot set moves at 30 s); on other backends the default is until Ctrl-C"
  ),
  Options.optional
)

const speed = Options.text("speed").pipe(
  Options.withPseudoName("N|max"),
  Options.withDescription(
    `Simulated backend: virtual ms per wall ms (10, 10x) or max. Default: ${LIVE_SPEED}x with the live view on a terminal, max (as fast as possible) otherwise and with --json`
  ),
  Options.optional
)

const json = Options.boolean("json").pipe(Options.withDescription("One JSON object a line: a start line, one sample a second, and the summary"))

const flags = {
  config: StackFlags.config,
  backend: StackFlags.backend,
  policy: StackFlags.policy,
  preset: StackFlags.preset,
  set: StackFlags.set,
  duration,
  speed,
  json
}

type Flags = Command.Command.ParseConfig<typeof flags>

const parseFlag = <A>(value: Option.Option<string>, flag: string, parse: (s: string) => Either.Either<A, string>): Effect.Effect<A | undefined, UsageError> =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (s) => Either.match(parse(s), { onLeft: (reason) => Effect.fail(new UsageError({ reason: `${flag}: ${reason}` })), onRight: Effect.succeed })
  })

const write = (line: string) => Effect.sync(() => void process.stdout.write(line + "\n"))

/** Runs the daemon on the stack the flags compose. */
export const run = (f: Flags): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const durationMs = yield* parseFlag(f.duration, "--duration", Duration.parse)
    const speedFlag = yield* parseFlag(f.speed, "--speed", Duration.parseSpeed)
    const stack = yield* StackFlags.resolve(f)
    const virtual = Builtins.isSimulated(stack)
    if (!virtual && speedFlag !== undefined) {
      return yield* new UsageError({ reason: `--speed applies to the simulated backend, not to "${stack.backend.ref}"`, hint: "Drop --speed" })
    }
    // A terminal that reports no rows (some emulated ones) gets plain lines: the live view would draw nothing.
    const mode = f.json ? "json" : process.stdout.isTTY && process.stdout.rows !== 0 ? "live" : "lines"
    const length = durationMs ?? (virtual ? Builtins.naturalDurationMs(stack.backend.options) : undefined)
    const pace = virtual ? (speedFlag ?? (mode === "live" ? LIVE_SPEED : Infinity)) : undefined
    const header: RunReport.Header = {
      type: "start",
      stack: Stack.describe(stack),
      clock: virtual ? "virtual" : "wall",
      durationMs: length ?? null,
      speed: pace === undefined || !Number.isFinite(pace) ? null : pace
    }

    const live = mode === "live" ? LiveView.make(process.stdout, header) : undefined
    const onSample = (s: Monitor.Sample) =>
      Effect.sync(() => {
        if (live) live.update(s)
        else process.stdout.write((mode === "json" ? Format.json(s) : RunReport.sampleLine(s)) + "\n")
      })
    if (mode !== "live") yield* write(mode === "json" ? Format.json(header) : RunReport.headerLine(header))

    let snapshot: Monitor.Snapshot | undefined
    const program = Effect.gen(function* () {
      const daemon = yield* Daemon.make()
      const backend = yield* Backend
      const sim = yield* Effect.serviceOption(SimBackend.Sim)
      // Taken as the run ends (time up, Ctrl-C), before the daemon and the machine close.
      yield* Effect.addFinalizer(() => Effect.map(Monitor.snapshot(daemon, sim), (s) => void (snapshot = s)))
      yield* Monitor.watch(daemon, backend, sim, onSample)
    }).pipe(Effect.scoped, Effect.provide(Stack.layer(stack)))

    const controller = new AbortController()
    let stops = 0
    const onSignal = () => {
      // The first Ctrl-C stops cleanly; a second one leaves at once.
      if (++stops > 1) process.exit(130)
      controller.abort()
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    const outcome = yield* Effect.promise(() =>
      Runner.run(program, {
        virtual,
        ...(length === undefined ? {} : { durationMs: length }),
        ...(pace === undefined ? {} : { speed: pace }),
        signal: controller.signal
      })
    ).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          process.off("SIGINT", onSignal)
          process.off("SIGTERM", onSignal)
          live?.done()
        })
      )
    )
    yield* Failure.fromExit(outcome.exit)
    if (snapshot === undefined) return yield* new RunFailed({ reason: "the run ended before the daemon started" })
    const summary: Monitor.Summary = { type: "summary", reason: outcome.reason, durationMs: outcome.elapsedMs, wallMs: outcome.wallMs, ...snapshot }
    if (mode === "json") yield* write(Format.json(summary))
    else yield* write(RunReport.summaryLines(summary, header.clock).join("\n"))
  })

/** The `run` command. */
export const command = Command.make("run", flags, run).pipe(
  Command.withDescription(
    Help.doc(
      [
        "Runs the tiering daemon on a stack: a backend (the machine), a policy (the decisions) and tunables, from a config file and flags. With no options: the simulated backend's default preset (4 GiB DRAM + 12 GiB CXL, a 1 GiB hot set that moves at 30 s) and the hotness policy, for 60 s of virtual time.",
        `On a terminal a live view is redrawn in place: per node used and free memory, promotions, demotions and pages scanned per second, and on the simulated backend the top-tier access share next to the oracle's. When the output is not a terminal, one plain line a second; with --json one JSON object a line. Ctrl-C (or SIGTERM) stops cleanly and prints a summary. Tunables: defaults < config file < KMM_* environment variables < --set.`,
        "Exit codes: 0 success (also when stopped with Ctrl-C), 1 runtime failure, 2 usage or config error."
      ],
      [
        ["kmm run", "the default stack, watched live at 10x"],
        ["kmm run --preset small --duration 5m --speed max", "five virtual minutes of the small machine, as fast as possible"],
        ["kmm run --policy abit --set scanSleepMs=50 --json > run.jsonl", "kmmscand's policy with a tunable changed, as JSON lines"],
        ["kmm run --config kmm.yaml", "the stack a config file describes"],
        ["kmm run --policy @acme/kmm-policy-foo", "a policy from an installed npm package"]
      ]
    )
  )
)
