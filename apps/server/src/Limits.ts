/**
 * Limits: what a client may cost the server.
 *
 * - request bodies: at most `maxBodyBytes` (413 beyond, whether the size is declared in
 *   `Content-Length` or the body is chunked); a body must be JSON (415 otherwise) and
 *   parse (400 otherwise);
 * - slow clients: Node's `headersTimeout` and `requestTimeout` close a connection whose
 *   headers or body do not arrive in time (checked every `connectionsCheckingIntervalMs`),
 *   `keepAliveTimeout` closes idle keep-alive connections, and `maxConnections` caps
 *   open sockets;
 * - event streams are long-lived by design: at most `maxEventSubscribers`, each with a
 *   keep-alive comment every `keepAliveMs` (see `Events`).
 *
 * @since 0.1.0
 */
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMethod from "@effect/platform/HttpMethod"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as http from "node:http"

/**
 * The limits.
 *
 * @since 0.1.0
 */
export interface Limits {
  readonly maxBodyBytes: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  readonly connectionsCheckingIntervalMs: number
  readonly maxConnections: number
  readonly maxEventSubscribers: number
  readonly keepAliveMs: number
  /** Events kept for slow subscribers (one buffer shared by all). */
  readonly eventBuffer: number
  /** Samples kept for `GET /api/samples`. */
  readonly sampleHistory: number
}

/**
 * The defaults.
 *
 * @since 0.1.0
 */
export const defaults: Limits = {
  maxBodyBytes: 64 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 2_000,
  maxConnections: 256,
  maxEventSubscribers: 32,
  keepAliveMs: 15_000,
  eventBuffer: 4096,
  sampleHistory: 600
}

/**
 * A Node HTTP server with the limits' timeouts and connection cap.
 *
 * @since 0.1.0
 */
export const nodeServer = (limits: Limits): http.Server => {
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    // Node requires requestTimeout >= headersTimeout unless it is 0.
    requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
    noDelay: true
  })
  server.maxConnections = limits.maxConnections
  server.maxHeadersCount = 100
  return server
}

const errorResponse = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(body, { status, headers })

const tooLarge = (limit: number) =>
  errorResponse(
    413,
    { _tag: "PayloadTooLarge", limitBytes: limit, message: `the request body is larger than ${limit} bytes` },
    // The rest of the body is not read: the connection is not reused.
    { connection: "close" }
  )

/**
 * Reads a request body up to `maxBytes`. Past the limit it stops keeping the data
 * (the rest is read and dropped, so the 413 reaches the client) and answers "too-large".
 * O(body size).
 */
const readBody = (incoming: http.IncomingMessage, maxBytes: number): Effect.Effect<Buffer | "too-large", Error> =>
  Effect.async<Buffer | "too-large", Error>((resume) => {
    if (incoming.readableEnded) return resume(Effect.succeed(Buffer.alloc(0)))
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        cleanup()
        incoming.resume()
        resume(Effect.succeed("too-large"))
      } else {
        chunks.push(chunk)
      }
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks, size)))
    }
    const onError = (error: Error) => {
      cleanup()
      resume(Effect.fail(error))
    }
    incoming.on("data", onData)
    incoming.on("end", onEnd)
    incoming.on("error", onError)
    return Effect.sync(cleanup)
  })

/** The request with its body already read: the routes read `body` instead of the socket. */
const withBody = (request: HttpServerRequest.HttpServerRequest, body: Buffer): HttpServerRequest.HttpServerRequest => {
  const text = body.toString("utf8")
  return Object.create(request, {
    text: { value: Effect.succeed(text) },
    json: {
      value: Effect.try({
        try: () => (text === "" ? null : (JSON.parse(text) as unknown)),
        catch: (cause) => new HttpServerError.RequestError({ request, reason: "Decode", cause })
      })
    },
    arrayBuffer: { value: Effect.succeed(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)) },
    urlParamsBody: { value: Effect.sync(() => UrlParams.fromInput(new URLSearchParams(text))) },
    stream: { value: Stream.succeed(new Uint8Array(body)) }
  }) as HttpServerRequest.HttpServerRequest
}

const isJson = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return true
  const type = contentType.split(";")[0].trim().toLowerCase()
  return type === "application/json" || type.endsWith("+json")
}

/**
 * Reads and checks the body of every request that has one, before routing: 413 above
 * `maxBytes` (declared in `Content-Length` or found while reading a chunked body), 415
 * for a body that is not JSON, 400 for JSON that does not parse. The routes then read
 * the checked body.
 *
 * @since 0.1.0
 */
export const bodyLimit =
  (maxBytes: number) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!HttpMethod.hasBody(request.method)) return yield* app
      const declared = request.headers["content-length"]
      if (declared !== undefined && Number(declared) > maxBytes) return tooLarge(maxBytes)
      const body = yield* Effect.either(readBody(NodeHttpServerRequest.toIncomingMessage(request), maxBytes))
      if (body._tag === "Left") return errorResponse(400, { _tag: "MalformedJson", message: `the request body could not be read: ${body.left.message}` })
      if (body.right === "too-large") return tooLarge(maxBytes)
      if (body.right.length > 0) {
        if (!isJson(request.headers["content-type"])) {
          return errorResponse(415, {
            _tag: "UnsupportedMediaType",
            message: `the request body must be JSON (Content-Type: application/json), not ${request.headers["content-type"]}`
          })
        }
        try {
          JSON.parse(body.right.toString("utf8"))
        } catch (e) {
          return errorResponse(400, { _tag: "MalformedJson", message: `the request body is not valid JSON: ${(e as Error).message}` })
        }
      }
      return yield* Effect.provideService(app, HttpServerRequest.HttpServerRequest, withBody(request, body.right))
    })
