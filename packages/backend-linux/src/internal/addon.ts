/** Finds and loads the move_pages addon (build/Release/kmm_move_pages.node). */
import { createRequire } from "node:module"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The addon's interface (native/move_pages.c). */
export interface Addon {
  readonly movePages: (
    pid: number,
    pages: Float64Array,
    pageShift: number,
    nodes: Int32Array | null,
    flags: number,
    status: Int32Array,
    count: number
  ) => Promise<number>
  readonly MPOL_MF_MOVE: number
  readonly MPOL_MF_MOVE_ALL: number
}

/** The addon, or why it is not there. */
export type Loaded = { readonly _tag: "Available"; readonly addon: Addon; readonly path: string } | { readonly _tag: "Missing"; readonly reason: string }

const FILE = path.join("build", "Release", "kmm_move_pages.node")

/** The package root: the nearest directory above this module that holds binding.gyp. */
const packageRoot = (): string | undefined => {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, "binding.gyp"))) return dir
    dir = path.dirname(dir)
  }
  return undefined
}

let loaded: Loaded | undefined

/** Loads the addon once; `KMM_MOVE_PAGES_ADDON` names another file to load (or "none" to pretend it is missing). */
export const load = (): Loaded => {
  if (loaded !== undefined) return loaded
  const override = process.env.KMM_MOVE_PAGES_ADDON
  if (override === "none") return (loaded = { _tag: "Missing", reason: "disabled by KMM_MOVE_PAGES_ADDON=none" })
  const root = packageRoot()
  const file = override !== undefined && override !== "" ? path.resolve(override) : root === undefined ? undefined : path.join(root, FILE)
  if (file === undefined || !fs.existsSync(file)) {
    return (loaded = {
      _tag: "Missing",
      reason:
        `the move_pages addon is not built (${file ?? FILE} does not exist); ` +
        "install a C compiler, make and python3 and run `npm rebuild @kmm/backend-linux` (the install log says why it was not built)"
    })
  }
  try {
    const addon = createRequire(import.meta.url)(file) as Addon
    if (typeof addon.movePages !== "function") return (loaded = { _tag: "Missing", reason: `${file} does not export movePages` })
    return (loaded = { _tag: "Available", addon, path: file })
  } catch (e) {
    return (loaded = { _tag: "Missing", reason: `the move_pages addon ${file} failed to load: ${e instanceof Error ? e.message : String(e)}` })
  }
}
