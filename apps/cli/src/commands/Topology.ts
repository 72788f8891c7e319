/**
 * `kmm topology`: the nodes and memory tiers of the machine a backend sees.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Backend } from "@kmm/core/Backend"
import * as Stack from "@kmm/core/Stack"
import type * as TopologyModule from "@kmm/core/Topology"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Builtins from "../Builtins.js"
import { RunFailed } from "../Errors.js"
import * as Failure from "../Failure.js"
import * as Format from "../Format.js"
import * as Help from "../Help.js"
import * as Runner from "../Runner.js"
import * as StackFlags from "../StackFlags.js"
import * as Table from "../Table.js"

const flags = {
  config: StackFlags.config,
  backend: StackFlags.backend,
  preset: StackFlags.preset,
  json: Options.boolean("json").pipe(Options.withDescription("The topology as JSON: page size and nodes"))
}

/** The table of nodes. */
export const render = (t: TopologyModule.Topology): string =>
  Table.render(
    ["node", "label", "tier", "capacity", "free", "used", "cpus", "latency", "bandwidth", "distances"],
    t.nodes.map((n) => [
      n.id,
      n.label ?? "",
      n.tier,
      Format.bytes(n.capacityPages * t.pageSize),
      Format.bytes(n.freePages * t.pageSize),
      Format.percent(n.capacityPages > 0 ? 1 - n.freePages / n.capacityPages : NaN),
      n.cpus.length === 0 ? "none" : n.cpus.join(","),
      n.latencyNs === undefined ? "-" : `${n.latencyNs} ns`,
      n.bandwidthBytesPerSec === undefined ? "-" : `${Format.bytes(n.bandwidthBytesPerSec)}/s`,
      n.distances.join(" ")
    ]),
    { right: [0, 2, 3, 4, 5, 7, 8] }
  ) + `\npage size ${Format.bytes(t.pageSize)}; tier 0 is the top (fastest) tier`

/** Prints the topology of the backend the flags name. */
export const run = (f: Command.Command.ParseConfig<typeof flags>): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    // Only the backend matters here: whatever policy the config names is not loaded.
    const stack = yield* StackFlags.resolve({ ...f, policy: Option.none(), set: [] }, { policy: Builtins.defaults.policy })
    const program = Effect.flatMap(Backend, (b) => b.topology).pipe(Effect.provide(Stack.layers(stack).backend))
    const outcome = yield* Effect.promise(() => Runner.run(program, { virtual: Builtins.isSimulated(stack) }))
    const topology = yield* Failure.fromExit(outcome.exit)
    if (topology === undefined) return yield* new RunFailed({ reason: "interrupted before the backend answered" })
    process.stdout.write((f.json ? Format.json(topology, 2) : render(topology)) + "\n")
  })

/** The `topology` command. */
export const command = Command.make("topology", flags, run).pipe(
  Command.withDescription(
    Help.doc(
      [
        "Shows the machine a backend sees: each memory node with its tier (0 is the top tier), capacity, free memory, CPUs, latency, bandwidth and distances. On the simulated backend it is the preset's machine at the start of a run (its tasks already placed)."
      ],
      [
        ["kmm topology", "the default simulated machine"],
        ["kmm topology --preset small --json", "the small machine as JSON"],
        ["kmm topology --config kmm.yaml", "the backend a config file names"]
      ]
    )
  )
)
