/**
 * Events: the hub every server event goes through (the daemon's events, per-second
 * samples, daemon start and stop), and its server-sent-events stream at `/api/events`.
 *
 * Bounds: the hub is one sliding buffer shared by all subscribers (`bufferEvents`), so a
 * slow client loses its oldest unread events instead of growing memory; at most
 * `maxSubscribers` streams are open at once (more get 503); every stream sends a
 * keep-alive comment every `keepAliveMs`, so dead connections are found and proxies
 * keep idle ones open. When the server stops, every stream ends (its response is
 * completed), then the remaining connections are closed.
 *
 * @since 0.1.0
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { DaemonEvent } from "@kmm/core/Events"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { DaemonStatus, Sample } from "./Api.js"
import { TooManySubscribers } from "./Api.js"

/**
 * The daemon started, stopped or crashed.
 *
 * @since 0.1.0
 */
export interface DaemonStateEvent extends DaemonStatus {
  readonly _tag: "DaemonState"
  readonly time: number
}

/**
 * Everything `/api/events` can carry: the daemon's own events (`ScanPass`, `SweepDone`,
 * `Migrated`, `TargetAppeared`, `TargetGone`, `TargetScale`, `TunablesChanged`,
 * `BackendError`), `Sample` once a second and `DaemonState`.
 *
 * @since 0.1.0
 */
export type ServerEvent = DaemonEvent | Sample | DaemonStateEvent

/**
 * An event with its sequence number (the SSE `id`).
 *
 * @since 0.1.0
 */
export interface Envelope {
  readonly id: number
  readonly event: ServerEvent
}

/**
 * The hub.
 *
 * @since 0.1.0
 */
export interface Hub {
  readonly publish: (event: ServerEvent) => Effect.Effect<void>
  /** A subscription for as long as the scope lives. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Envelope>, never, Scope.Scope>
  /** Open event streams now. */
  readonly subscribers: Effect.Effect<number>
  /** Counts one stream in, for as long as the scope lives; false if `limit` are open already. */
  readonly enter: (limit: number) => Effect.Effect<boolean, never, Scope.Scope>
  /** Ends every stream (the server is stopping), and waits up to `timeoutMs` for them to end. */
  readonly close: (timeoutMs: number) => Effect.Effect<void>
  /** Completes when `close` is called. */
  readonly closing: Effect.Effect<void>
}

/**
 * The Hub tag.
 *
 * @since 0.1.0
 */
export class EventHub extends Context.Tag("@kmm/server/EventHub")<EventHub, Hub>() {}

/**
 * Makes a hub with a shared sliding buffer of `bufferEvents`.
 *
 * @since 0.1.0
 */
export const make = (bufferEvents: number): Effect.Effect<Hub, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<Envelope>(bufferEvents), PubSub.shutdown)
    const closing = yield* Deferred.make<void>()
    let seq = 0
    let open = 0
    const drained = Effect.gen(function* () {
      while (open > 0) yield* Effect.sleep(Duration.millis(10))
    })
    return {
      publish: (event) => Effect.suspend(() => PubSub.publish(pubsub, { id: ++seq, event })),
      subscribe: PubSub.subscribe(pubsub),
      subscribers: Effect.sync(() => open),
      enter: (limit) =>
        Effect.acquireRelease(
          Effect.sync(() => (open < limit ? (open++, true) : false)),
          (entered) => Effect.sync(() => void (entered && open--))
        ),
      close: (timeoutMs) => Effect.zipRight(Deferred.succeed(closing, undefined), Effect.ignore(Effect.timeout(drained, Duration.millis(timeoutMs)))),
      closing: Deferred.await(closing)
    }
  })

/**
 * The hub as a layer.
 *
 * @since 0.1.0
 */
export const layer = (bufferEvents: number): Layer.Layer<EventHub> => Layer.scoped(EventHub, make(bufferEvents))

/**
 * One event in the SSE wire format: `id`, `event` (the tag) and `data` (JSON, one line).
 *
 * @since 0.1.0
 */
export const encode = (envelope: Envelope): string =>
  `id: ${envelope.id}\nevent: ${envelope.event._tag}\ndata: ${JSON.stringify(envelope.event)}\n\n`

/**
 * A comment line, ignored by clients; sent to keep an idle stream alive.
 *
 * @since 0.1.0
 */
export const keepAlive = ": keep-alive\n\n"

/**
 * Parses the `types` query parameter: a comma-separated list, or everything.
 *
 * @since 0.1.0
 */
export const parseTypes = (types: string | undefined): ReadonlySet<string> | undefined => {
  const list = (types ?? "").split(",").map((t) => t.trim()).filter((t) => t.length > 0)
  return list.length === 0 ? undefined : new Set(list)
}

/**
 * Options of a stream.
 *
 * @since 0.1.0
 */
export interface StreamOptions {
  /** Only these event types (default: all). */
  readonly types?: ReadonlySet<string> | undefined
  readonly keepAliveMs: number
  readonly maxSubscribers: number
}

/**
 * The `text/event-stream` response: a `retry` hint and a comment first, then the
 * events as they come, and keep-alive comments. Fails with `TooManySubscribers` when
 * the streams are all taken; a stream that loses the race for the last slot ends at
 * once, so the bound holds.
 *
 * @since 0.1.0
 */
export const response = (hub: Hub, options: StreamOptions): Effect.Effect<HttpServerResponse.HttpServerResponse, TooManySubscribers> =>
  Effect.gen(function* () {
    if ((yield* hub.subscribers) >= options.maxSubscribers) {
      return yield* new TooManySubscribers({
        limit: options.maxSubscribers,
        message: `the event stream has its maximum of ${options.maxSubscribers} subscribers; close one, or raise the limit`
      })
    }
    const types = options.types
    const body = Stream.unwrapScoped(
      Effect.gen(function* () {
        if (!(yield* hub.enter(options.maxSubscribers))) return Stream.make(": too many subscribers\n\n")
        const queue = yield* hub.subscribe
        const events = Stream.fromQueue(queue).pipe(
          Stream.mapChunks((chunk) => {
            let text = ""
            for (const e of chunk) if (types === undefined || types.has(e.event._tag)) text += encode(e)
            return text.length === 0 ? Chunk.empty<string>() : Chunk.of(text)
          })
        )
        const pings = Stream.fromSchedule(Schedule.spaced(Duration.millis(options.keepAliveMs))).pipe(Stream.as(keepAlive))
        return Stream.concat(Stream.make("retry: 3000\n: connected\n\n"), Stream.merge(events, pings, { haltStrategy: "either" })).pipe(
          // The server is stopping: end the response properly.
          Stream.haltWhen(hub.closing)
        )
      })
    ).pipe(Stream.encodeText)
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })
