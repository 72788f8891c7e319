// Builds the move_pages addon (native/move_pages.c) with node-gyp. Runs as the package's
// install script: it never fails the install. Where the addon cannot be built (no C
// compiler, no Node headers, not Linux) it says why; the backend then reports migration
// as unavailable and everything else works. `--strict` (npm run build:addon) fails instead.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as path from "node:path"
import process from "node:process"
import { fileURLToPath } from "node:url"

const strict = process.argv.includes("--strict")
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const give = (reason) => {
  const text = `kmm: move_pages addon not built: ${reason}`
  if (strict) {
    console.error(text)
    process.exit(1)
  }
  console.warn(`${text}\nkmm: @kmm/backend-linux works without it, but cannot migrate pages (its capabilities say so).` +
    `\nkmm: to build it later: install a C compiler, make and python3, then run \`npm rebuild @kmm/backend-linux\`.`)
  process.exit(0)
}

if (process.platform !== "linux") give(`move_pages(2) is Linux only (this is ${process.platform})`)

// node-gyp: the one npm runs scripts with, else npm's own copy, else one on PATH.
const candidates = [
  process.env.npm_config_node_gyp,
  path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js")
].filter((p) => p !== undefined && p !== "" && existsSync(p))
const command = candidates.length > 0 ? [process.execPath, candidates[0]] : ["node-gyp"]

// Node's headers: next to this node when installed with them (distribution packages and
// the official tarballs have include/node), so nothing is downloaded.
// A nodedir the user configured wins; an empty one is dropped (node-gyp would then download).
const prefix = path.resolve(path.dirname(process.execPath), "..")
const env = { ...process.env }
if (env.npm_config_nodedir === "") delete env.npm_config_nodedir
const nodedir =
  env.npm_config_nodedir === undefined && existsSync(path.join(prefix, "include", "node", "node_api.h")) ? [`--nodedir=${prefix}`] : []

const result = spawnSync(command[0], [...command.slice(1), "rebuild", ...nodedir], { cwd: root, env, encoding: "utf8" })
if (result.error !== undefined) give(`${command.join(" ")} could not run (${result.error.message})`)
if (result.status !== 0) {
  const tail = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-12).join("\n")
  give(`node-gyp exited with ${result.status ?? result.signal}:\n${tail}`)
}
if (!existsSync(path.join(root, "build", "Release", "kmm_move_pages.node"))) give("node-gyp succeeded but build/Release/kmm_move_pages.node is missing")
console.log("kmm: move_pages addon built (build/Release/kmm_move_pages.node)")
