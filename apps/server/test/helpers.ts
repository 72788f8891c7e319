/**
 * Test helpers: a real server on an ephemeral port (the simulated backend's small
 * preset, in real time), HTTP calls, a server-sent-events reader and raw requests.
 */
import * as SimBackend from "@kmm/backend-sim"
import type * as Plugin from "@kmm/core/Plugin"
import * as Stack from "@kmm/core/Stack"
import * as Hotness from "@kmm/policy-hotness"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { Server } from "../src/index.js"
import type { Limits } from "../src/Limits.js"

/** The token the test servers use. */
export const TOKEN = "test-token-0123456789"

const publicDir = path.resolve(__dirname, "../dist/public")
if (!fs.existsSync(path.join(publicDir, "index.html"))) {
  throw new Error(`${publicDir} is missing: run \`npm run build\` in apps/server before the tests`)
}

/** A running server. */
export interface Running {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

/** Options of `start`. */
export interface StartOptions {
  readonly limits?: Partial<Limits>
  readonly set?: ReadonlyArray<string>
  readonly token?: string
  readonly startDaemon?: boolean
}

/**
 * Starts a server on 127.0.0.1 and a free port: the sim backend (small preset, a
 * result interval of 250 ms, so samples come four times a second), the hotness
 * policy, no initial delay.
 */
export const start = async (options: StartOptions = {}): Promise<Running> => {
  const stack = await Effect.runPromise(
    Stack.resolve(
      { backend: { name: "sim", options: { preset: "small", results: { intervalMs: 250 } } }, policy: "hotness" },
      {
        builtins: { backends: [SimBackend.descriptor as Plugin.BackendDescriptor], policies: [Hotness.descriptor as Plugin.PolicyDescriptor] },
        defaults: { backend: "sim", policy: "hotness" },
        set: ["initialDelayMs=0", ...(options.set ?? [])]
      }
    )
  )
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      Server.layer({
        stack,
        port: 0,
        token: options.token ?? TOKEN,
        env: {},
        ...(options.limits === undefined ? {} : { limits: options.limits }),
        ...(options.startDaemon === undefined ? {} : { startDaemon: options.startDaemon })
      }),
      scope
    )
  )
  const info = Context.get(context, Server.ServerInfo)
  return { url: info.url, port: info.port, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

/** A JSON call; `token` adds the bearer header. */
export const call = async (
  base: string,
  method: string,
  route: string,
  options: { readonly body?: unknown; readonly token?: string; readonly headers?: Record<string, string> } = {}
  // Bodies are JSON from the server, checked field by field by the assertions.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ readonly status: number; readonly body: any; readonly headers: Headers }> => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers["content-type"] ??= "application/json"
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const response = await fetch(base + route, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) })
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    body = text
  }
  return { status: response.status, body, headers: response.headers }
}

/** One server-sent event. */
export interface SseEvent {
  readonly id?: string
  readonly event: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly data: any
}

/** A subscription to `/api/events`: events in arrival order, and a way to wait for one. */
export interface Subscription {
  readonly events: Array<SseEvent>
  /** Resolves with the first event from index `from` that satisfies `p` (waits for it). */
  readonly next: (p: (e: SseEvent) => boolean, from?: number) => Promise<SseEvent & { readonly index: number }>
  /** Comments received (lines starting with ':'). */
  readonly comments: Array<string>
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>
  readonly close: () => void
}

/** Opens `/api/events` (with `?types=` if given) and parses what comes. */
export const subscribe = async (base: string, types?: string): Promise<Subscription> => {
  const controller = new AbortController()
  const response = await fetch(`${base}/api/events${types ? `?types=${types}` : ""}`, { signal: controller.signal })
  if (response.status !== 200 || response.body === null) throw new Error(`events: ${response.status} ${await response.text()}`)
  const events: Array<SseEvent> = []
  const comments: Array<string> = []
  const waiters = new Set<() => void>()
  const decoder = new TextDecoder()
  let buffer = ""
  const reader = response.body.getReader()
  const ended = (async () => {
    try {
      while (true) {
        const { done, value } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields: Record<string, string> = {}
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) comments.push(line.slice(1).trim())
            else if (line.includes(":")) fields[line.slice(0, line.indexOf(":"))] = line.slice(line.indexOf(":") + 1).trimStart()
          }
          if (fields.data !== undefined) events.push({ ...(fields.id ? { id: fields.id } : {}), event: fields.event ?? "message", data: JSON.parse(fields.data) })
          for (const w of waiters) w()
        }
      }
    } catch {
      // aborted
    } finally {
      for (const w of waiters) w()
    }
  })()
  let finished = false
  void ended.then(() => (finished = true))
  const next = (p: (e: SseEvent) => boolean, from = 0) =>
    new Promise<SseEvent & { index: number }>((resolve, reject) => {
      const check = () => {
        for (let i = from; i < events.length; i++) {
          if (p(events[i])) {
            waiters.delete(check)
            return resolve({ ...events[i], index: i })
          }
        }
        if (finished) {
          waiters.delete(check)
          reject(new Error("the event stream ended"))
        }
      }
      waiters.add(check)
      check()
    })
  return { events, comments, next, ended, close: () => controller.abort() }
}

/** A raw GET with the path sent exactly as given (no URL normalisation). */
export const rawGet = (port: number, rawPath: string): Promise<{ readonly status: number; readonly body: string }> =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: rawPath, method: "GET" }, (res) => {
      let body = ""
      res.setEncoding("utf8").on("data", (c: string) => (body += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on("error", reject)
    req.end()
  })

/** Waits for `ms` of real time (only to pace a poll loop, never as a condition). */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Polls `f` until it returns a value other than undefined. */
export const until = async <A>(f: () => Promise<A | undefined>, what: string, tries = 200): Promise<A> => {
  for (let i = 0; i < tries; i++) {
    const a = await f()
    if (a !== undefined) return a
    await pause(50)
  }
  throw new Error(`gave up waiting for ${what}`)
}
