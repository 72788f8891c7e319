/**
 * Server: the whole service in one layer. It builds the stack (backend, policy,
 * tunables) the way the CLI does, runs the daemon under `Control`, samples it, and
 * serves on 127.0.0.1:8474 by default:
 *
 * - the API (`Api`) with its OpenAPI document at `/openapi.json` and a browsable
 *   version at `/docs`;
 * - `/metrics` (Prometheus) and `/api/events` (server-sent events);
 * - the dashboard at `/`.
 *
 * The daemon runs in real time: on the simulated backend the machine's clock is
 * Effect's live clock, so a second of simulation takes a second.
 *
 * ```ts
 * import { Server } from "@kmm/server"
 * import { Effect } from "effect"
 *
 * // `stack` from Stack.resolve / Stack.fromFile, as the CLI composes it
 * Effect.runFork(Server.serve({ stack, port: 0 }))
 * ```
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Stack from "@kmm/core/Stack"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as http from "node:http"
import pkg from "../package.json" with { type: "json" }
import { Api } from "./Api.js"
import * as Auth from "./Auth.js"
import * as Control from "./Control.js"
import * as Dashboard from "./Dashboard.js"
import * as Events from "./Events.js"
import * as Handlers from "./Handlers.js"
import * as Limits from "./Limits.js"
import * as Samples from "./Samples.js"
import { ServerSettings } from "./Settings.js"

/**
 * The server could not listen (the port is taken, the address is not this machine's,
 * a port below 1024 without the right to bind it).
 *
 * @since 0.1.0
 */
export class ListenError extends Data.TaggedError("ListenError")<{ readonly host: string; readonly port: number; readonly reason: string }> {
  override get message(): string {
    return `cannot listen on ${this.host}:${this.port}: ${this.reason}. Choose another --port (0 picks a free one) or --host`
  }
}

/**
 * The port when none is given.
 *
 * @since 0.1.0
 */
export const DEFAULT_PORT = 8474

/**
 * The address when none is given: loopback only.
 *
 * @since 0.1.0
 */
export const DEFAULT_HOST = "127.0.0.1"

/**
 * Options of `layer` and `serve`.
 *
 * @since 0.1.0
 */
export interface Options extends Auth.TokenOptions {
  /** The stack to run, resolved (`Stack.resolve`), as the CLI composes it from a config file and flags. */
  readonly stack: Stack.Stack
  /** Address to bind (default 127.0.0.1). */
  readonly host?: string
  /** Port (default 8474; 0 picks a free one). */
  readonly port?: number
  readonly limits?: Partial<Limits.Limits>
  /** The built dashboard (default: the package's own). */
  readonly assetsDir?: string
  /** Start the daemon with the server (default true). */
  readonly startDaemon?: boolean
}

/**
 * Where the server listens, and its token.
 *
 * @since 0.1.0
 */
export interface Info {
  /** `http://HOST:PORT`, no trailing slash. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly token: Auth.Token
}

/**
 * The Info tag.
 *
 * @since 0.1.0
 */
export class ServerInfo extends Context.Tag("@kmm/server/ServerInfo")<ServerInfo, Info>() {}

/**
 * What the server provides to the program it runs in.
 *
 * @since 0.1.0
 */
export type Services = ServerInfo | Control.DaemonControl | Events.EventHub | Samples.SampleHistory

/** Any other path: a 404 in the API's error shape. */
const notFound = HttpApiBuilder.Router.use((router) =>
  router.all(
    "*",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.unsafeJson(
        { _tag: "NotFound", message: `no route for ${request.method} ${request.url.split("?")[0]}; see /openapi.json` },
        { status: 404 }
      )
    )
  )
)

const urlOf = (host: string, port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`

/**
 * The server as a layer: listening once built, stopped (connections closed, daemon
 * stopped, machine released) when its scope closes.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<Services, unknown> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const token = yield* Auth.resolve({
        ...(options.token === undefined ? {} : { token: options.token }),
        ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
        env: options.env ?? process.env
      })
      const limits: Limits.Limits = { ...Limits.defaults, ...options.limits }
      const settings = { version: pkg.version, startedAt: yield* Clock.currentTimeMillis, limits }
      const assetsDir = options.assetsDir ?? Dashboard.defaultDir()

      // The daemon and what watches it.
      const base = Layer.merge(Events.layer(limits.eventBuffer), Stack.layer(options.stack))
      const withControl = Layer.provideMerge(Control.layer(options.stack, { start: options.startDaemon ?? true }), base)
      const core = Layer.merge(Layer.provideMerge(Samples.layer(limits.sampleHistory), withControl), Layer.succeed(ServerSettings, settings))

      // HTTP.
      const holder: { server?: http.Server } = {}
      const host = options.host ?? DEFAULT_HOST
      const port = options.port ?? DEFAULT_PORT
      const listen = NodeHttpServer.layer(() => (holder.server = Limits.nodeServer(limits)), { port, host }).pipe(
        Layer.mapError((e) => new ListenError({ host, port, reason: e.cause instanceof Error ? e.cause.message : String(e.cause) }))
      )
      const api = HttpApiBuilder.api(Api).pipe(Layer.provide(Handlers.layer), Layer.provide(Auth.layer(token.value)))
      const routes = HttpApiBuilder.serve(Limits.bodyLimit(limits.maxBodyBytes)).pipe(
        Layer.provide(HttpApiBuilder.middlewareOpenApi()),
        Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
        Layer.provide(Dashboard.layer(assetsDir)),
        Layer.provide(notFound),
        Layer.provide(api),
        Layer.provide(listen)
      )
      const info = Layer.effect(
        ServerInfo,
        Effect.map(HttpServer.HttpServer, (server): Info => {
          const address = server.address
          const bound = address._tag === "TcpAddress" ? address.hostname : host
          const boundPort = address._tag === "TcpAddress" ? address.port : port
          return { url: urlOf(bound, boundPort), host: bound, port: boundPort, token }
        })
      ).pipe(Layer.provide(listen))
      // Event streams never end by themselves: when the server stops, end them (their
      // responses complete), then close what is left open, before Node's server waits
      // for every connection to end.
      const closeConnections = Layer.scopedDiscard(
        Effect.gen(function* () {
          const hub = yield* Events.EventHub
          yield* HttpServer.HttpServer
          yield* Effect.addFinalizer(() => Effect.zipRight(hub.close(1000), Effect.sync(() => holder.server?.closeAllConnections())))
        })
      ).pipe(Layer.provide(listen))

      const all: Layer.Layer<Services, unknown> = Layer.mergeAll(routes, info, closeConnections).pipe(Layer.provideMerge(core))
      return all
    })
  )

const isLoopback = (host: string) => host === "localhost" || host === "::1" || host.startsWith("127.")

/**
 * Prints where the server listens (stdout) and, if it was generated, the token
 * (stderr, once); warns when the address is not loopback (reading is open).
 *
 * @since 0.1.0
 */
export const announce = (info: Info): Effect.Effect<void> =>
  Effect.sync(() => {
    process.stdout.write(
      `kmm serve: listening on ${info.url}/ (dashboard ${info.url}/, API ${info.url}/api, metrics ${info.url}/metrics, OpenAPI ${info.url}/openapi.json)\n`
    )
    if (!isLoopback(info.host)) {
      process.stderr.write(`kmm serve: note: ${info.host} is not loopback; every GET (status, metrics, events, the dashboard) is open to whoever reaches it\n`)
    }
    if (info.token.source === "generated") {
      process.stderr.write(
        `kmm serve: token for changes (generated for this run; set KMM_TOKEN or --token-file to choose one): ${Redacted.value(info.token.value)}\n`
      )
    }
  })

/**
 * Runs the server until interrupted: `onListening` (default `announce`) is called
 * once it listens.
 *
 * @since 0.1.0
 */
export const serve = (options: Options & { readonly onListening?: (info: Info) => Effect.Effect<void> }): Effect.Effect<never, unknown> =>
  Effect.flatMap(ServerInfo, (info) => Effect.zipRight((options.onListening ?? announce)(info), Effect.never)).pipe(
    Effect.provide(layer(options))
  )
