/**
 * Runs the built `kmm` binary (dist/bin.js) as a subprocess. Build first: `npm run build`.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

/** The built binary. */
export const bin = path.resolve(__dirname, "../dist/bin.js")

if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` in apps/cli before the tests`)

/** What a run printed and how it ended. */
export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Options of `kmm`. */
export interface Options {
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  /** Called with each chunk of stdout, and the child (to signal it). */
  readonly onStdout?: (chunk: string, child: ReturnType<typeof spawn>) => void
}

/** Runs `kmm ARGS` to its end. Environment: the test's, without KMM_* and NO_COLOR, plus `env`. */
export const kmm = (args: ReadonlyArray<string>, options: Options = {}): Promise<Result> =>
  new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KMM_") && k !== "NO_COLOR"))
    const child = spawn(process.execPath, [bin, ...args], { cwd: options.cwd ?? os.tmpdir(), env: { ...env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      options.onStdout?.(chunk, child)
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, stdout, stderr }))
  })

/** Parses JSON lines. */
export const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** A fresh temporary folder. */
export const tempDir = (prefix: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `kmm-cli-${prefix}-`))

/** Installs a plug-in package into `dir/node_modules` (ESM; `effect` and `@kmm/core` linked from the workspace). */
export const installPlugin = (dir: string, name: string, files: { readonly [file: string]: string }, pkg: Record<string, unknown> = {}) => {
  const pkgDir = path.join(dir, "node_modules", ...name.split("/"))
  fs.mkdirSync(pkgDir, { recursive: true })
  fs.writeFileSync(path.join(pkgDir, "package.json"), JSON.stringify({ name, version: "1.0.0", type: "module", main: "index.js", keywords: ["kmm-policy"], ...pkg }))
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(pkgDir, file), text)
  const link = (target: string, at: string) => {
    if (fs.existsSync(at)) return
    fs.mkdirSync(path.dirname(at), { recursive: true })
    fs.symlinkSync(target, at)
  }
  const root = path.resolve(__dirname, "../../..")
  link(path.join(root, "node_modules", "effect"), path.join(dir, "node_modules", "effect"))
  link(path.join(root, "packages", "core"), path.join(dir, "node_modules", "@kmm", "core"))
}
