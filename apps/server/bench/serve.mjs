/**
 * The server under load (run by load.mjs as a child process): the default stack
 * (simulated backend, default preset, hotness policy) in real time on a free port.
 * The scan period is held fixed (min = max = the first argument, ms), so the daemon asks
 * for the same scan rate all along and any shortfall is the load's doing: 1000 sweeps
 * the 8 GiB task once a second (2.1M pages/s asked, a fraction of a core), 10 keeps
 * the scanner busy all the time (it scans as fast as it can).
 * Prints the URL on the first line of stdout.
 */
import * as SimBackend from "@kmm/backend-sim"
import * as Stack from "@kmm/core/Stack"
import * as Hotness from "@kmm/policy-hotness"
import * as Effect from "effect/Effect"
import { Server } from "../dist/index.js"

const period = Number(process.argv[2] ?? 1000)

const stack = await Effect.runPromise(
  Stack.resolve(
    {},
    {
      builtins: { backends: [SimBackend.descriptor], policies: [Hotness.descriptor] },
      defaults: { backend: "sim", policy: "hotness" },
      set: ["scanPeriodMs", "scanPeriodMinMs", "scanPeriodMaxMs"].map((knob) => `${knob}=${period}`)
    }
  )
)
const fiber = Effect.runFork(
  Server.serve({ stack, port: 0, token: "bench", env: {}, onListening: (info) => Effect.sync(() => void process.stdout.write(`${info.url}\n`)) })
)
process.on("SIGTERM", () => Effect.runPromise(fiber.interruptAsFork(fiber.id())).then(() => process.exit(0)))
