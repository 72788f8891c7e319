/**
 * The HTTP API of the kmm server, as an `HttpApi` definition: every endpoint with the
 * Schemas of its path, body, response and errors. The same definition serves the
 * requests (`Handlers`) and the OpenAPI document at `/openapi.json`.
 *
 * GETs are open; endpoints that change something (tunables, daemon start and stop,
 * target scale) need the bearer token (`Auth`).
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as CoreCounters from "@kmm/core/Counters"
import * as CoreTopology from "@kmm/core/Topology"
import * as CoreTunables from "@kmm/core/Tunables"
import * as Schema from "effect/Schema"
import pkg from "../package.json" with { type: "json" }
import { Authorization } from "./Auth.js"

// ---------------------------------------------------------------------------
// Errors on the wire. Each carries a `message` a person can read as it is.
// ---------------------------------------------------------------------------

/**
 * A value was refused (a tunable, a target's scale): names the knob, the value and
 * what is allowed. Nothing was changed.
 *
 * @since 0.1.0
 */
export class InvalidValue extends Schema.TaggedError<InvalidValue>()(
  "InvalidValue",
  { knob: Schema.String, value: Schema.Unknown, expected: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 400, description: "A value was refused; nothing was changed" })
) {}

/**
 * The body is not valid JSON.
 *
 * @since 0.1.0
 */
export class MalformedJson extends Schema.TaggedError<MalformedJson>()(
  "MalformedJson",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400, description: "The request body is not valid JSON" })
) {}

/**
 * The body is larger than the server accepts.
 *
 * @since 0.1.0
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { limitBytes: Schema.Number, message: Schema.String },
  HttpApiSchema.annotations({ status: 413, description: "The request body is larger than the limit" })
) {}

/**
 * The body is not JSON (by its `Content-Type`).
 *
 * @since 0.1.0
 */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 415, description: "The request body is not JSON" })
) {}

/**
 * The daemon knows no target with this id.
 *
 * @since 0.1.0
 */
export class TargetNotFound extends Schema.TaggedError<TargetNotFound>()(
  "TargetNotFound",
  { target: Schema.Number, message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No target has this id" })
) {}

/**
 * The backend could not answer (e.g. the topology could not be read).
 *
 * @since 0.1.0
 */
export class BackendUnavailable extends Schema.TaggedError<BackendUnavailable>()(
  "BackendUnavailable",
  { operation: Schema.String, message: Schema.String },
  HttpApiSchema.annotations({ status: 503, description: "The backend could not answer" })
) {}

/**
 * Every event stream slot is taken.
 *
 * @since 0.1.0
 */
export class TooManySubscribers extends Schema.TaggedError<TooManySubscribers>()(
  "TooManySubscribers",
  { limit: Schema.Number, message: Schema.String },
  HttpApiSchema.annotations({ status: 503, description: "The event stream has its maximum number of subscribers" })
) {}

// ---------------------------------------------------------------------------
// Bodies.
// ---------------------------------------------------------------------------

/**
 * The daemon's run state: running, stopped (by `POST /api/daemon/stop`), or crashed
 * (a fiber died of a defect; `reason` says why).
 *
 * @since 0.1.0
 */
export const DaemonStatus = Schema.Struct({
  state: Schema.Literal("running", "stopped", "crashed"),
  /** Since when, ms since the epoch. */
  since: Schema.Number,
  reason: Schema.optional(Schema.String)
}).annotations({ identifier: "DaemonStatus" })

/** @since 0.1.0 */
export interface DaemonStatus extends Schema.Schema.Type<typeof DaemonStatus> {}

const counterDocs: Readonly<Record<string, string>> = {
  mm_scans: "Target visits (kmmscand: mm_scans)",
  vma_scans: "Mapping chunks scanned (kmmscand: vma_scans)",
  migadded: "Pages queued for migration (kmmscand: migadded)",
  migrated: "Pages migrated (kmmscand: migrated)",
  migrate_failed: "Pages that failed to migrate, or were dropped unattempted (kmmscand: migrate_failed)",
  slowtier: "Accessed pages found on a slow tier (kmmscand: slowtier)",
  toptier: "Accessed pages found on the top tier (kmmscand: toptier)",
  idlepage: "Present pages found not accessed (kmmscand: idlepage)",
  pages_scanned: "Page-table entries visited",
  bytes_migrated: "Bytes migrated",
  demoted: "Pages migrated to a slower tier (part of migrated)",
  targets_gone: "Targets dropped because they were gone",
  scan_passes: "Completed scan passes"
}

/**
 * What a counter counts, in words (for OpenAPI and Prometheus HELP lines).
 *
 * @since 0.1.0
 */
export const counterDoc = (name: string): string => counterDocs[name] ?? `Daemon counter ${name}`

/**
 * The daemon's counters (kmmscand's vmstat names), since the server started: they
 * keep counting across daemon stops and starts.
 *
 * @since 0.1.0
 */
export const Counters = Schema.Struct(
  Object.fromEntries(CoreCounters.names.map((n) => [n, Schema.Number.annotations({ description: counterDoc(n) })])) as {
    readonly [K in keyof CoreCounters.Counters]: typeof Schema.Number
  }
).annotations({ identifier: "Counters" })

const PluginInfo = Schema.Struct({
  /** The plug-in's own name. */
  name: Schema.String,
  /** The name it was asked by: a built-in name or an npm package name. */
  ref: Schema.String,
  source: Schema.Literal("builtin", "package")
})

/**
 * The simulated backend's access shares over its last result interval.
 *
 * @since 0.1.0
 */
export const SimShares = Schema.Struct({
  /** Of the interval's accesses, the share served by the top tier. */
  topTierShare: Schema.Number,
  /** The same for the oracle's placement (the best static placement). */
  oracleShare: Schema.Number
}).annotations({ identifier: "SimShares" })

/**
 * `GET /api/status`.
 *
 * @since 0.1.0
 */
export const Status = Schema.Struct({
  version: Schema.String,
  /** When the server started, ms since the epoch. */
  startedAt: Schema.Number,
  uptimeMs: Schema.Number,
  daemon: DaemonStatus,
  stack: Schema.Struct({ backend: PluginInfo, policy: PluginInfo }),
  counters: Counters,
  /** Pages queued for migration and not yet done. */
  pendingPages: Schema.Number,
  targets: Schema.Number,
  policyStateBytes: Schema.Number,
  /** Clients of `GET /api/events` now. */
  eventSubscribers: Schema.Number,
  /** Simulated backend only. */
  sim: Schema.optional(SimShares)
}).annotations({ identifier: "Status" })

/** @since 0.1.0 */
export interface Status extends Schema.Schema.Type<typeof Status> {}

/**
 * A target as the API lists it. The scan fields are there while the daemon runs.
 *
 * @since 0.1.0
 */
export const Target = Schema.Struct({
  id: Schema.Number,
  name: Schema.String,
  pages: Schema.Number,
  /** 0 = opted out, 1 = normal, up to 10. */
  scale: Schema.Number,
  periodMs: Schema.optional(Schema.Number),
  sweeps: Schema.optional(Schema.Number),
  lastFound: Schema.optional(Schema.Number)
}).annotations({ identifier: "Target" })

/** @since 0.1.0 */
export interface Target extends Schema.Schema.Type<typeof Target> {}

/**
 * A target's scan scale: 0 opts it out, 1 is normal, up to 10 scans it ten times as often.
 *
 * @since 0.1.0
 */
export const Scale = Schema.Struct({
  target: Schema.Number,
  scale: Schema.Number
}).annotations({ identifier: "Scale" })

/**
 * `PUT /api/targets/{id}/scale`. The range is checked by the daemon, so a refusal names it.
 *
 * @since 0.1.0
 */
export const ScaleBody = Schema.Struct({
  scale: Schema.Number.annotations({
    description: "0 opts the target out, 1 is normal, up to 10",
    jsonSchema: { type: "integer", minimum: 0, maximum: 10 }
  })
}).annotations({ identifier: "ScaleBody" })

/**
 * One knob: default, range, unit and meaning.
 *
 * @since 0.1.0
 */
export const Knob = Schema.Struct({
  name: Schema.String,
  default: Schema.Union(Schema.Number, Schema.Boolean),
  min: Schema.optional(Schema.Number),
  max: Schema.optional(Schema.Number),
  unit: Schema.String,
  doc: Schema.String,
  sysfs: Schema.optional(Schema.String)
}).annotations({ identifier: "Knob" })

/**
 * The JSON Schema of a tunables patch, from the knobs' ranges.
 *
 * @since 0.1.0
 */
export const patchJsonSchema = (): object => ({
  type: "object",
  additionalProperties: false,
  properties: Object.fromEntries(
    CoreTunables.knobs.map((k) => [
      k.name,
      typeof k.default === "boolean"
        ? { type: "boolean", description: k.doc }
        : { type: "integer", minimum: k.min, maximum: k.max, description: `${k.doc}${k.unit ? ` (${k.unit})` : ""}` }
    ])
  )
})

/**
 * `PATCH /api/tunables`: some knobs and their new values. Every key and value is
 * checked by the daemon's tunables (so a refusal names the knob and its range), and
 * the patch applies whole or not at all.
 *
 * @since 0.1.0
 */
export const TunablesPatch = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  identifier: "TunablesPatch",
  description: "Knobs to change, e.g. { \"scanSleepMs\": 50 }; see GET /api/tunables/knobs",
  jsonSchema: patchJsonSchema()
})

/**
 * One node in a sample.
 *
 * @since 0.1.0
 */
export const NodeSample = Schema.Struct({
  id: Schema.Number,
  label: Schema.String,
  tier: Schema.Number,
  capacityPages: Schema.Number,
  usedPages: Schema.Number,
  freePages: Schema.Number
}).annotations({ identifier: "NodeSample" })

/**
 * One second of the daemon's life, as the dashboard charts it (also sent as the
 * `Sample` event).
 *
 * @since 0.1.0
 */
export const Sample = Schema.Struct({
  _tag: Schema.Literal("Sample"),
  /** End of the interval, ms since the epoch. */
  time: Schema.Number,
  intervalMs: Schema.Number,
  pageSize: Schema.Number,
  nodes: Schema.Array(NodeSample),
  promotedPerSec: Schema.Number,
  demotedPerSec: Schema.Number,
  scannedPerSec: Schema.Number,
  migrateFailedPerSec: Schema.Number,
  counters: Counters,
  /** Simulated backend only. */
  topTierShare: Schema.optional(Schema.Number),
  oracleShare: Schema.optional(Schema.Number)
}).annotations({ identifier: "Sample" })

/** @since 0.1.0 */
export interface Sample extends Schema.Schema.Type<typeof Sample> {}

// ---------------------------------------------------------------------------
// Endpoints.
// ---------------------------------------------------------------------------

const targetId = HttpApiSchema.param(
  "id",
  Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()).annotations({ description: "Target id (a pid on Linux)" })
)

/**
 * Status, topology and the recent samples.
 *
 * @since 0.1.0
 */
export class SystemGroup extends HttpApiGroup.make("system")
  .add(
    HttpApiEndpoint.get("status", "/api/status")
      .addSuccess(Status)
      .annotate(OpenApi.Summary, "The daemon's state, stack, counters and queue")
  )
  .add(
    HttpApiEndpoint.get("topology", "/api/topology")
      .addSuccess(CoreTopology.Topology.annotations({ identifier: "Topology" }))
      .addError(BackendUnavailable)
      .annotate(OpenApi.Summary, "Nodes and tiers, as the backend reports them now")
  )
  .add(
    HttpApiEndpoint.get("samples", "/api/samples")
      .addSuccess(Schema.Array(Sample))
      .annotate(OpenApi.Summary, "The recent per-second samples (what the dashboard starts from)")
  ) {}

/**
 * The tunables: read, describe, change.
 *
 * @since 0.1.0
 */
export class TunablesGroup extends HttpApiGroup.make("tunables")
  .add(
    HttpApiEndpoint.get("get", "/api/tunables")
      .addSuccess(CoreTunables.TunableValues.annotations({ identifier: "TunableValues" }))
      .annotate(OpenApi.Summary, "Every tunable's value now")
  )
  .add(
    HttpApiEndpoint.get("knobs", "/api/tunables/knobs")
      .addSuccess(Schema.Array(Knob))
      .annotate(OpenApi.Summary, "Every knob with its default, range, unit and meaning")
  )
  .add(
    HttpApiEndpoint.patch("patch", "/api/tunables")
      .setPayload(TunablesPatch)
      .addSuccess(CoreTunables.TunableValues.annotations({ identifier: "TunableValues" }))
      .addError(InvalidValue)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "Changes some tunables while the daemon runs (all or nothing)")
  ) {}

/**
 * Start and stop the daemon.
 *
 * @since 0.1.0
 */
export class DaemonGroup extends HttpApiGroup.make("daemon")
  .add(
    HttpApiEndpoint.post("start", "/api/daemon/start")
      .addSuccess(DaemonStatus)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "Starts the daemon's fibers (no change if it runs)")
  )
  .add(
    HttpApiEndpoint.post("stop", "/api/daemon/stop")
      .addSuccess(DaemonStatus)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "Stops the daemon's fibers within one scan step; counters and scales are kept")
  ) {}

/**
 * Targets and their per-target scale (the opt-in and opt-out).
 *
 * @since 0.1.0
 */
export class TargetsGroup extends HttpApiGroup.make("targets")
  .add(
    HttpApiEndpoint.get("list", "/api/targets")
      .addSuccess(Schema.Array(Target))
      .addError(BackendUnavailable)
      .annotate(OpenApi.Summary, "The targets the daemon scans")
  )
  .add(
    HttpApiEndpoint.get("getScale")`/api/targets/${targetId}/scale`
      .addSuccess(Scale)
      .addError(TargetNotFound)
      .addError(BackendUnavailable)
      .annotate(OpenApi.Summary, "A target's scan scale")
  )
  .add(
    HttpApiEndpoint.put("setScale")`/api/targets/${targetId}/scale`
      .setPayload(ScaleBody)
      .addSuccess(Scale)
      .addError(TargetNotFound)
      .addError(InvalidValue)
      .addError(BackendUnavailable)
      .middleware(Authorization)
      .annotate(OpenApi.Summary, "Sets a target's scan scale, 0..10 (0 opts it out)")
  ) {}

/**
 * Metrics and events.
 *
 * @since 0.1.0
 */
export class ObservabilityGroup extends HttpApiGroup.make("observability")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      .annotate(OpenApi.Summary, "Counters and per-node gauges in the Prometheus text exposition format")
  )
  .add(
    HttpApiEndpoint.get("events", "/api/events")
      .setUrlParams(
        Schema.Struct({
          types: Schema.optional(
            Schema.String.annotations({ description: "Comma-separated event types to receive (default: all), e.g. Sample,TunablesChanged" })
          )
        })
      )
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(TooManySubscribers)
      .annotate(OpenApi.Summary, "Server-sent events: scan passes, migrations, tunable changes, samples, daemon state")
  ) {}

/**
 * The whole API.
 *
 * @since 0.1.0
 */
export class Api extends HttpApi.make("kmm")
  .add(SystemGroup)
  .add(TunablesGroup)
  .add(DaemonGroup)
  .add(TargetsGroup)
  .add(ObservabilityGroup)
  .addError(MalformedJson)
  .addError(PayloadTooLarge)
  .addError(UnsupportedMediaType)
  .annotate(OpenApi.Title, "kmm control plane")
  .annotate(OpenApi.Version, pkg.version)
  .annotate(
    OpenApi.Description,
    "The kmm memory-tiering daemon as a service. GETs are open; changes need `Authorization: Bearer TOKEN`."
  ) {}
