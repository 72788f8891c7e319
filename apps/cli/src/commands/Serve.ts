/**
 * `kmm serve`: runs the daemon on a stack (composed exactly as `kmm run` composes it)
 * behind the HTTP control plane of `@kmm/server`: the API, Prometheus metrics, server-
 * sent events and the dashboard. Always in real time, on every backend. Ctrl-C (or
 * SIGTERM) stops it cleanly: connections close, the daemon stops, the machine is
 * released.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Server } from "@kmm/server"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { UsageError } from "../Errors.js"
import * as Failure from "../Failure.js"
import * as Help from "../Help.js"
import * as Runner from "../Runner.js"
import * as StackFlags from "../StackFlags.js"

const port = Options.integer("port").pipe(
  Options.withAlias("p"),
  Options.withPseudoName("N"),
  Options.withDescription(`Port to listen on (default ${Server.DEFAULT_PORT}; 0 picks a free one, printed at start)`),
  Options.withDefault(Server.DEFAULT_PORT)
)

const host = Options.text("host").pipe(
  Options.withPseudoName("H"),
  Options.withDescription(`Address to bind (default ${Server.DEFAULT_HOST}, this machine only; 0.0.0.0 for every interface)`),
  Options.withDefault(Server.DEFAULT_HOST)
)

const tokenFile = Options.text("token-file").pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription("File holding the bearer token for changes (else KMM_TOKEN, else one is generated and printed once on stderr)"),
  Options.optional
)

const flags = {
  config: StackFlags.config,
  backend: StackFlags.backend,
  policy: StackFlags.policy,
  preset: StackFlags.preset,
  set: StackFlags.set,
  port,
  host,
  tokenFile
}

type Flags = Command.Command.ParseConfig<typeof flags>

/** Serves the stack the flags compose until Ctrl-C. */
export const run = (f: Flags): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    if (!Number.isInteger(f.port) || f.port < 0 || f.port > 65535) {
      return yield* new UsageError({ reason: `--port: ${f.port} is not a port`, hint: "Give 0..65535 (0 picks a free one)" })
    }
    const stack = yield* StackFlags.resolve(f)
    const program = Server.serve({
      stack,
      host: f.host,
      port: f.port,
      env: process.env,
      ...(Option.isSome(f.tokenFile) ? { tokenFile: f.tokenFile.value } : {})
    })

    const controller = new AbortController()
    let stops = 0
    const onSignal = () => {
      // The first Ctrl-C stops cleanly; a second one leaves at once.
      if (++stops > 1) process.exit(130)
      controller.abort()
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    const outcome = yield* Effect.promise(() => Runner.run(program, { virtual: false, signal: controller.signal })).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          process.off("SIGINT", onSignal)
          process.off("SIGTERM", onSignal)
        })
      )
    )
    yield* Failure.fromExit(outcome.exit)
    if (outcome.reason === "aborted") yield* Effect.sync(() => void process.stderr.write("kmm serve: stopped\n"))
  })

/** The `serve` command. */
export const command = Command.make("serve", flags, run).pipe(
  Command.withDescription(
    Help.doc(
      [
        "Runs the tiering daemon as a service: the stack is composed as for `kmm run` (config file, --backend, --policy, --preset, KMM_* variables, --set) and runs in real time, behind an HTTP server on 127.0.0.1:8474 by default. It prints the address it listens on.",
        "At that address: the dashboard (/), live charts of per-node memory, promotions, demotions, pages scanned and, on the simulated backend, the top-tier access share against the oracle's, with a form for the tunables; the API (/api/status, /api/topology, /api/tunables, /api/daemon/start and stop, /api/targets/ID/scale, /api/events), described at /openapi.json and browsable at /docs; Prometheus metrics at /metrics.",
        "Reading is open; changes need `Authorization: Bearer TOKEN`. The token is read from --token-file or KMM_TOKEN, else generated at start and printed once on stderr. Ctrl-C (or SIGTERM) stops cleanly; a second Ctrl-C leaves at once."
      ],
      [
        ["kmm serve", "the default stack in real time; open http://127.0.0.1:8474/"],
        ["kmm serve --port 0 --preset small", "a small simulated machine on a free port"],
        ["KMM_TOKEN=$(cat ~/.kmm-token) kmm serve --policy abit --set scanSleepMs=50", "kmmscand's policy, with your own token"],
        ["kmm serve --config kmm.yaml --host 0.0.0.0 --port 9100", "the stack a config file describes, on every interface"],
        ["curl -s localhost:8474/metrics", "scrape the metrics (from another terminal)"]
      ]
    )
  )
)
