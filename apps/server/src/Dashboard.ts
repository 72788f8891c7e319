/**
 * Dashboard: the page at `/` and its assets under `/assets/`, served by the server
 * itself (no CDN). The built dashboard (`dist/public`: the page, its script with uPlot
 * bundled in, the styles) is read into memory when the server starts; a request is
 * answered only if its path names one of those files exactly, so no request reaches
 * the file system. Paths with `..` segments, backslashes, NUL or encoded slashes are
 * refused before the lookup.
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/**
 * One file of the dashboard.
 *
 * @since 0.1.0
 */
export interface Asset {
  readonly body: Uint8Array
  readonly contentType: string
}

/**
 * The dashboard's files by URL path (`/assets/app.js`); `/` is the page.
 *
 * @since 0.1.0
 */
export type Manifest = ReadonlyMap<string, Asset>

/**
 * The dashboard's files are missing (the package was not built).
 *
 * @since 0.1.0
 */
export class AssetsMissing extends Data.TaggedError("AssetsMissing")<{ readonly dir: string }> {
  override get message(): string {
    return `the dashboard's files are missing from ${this.dir}; build the server first (npm run build in apps/server)`
  }
}

const types: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon"
}

/**
 * Where the built dashboard is: `public` next to the built module, or, when running
 * from the sources, the package's `dist/public`.
 *
 * @since 0.1.0
 */
export const defaultDir = (): string => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const next = path.join(here, "public")
  return fs.existsSync(path.join(next, "index.html")) ? next : path.resolve(here, "../dist/public")
}

/**
 * Reads the built dashboard into memory: `index.html` as `/`, every other file as
 * `/assets/NAME` (one level, no folders).
 *
 * @since 0.1.0
 */
export const load = (dir: string): Effect.Effect<Manifest, AssetsMissing> =>
  Effect.try({
    try: () => {
      const files = new Map<string, Asset>()
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isFile()) continue
        const ext = path.extname(entry.name)
        const contentType = types[ext]
        if (contentType === undefined) continue
        const body = fs.readFileSync(path.join(dir, entry.name))
        files.set(entry.name === "index.html" ? "/" : `/assets/${entry.name}`, { body, contentType })
      }
      if (!files.has("/")) throw new Error("no index.html")
      return files as Manifest
    },
    catch: () => new AssetsMissing({ dir })
  })

/**
 * The manifest key a request path names, or undefined if it names none safely. The
 * query is dropped; the path is decoded once; `..` and `.` segments, backslashes, NUL
 * and encoded `/` or `\` make it unsafe.
 *
 * @since 0.1.0
 */
export const resolvePath = (url: string): string | undefined => {
  const raw = url.split(/[?#]/, 1)[0] ?? ""
  if (!raw.startsWith("/")) return undefined
  if (/%2f|%5c|%00/i.test(raw) || raw.includes("\\") || raw.includes("\0")) return undefined
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch {
    return undefined
  }
  if (decoded.includes("\\") || decoded.includes("\0")) return undefined
  if (decoded.split("/").some((segment) => segment === ".." || segment === ".")) return undefined
  return decoded === "/index.html" ? "/" : decoded
}

/**
 * Content-Security-Policy of the page: its own script, styles and connections only.
 *
 * @since 0.1.0
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * Answers a request for a dashboard file: the file, or 404.
 *
 * @since 0.1.0
 */
export const serveAsset = (manifest: Manifest): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const key = resolvePath(request.url)
    const asset = key === undefined ? undefined : manifest.get(key)
    if (asset === undefined) return HttpServerResponse.unsafeJson({ _tag: "NotFound", message: "no such file" }, { status: 404 })
    return HttpServerResponse.uint8Array(asset.body, {
      contentType: asset.contentType,
      headers: {
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        ...(asset.contentType.startsWith("text/html") ? { "content-security-policy": contentSecurityPolicy } : {})
      }
    })
  })

/**
 * The dashboard's routes (`/`, `/index.html`, `/assets/*`) on the API's router.
 *
 * @since 0.1.0
 */
export const layer = (dir: string): Layer.Layer<never, AssetsMissing> =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function* () {
      const manifest = yield* load(dir)
      const handler = serveAsset(manifest)
      yield* router.get("/", handler)
      yield* router.get("/index.html", handler)
      yield* router.get("/assets/*", handler)
    })
  )
