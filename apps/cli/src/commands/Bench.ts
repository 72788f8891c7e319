/**
 * `kmm bench`: the policy x workload matrix on the simulated backend, spread over the
 * cores, with a progress bar; prints a table, writes CSV, JSON and a chart per workload.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Config from "@kmm/core/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { SingleBar } from "cli-progress"
import * as path from "node:path"
import * as Cell from "../bench/Cell.js"
import * as Figures from "../bench/Figures.js"
import * as Pool from "../bench/Pool.js"
import * as Report from "../bench/Report.js"
import * as Workloads from "../bench/Workloads.js"
import * as Builtins from "../Builtins.js"
import * as Duration from "../Duration.js"
import { UsageError } from "../Errors.js"
import * as Format from "../Format.js"
import * as Help from "../Help.js"
import * as StackFlags from "../StackFlags.js"

const list = (name: string, what: string) =>
  Options.text(name).pipe(Options.withPseudoName("A,B,..."), Options.withDescription(what), Options.repeated)

const flags = {
  policies: list(
    "policies",
    `Policies to compare, comma-separated or repeated: built-in names or package names (default: every built-in policy: ${Builtins.builtins.policies.map((d) => d.name).join(", ")})`
  ),
  workloads: list(
    "workloads",
    `Workloads, comma-separated or repeated: the simulator's presets ${Workloads.all.map((w) => w.name).join(", ")} (default: ${Workloads.defaultSelection.join(", ")}); "small" with a short --duration is the tiny matrix`
  ),
  out: Options.text("out").pipe(
    Options.withPseudoName("DIR"),
    Options.withDescription("Folder for results.json, results.csv, series.csv and share-WORKLOAD.svg"),
    Options.withDefault("bench-out")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print the results document (the same as results.json) instead of the table")),
  duration: Options.text("duration").pipe(
    Options.withPseudoName("D"),
    Options.withDescription("Virtual time each cell runs (30s, 5m); default: each workload's natural length (30 s after its last scheduled change, at least 60 s)"),
    Options.optional
  ),
  seed: Options.integer("seed").pipe(Options.withDescription("Seed of the simulated machine's random draws"), Options.withDefault(1)),
  jobs: Options.integer("jobs").pipe(
    Options.withAlias("j"),
    Options.withDescription("Cells run at once, each in a worker thread (default: one per core)"),
    Options.optional
  ),
  config: StackFlags.config,
  set: StackFlags.set
}

type Flags = Command.Command.ParseConfig<typeof flags>

const split = (values: ReadonlyArray<string>): ReadonlyArray<string> => [...new Set(values.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s.length > 0))]

/** Progress on stderr: a bar on a terminal, a line per finished cell otherwise. */
const progress = (total: number) => {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ format: "bench [{bar}] {value}/{total} cells | {last}", hideCursor: true, stream: process.stderr, barsize: 30 })
    bar.start(total, 0, { last: "starting" })
    return {
      done: (r: Cell.Result) => bar.increment({ last: `${r.policy} on ${r.workload}: ${Format.percent(r.ratio)} of the oracle` }),
      stop: () => bar.stop()
    }
  }
  let n = 0
  return {
    done: (r: Cell.Result) =>
      void process.stderr.write(`[${++n}/${total}] ${r.policy} on ${r.workload}: ${Format.percent(r.ratio)} of the oracle (${Format.seconds(r.wallMs)})\n`),
    stop: () => undefined
  }
}

/** Runs the matrix. */
export const run = (f: Flags): Effect.Effect<void, unknown> =>
  Effect.gen(function* () {
    const policies = split(f.policies)
    const workloads = split(f.workloads)
    const chosenPolicies = policies.length > 0 ? policies : Builtins.builtins.policies.map((d) => d.name)
    const chosenWorkloads = workloads.length > 0 ? workloads : [...Workloads.defaultSelection]
    for (const w of chosenWorkloads) {
      if (Workloads.find(w) === undefined) {
        return yield* new UsageError({ reason: `--workloads: no workload "${w}"`, hint: `Workloads are the simulator's presets: ${Workloads.all.map((x) => x.name).join(", ")}` })
      }
    }
    const durationMs = Option.isSome(f.duration)
      ? yield* Either.match(Duration.parse(f.duration.value), {
          onLeft: (reason) => Effect.fail(new UsageError({ reason: `--duration: ${reason}` })),
          onRight: Effect.succeed
        })
      : undefined
    const jobs = Option.getOrElse(f.jobs, Pool.defaultJobs)
    if (jobs < 1) return yield* new UsageError({ reason: `--jobs: expected at least 1, found ${jobs}` })

    const config = yield* StackFlags.loadConfig(f.config)
    const configured = config.backend === undefined ? undefined : Config.pluginName(config.backend).name
    if (configured !== undefined && configured !== Builtins.defaults.backend) {
      return yield* new UsageError({
        reason: `kmm bench runs on the simulated backend; ${Option.getOrElse(f.config, () => "the config")} names backend "${configured}"`,
        hint: "Use a config without a backend, or with backend sim"
      })
    }
    const base = {
      seed: f.seed,
      config,
      ...(Option.isSome(f.config) ? { file: f.config.value } : {}),
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("KMM_"))),
      set: f.set,
      resolveFrom: [...(Option.isSome(f.config) ? [path.dirname(path.resolve(f.config.value))] : []), process.cwd()]
    }
    const specs: Array<Cell.Spec> = chosenWorkloads.flatMap((w) =>
      chosenPolicies.map((policy) => ({ ...base, policy, workload: w, durationMs: durationMs ?? Workloads.find(w)!.durationMs }))
    )
    // Every policy must compose before any cell runs: a bad name is a usage error, found at once.
    const stacks = yield* Effect.forEach(chosenPolicies, (policy) => Cell.stack({ ...specs[0], policy }))

    const bar = progress(specs.length)
    const t0 = performance.now()
    const results = yield* Effect.tryPromise({
      try: () => Pool.run(specs, jobs, (_, r) => bar.done(r)),
      catch: (e) => e
    }).pipe(Effect.ensuring(Effect.sync(() => bar.stop())))
    const wallMs = performance.now() - t0
    const settings: Report.Settings = {
      policies: chosenPolicies,
      workloads: chosenWorkloads,
      seed: f.seed,
      durationMs: durationMs ?? null,
      jobs,
      tunables: stacks[0]?.tunables ?? {},
      samplesPerScan: Workloads.SAMPLES_PER_SCAN,
      convergedAt: Figures.CONVERGED
    }
    const doc = yield* Effect.tryPromise({ try: () => Report.write(f.out, settings, results, wallMs), catch: (e) => e })
    if (f.json) {
      process.stdout.write(Format.json(doc, 2) + "\n")
    } else {
      process.stdout.write(Report.table(results) + "\n")
      process.stdout.write(`${results.length} cells in ${Format.seconds(wallMs)} on ${jobs} worker${jobs === 1 ? "" : "s"}; wrote ${doc.files.join(", ")}\n`)
    }
  })

/** The `bench` command. */
export const command = Command.make("bench", flags, run).pipe(
  Command.withDescription(
    Help.doc(
      [
        "Runs every chosen policy on every chosen workload of the simulated backend (a cell each: core's daemon in virtual time, as fast as possible), spread over the cores in worker threads, with a progress bar. Prints a table; writes results.json, results.csv (one row per cell), series.csv (one row per cell and simulated second) and share-WORKLOAD.svg (top-tier access share over time per policy, with the oracle's as a dashed line) into --out.",
        `Per cell: topTierShare and oracleShare (of all accesses in the run, the share the top tier served under the policy, and under the oracle's placement), ratio (their quotient), steadyRatio (mean ratio over the last ${Figures.STEADY_SECONDS} s), scansToConverge (completed scans of the address spaces until a second first reached ${Figures.CONVERGED * 100}% of the oracle; null if never), migrations (pages promoted + demoted), pingPong (pages moved back within the simulator's window) and its share. Every run has hint-fault sampling on (${Workloads.SAMPLES_PER_SCAN} samples per scan) so the NUMA-balancing model works. Tunables (config file, KMM_*, --set) and the config's policy options apply to every cell.`
      ],
      [
        ["kmm bench", "every built-in policy on the default workloads"],
        ["kmm bench --policies hotness,abit --workloads default,zipf --out results", "two policies on two workloads"],
        ["kmm bench --workloads small --duration 10s --json", "the tiny matrix, as a JSON document"],
        ["kmm bench --policies hotness,@acme/kmm-policy-foo", "a policy package against the built-in one"]
      ]
    )
  )
)
