/**
 * Finds installed kmm plug-in packages: every `node_modules` folder from a directory
 * up to the root is listed, and a package counts when its package.json keywords name
 * it a plug-in (`kmm-plugin`, `kmm-policy`, `kmm-backend`) or its name looks like one
 * (`kmm-policy-*`, `kmm-backend-*`). Each is imported and its descriptors checked.
 */
import * as Plugin from "@kmm/core/Plugin"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

/** A package that looks like a plug-in. */
export interface Found {
  readonly package: string
  readonly version: string
  /** The node_modules folder it was found in. */
  readonly where: string
}

/** A descriptor of a found package, or why it cannot be used. */
export interface Checked {
  readonly package: string
  readonly version: string
  readonly kind: string
  readonly name: string
  readonly coreRange: string
  /** "ok", or what is wrong. */
  readonly status: string
}

const KEYWORDS = new Set(["kmm-plugin", "kmm-policy", "kmm-backend"])
const NAME = /(^|\/)kmm-(policy|backend)-/

const readJson = (file: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>
  } catch {
    return undefined
  }
}

const packageDirs = (nodeModules: string): ReadonlyArray<string> => {
  const names = (dir: string) => {
    try {
      return fs.readdirSync(dir).filter((n) => !n.startsWith("."))
    } catch {
      return []
    }
  }
  return names(nodeModules).flatMap((n) => (n.startsWith("@") ? names(path.join(nodeModules, n)).map((m) => path.join(nodeModules, n, m)) : [path.join(nodeModules, n)]))
}

/** Plug-in packages installed where `from` folders (and their parents) can see them, nearest first, each name once. */
export const find = (from: ReadonlyArray<string>, exclude: ReadonlySet<string> = new Set()): ReadonlyArray<Found> => {
  const seen = new Set<string>()
  const found: Array<Found> = []
  for (const start of from) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      const nodeModules = path.join(dir, "node_modules")
      for (const pkgDir of packageDirs(nodeModules)) {
        const pkg = readJson(path.join(pkgDir, "package.json"))
        const name = typeof pkg?.name === "string" ? pkg.name : undefined
        if (name === undefined || seen.has(name) || exclude.has(name)) continue
        const keywords = Array.isArray(pkg?.keywords) ? (pkg.keywords as Array<unknown>) : []
        if (!keywords.some((k) => typeof k === "string" && KEYWORDS.has(k)) && !NAME.test(name)) continue
        seen.add(name)
        found.push({ package: name, version: typeof pkg?.version === "string" ? pkg.version : "?", where: nodeModules })
      }
      if (path.dirname(dir) === dir) break
    }
  }
  return found
}

/** Imports a found package and checks each descriptor it exports. */
export const check = async (found: Found): Promise<ReadonlyArray<Checked>> => {
  const base = { package: found.package, version: found.version }
  let mod: unknown
  try {
    const file = createRequire(path.join(path.dirname(found.where), "package.json")).resolve(found.package)
    mod = await import(pathToFileURL(file).href)
  } catch (e) {
    return [{ ...base, kind: "?", name: "?", coreRange: "?", status: `failed to load: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` }]
  }
  const m = mod as { descriptor?: unknown; descriptors?: unknown; default?: { descriptor?: unknown; descriptors?: unknown } }
  // A CommonJS module imported from ESM shows its exports twice (named and on `default`): count each descriptor once.
  const candidates = [
    ...new Set(
      [m, m.default].flatMap((x) =>
        x === undefined || x === null ? [] : [...(x.descriptor === undefined ? [] : [x.descriptor]), ...(Array.isArray(x.descriptors) ? (x.descriptors as Array<unknown>) : [])]
      )
    )
  ]
  if (candidates.length === 0) {
    const e = Plugin.validate(found.package, mod, "policy")
    return [{ ...base, kind: "?", name: "?", coreRange: "?", status: Either.isLeft(e) ? e.left.message : "no descriptor" }]
  }
  return candidates.map((c) => {
    const d = c as { kind?: unknown; name?: unknown; coreRange?: unknown }
    const kind = d?.kind === "backend" || d?.kind === "policy" ? d.kind : undefined
    const name = typeof d?.name === "string" ? d.name : "?"
    const checked = kind === undefined ? undefined : Plugin.validate(found.package, mod, kind, name)
    return {
      ...base,
      kind: kind ?? String(d?.kind),
      name,
      coreRange: typeof d?.coreRange === "string" ? d.coreRange : "?",
      status: checked === undefined ? `its descriptor has kind ${JSON.stringify(d?.kind)}, expected "backend" or "policy"` : Either.isLeft(checked) ? checked.left.message : "ok"
    }
  })
}
