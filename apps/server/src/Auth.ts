/**
 * Authorization: endpoints that change something need `Authorization: Bearer TOKEN`.
 *
 * The token comes from, in order: the `token` option, a token file (`--token-file`),
 * the `KMM_TOKEN` environment variable; else one is generated at start (32 random
 * bytes, base64url) and printed once. It is compared in constant time (SHA-256 of
 * both sides, then `crypto.timingSafeEqual`), and never logged.
 *
 * @since 0.1.0
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import * as fs from "node:fs/promises"

/**
 * A mutating request came without the token, or with a wrong one.
 *
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401, description: "Missing or wrong bearer token" })
) {}

/**
 * The middleware that guards mutating endpoints.
 *
 * @since 0.1.0
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@kmm/server/Authorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * Where the token came from.
 *
 * @since 0.1.0
 */
export type TokenSource = "option" | "file" | "env" | "generated"

/**
 * The server's token.
 *
 * @since 0.1.0
 */
export interface Token {
  readonly value: Redacted.Redacted<string>
  readonly source: TokenSource
}

/**
 * The token could not be read (a token file that is missing or empty, an empty `KMM_TOKEN`).
 *
 * @since 0.1.0
 */
export class TokenError extends Data.TaggedError("TokenError")<{ readonly source: string; readonly reason: string; readonly hint?: string }> {
  override get message(): string {
    return `token from ${this.source}: ${this.reason}${this.hint ? `. ${this.hint}` : ""}`
  }
}

/**
 * Where to take the token from.
 *
 * @since 0.1.0
 */
export interface TokenOptions {
  readonly token?: string | Redacted.Redacted<string>
  /** A file holding the token (surrounding whitespace is ignored). */
  readonly tokenFile?: string
  /** Environment to read `KMM_TOKEN` from. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * A fresh random token: 32 bytes, base64url (43 characters).
 *
 * @since 0.1.0
 */
export const generate = (): string => randomBytes(32).toString("base64url")

const checked = (source: string, raw: string): Effect.Effect<string, TokenError> => {
  const value = raw.trim()
  if (value.length === 0) return Effect.fail(new TokenError({ source, reason: "it is empty", hint: "Give a non-empty token, or none to have one generated" }))
  if (/\s/.test(value)) return Effect.fail(new TokenError({ source, reason: "it contains whitespace", hint: "A bearer token is one word" }))
  return Effect.succeed(value)
}

/**
 * Resolves the token: option, token file, `KMM_TOKEN`, else a generated one.
 *
 * @since 0.1.0
 */
export const resolve = (options: TokenOptions = {}): Effect.Effect<Token, TokenError> =>
  Effect.gen(function* () {
    if (options.token !== undefined) {
      const raw = Redacted.isRedacted(options.token) ? Redacted.value(options.token) : options.token
      return { value: Redacted.make(yield* checked("the token option", raw)), source: "option" as const }
    }
    if (options.tokenFile !== undefined) {
      const file = options.tokenFile
      const raw = yield* Effect.tryPromise({
        try: () => fs.readFile(file, "utf8"),
        catch: (e) => new TokenError({ source: file, reason: (e as Error).message, hint: "Check the path given to --token-file" })
      })
      return { value: Redacted.make(yield* checked(file, raw)), source: "file" as const }
    }
    const fromEnv = options.env?.KMM_TOKEN
    if (fromEnv !== undefined) return { value: Redacted.make(yield* checked("KMM_TOKEN", fromEnv)), source: "env" as const }
    return { value: Redacted.make(generate()), source: "generated" as const }
  })

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest()

/**
 * Whether `given` is the token, in time that does not depend on where they differ.
 *
 * @since 0.1.0
 */
export const matches = (token: Redacted.Redacted<string>, given: string): boolean =>
  timingSafeEqual(digest(Redacted.value(token)), digest(given))

/** The token in an `Authorization` header, if the header is a bearer one. */
const bearerOf = (header: string | undefined): string | undefined => {
  const m = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header)
  return m === null ? undefined : m[1]
}

/**
 * The middleware's implementation for a token.
 *
 * @since 0.1.0
 */
export const layer = (token: Redacted.Redacted<string>): Layer.Layer<Authorization> =>
  Layer.succeed(
    Authorization,
    Authorization.of({
      bearer: () =>
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
          const given = bearerOf(request.headers.authorization)
          if (given === undefined) {
            return Effect.fail(new Unauthorized({ message: "this request changes the daemon: send the server's token as `Authorization: Bearer TOKEN`" }))
          }
          return matches(token, given) ? Effect.void : Effect.fail(new Unauthorized({ message: "the bearer token is not the server's token" }))
        })
    })
  )
