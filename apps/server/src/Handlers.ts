/**
 * Handlers: what each endpoint of `Api` does, over the daemon's control, the event
 * hub and the sample history.
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type { BackendFailure, InvalidTunable, PermissionDenied, UnknownTarget } from "@kmm/core/Errors"
import * as Stack from "@kmm/core/Stack"
import * as CoreTunables from "@kmm/core/Tunables"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Status } from "./Api.js"
import { Api, BackendUnavailable, InvalidValue, TargetNotFound } from "./Api.js"
import { DaemonControl } from "./Control.js"
import * as Events from "./Events.js"
import { EventHub } from "./Events.js"
import * as Metrics from "./Metrics.js"
import { SampleHistory } from "./Samples.js"
import { ServerSettings } from "./Settings.js"

const invalid = (e: InvalidTunable) => new InvalidValue({ knob: e.knob, value: e.value, expected: e.expected, message: e.message })

const unavailable = (operation: string) => (e: BackendFailure | PermissionDenied) => new BackendUnavailable({ operation, message: e.message })

const notFound = (e: UnknownTarget) => new TargetNotFound({ target: e.target, message: e.message })

/** Maps a control error to the API's. */
const targetError = (operation: string) => (e: UnknownTarget | InvalidTunable | BackendFailure | PermissionDenied) =>
  e._tag === "UnknownTarget" ? notFound(e) : e._tag === "InvalidTunable" ? invalid(e) : unavailable(operation)(e)

/**
 * `GET /api/status`.
 *
 * @since 0.1.0
 */
export const status: Effect.Effect<Status, never, DaemonControl | EventHub | SampleHistory | ServerSettings> = Effect.gen(function* () {
  const control = yield* DaemonControl
  const hub = yield* EventHub
  const samples = yield* SampleHistory
  const settings = yield* ServerSettings
  const described = Stack.describe(control.stack)
  const latest = yield* samples.latest
  const targets = yield* Effect.orElseSucceed(control.targets, () => [])
  const sim = Option.flatMap(latest, (l) =>
    l.topTierShare !== undefined && l.oracleShare !== undefined ? Option.some({ topTierShare: l.topTierShare, oracleShare: l.oracleShare }) : Option.none()
  )
  return {
    version: settings.version,
    startedAt: settings.startedAt,
    uptimeMs: (yield* Clock.currentTimeMillis) - settings.startedAt,
    daemon: yield* control.status,
    stack: {
      backend: { name: described.backend.name, ref: described.backend.ref, source: described.backend.source },
      policy: { name: described.policy.name, ref: described.policy.ref, source: described.policy.source }
    },
    counters: yield* control.counters,
    pendingPages: yield* control.pending,
    targets: targets.length,
    policyStateBytes: yield* control.policyBytes,
    eventSubscribers: yield* hub.subscribers,
    ...(Option.isSome(sim) ? { sim: sim.value } : {})
  }
})

/** The knobs, without absent optional fields. */
const knobs = CoreTunables.knobs.map((k) => ({
  name: k.name,
  default: k.default,
  unit: k.unit,
  doc: k.doc,
  ...(k.min === undefined ? {} : { min: k.min }),
  ...(k.max === undefined ? {} : { max: k.max }),
  ...(k.sysfs === undefined ? {} : { sysfs: k.sysfs })
}))

/**
 * The `system` group.
 *
 * @since 0.1.0
 */
export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function* () {
    const control = yield* DaemonControl
    const samples = yield* SampleHistory
    const context = yield* Effect.context<DaemonControl | EventHub | SampleHistory | ServerSettings>()
    return handlers
      .handle("status", () => Effect.provide(status, context))
      .handle("topology", () => Effect.mapError(control.backend.topology, unavailable("topology")))
      .handle("samples", () => samples.history)
  })
)

/**
 * The `tunables` group.
 *
 * @since 0.1.0
 */
export const TunablesLive = HttpApiBuilder.group(Api, "tunables", (handlers) =>
  Effect.gen(function* () {
    const control = yield* DaemonControl
    return handlers
      .handle("get", () => control.tunables.get)
      .handle("knobs", () => Effect.succeed(knobs))
      .handle("patch", ({ payload }) => Effect.mapError(control.tunables.set(payload), invalid))
  })
)

/**
 * The `daemon` group.
 *
 * @since 0.1.0
 */
export const DaemonLive = HttpApiBuilder.group(Api, "daemon", (handlers) =>
  Effect.gen(function* () {
    const control = yield* DaemonControl
    return handlers.handle("start", () => control.start).handle("stop", () => control.stop)
  })
)

/**
 * The `targets` group.
 *
 * @since 0.1.0
 */
export const TargetsLive = HttpApiBuilder.group(Api, "targets", (handlers) =>
  Effect.gen(function* () {
    const control = yield* DaemonControl
    return handlers
      .handle("list", () => Effect.mapError(control.targets, unavailable("targets")))
      .handle("getScale", ({ path }) =>
        control.getScale(path.id).pipe(
          Effect.map((scale) => ({ target: path.id, scale })),
          Effect.mapError((e) => (e._tag === "UnknownTarget" ? notFound(e) : unavailable("targets")(e)))
        )
      )
      .handle("setScale", ({ path, payload }) =>
        control.setScale(path.id, payload.scale).pipe(
          Effect.as({ target: path.id, scale: payload.scale }),
          Effect.mapError(targetError("targets"))
        )
      )
  })
)

/**
 * The `observability` group.
 *
 * @since 0.1.0
 */
export const ObservabilityLive = HttpApiBuilder.group(Api, "observability", (handlers) =>
  Effect.gen(function* () {
    const hub = yield* EventHub
    const settings = yield* ServerSettings
    const context = yield* Effect.context<DaemonControl | EventHub | SampleHistory>()
    return handlers
      .handle("metrics", () => Effect.map(Effect.provide(Metrics.snapshot(settings.startedAt), context), Metrics.render))
      .handle("events", ({ urlParams }) =>
        Events.response(hub, {
          types: Events.parseTypes(urlParams.types),
          keepAliveMs: settings.limits.keepAliveMs,
          maxSubscribers: settings.limits.maxEventSubscribers
        })
      )
  })
)

/**
 * Every group.
 *
 * @since 0.1.0
 */
export const layer = Layer.mergeAll(SystemLive, TunablesLive, DaemonLive, TargetsLive, ObservabilityLive)
