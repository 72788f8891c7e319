/**
 * Real processes for the tests: a small C program (fixtures/toucher.c), compiled once
 * per run, that maps a region, touches a known set of its pages, prints where the
 * region is, and obeys commands (write, read, hot, hotread, stop, exit). Waits are on its
 * output, never on sleeps.
 */
import type { ChildProcess } from "node:child_process"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

const here = path.dirname(fileURLToPath(import.meta.url))

/** A temporary directory every user may read and enter (children may run as nobody). */
export const sharedTempDir = (prefix: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  fs.chmodSync(dir, 0o755)
  return dir
}

/** Why the toucher cannot be built here, or undefined. */
export const noCompiler: string | undefined = (() => {
  try {
    execFileSync("cc", ["--version"], { stdio: "ignore" })
    return undefined
  } catch {
    return "no C compiler (cc) to build the test process"
  }
})()

let binary: string | undefined

/** Compiles the toucher once; returns its path. */
export const toucherPath = (): string => {
  if (binary !== undefined) return binary
  const dir = sharedTempDir("kmm-toucher-")
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }))
  const out = path.join(dir, "toucher")
  execFileSync("cc", ["-O2", "-pthread", "-o", out, path.join(here, "fixtures", "toucher.c")])
  fs.chmodSync(out, 0o755)
  binary = out
  return out
}

/** A running toucher. */
export interface Toucher {
  readonly pid: number
  /** First virtual page number of its region. */
  readonly start: number
  readonly pages: number
  readonly pageSize: number
  readonly process: ChildProcess
  /** Sends a command and waits for its "ok". */
  readonly command: (line: string) => Promise<void>
  /** Kills it (SIGKILL) and waits until it has exited and been reaped. */
  readonly kill: () => Promise<void>
}

/** Options of `spawnToucher`. */
export interface ToucherOptions {
  readonly huge?: boolean
  /** Run as this user and group (e.g. 65534, nobody). */
  readonly uid?: number
  readonly gid?: number
}

/** Starts a toucher of `pages` pages touched by `pattern`, and waits until it is ready. */
export const spawnToucher = (pages: number, pattern: "all" | "none" | "even" | "mod3" | "half", options: ToucherOptions = {}): Promise<Toucher> =>
  new Promise((resolve, reject) => {
    const child = spawn(toucherPath(), [String(pages), pattern, ...(options.huge ? ["huge"] : [])], {
      stdio: ["pipe", "pipe", "inherit"],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {})
    })
    const waiters: Array<(line: string) => void> = []
    let buffered = ""
    let exited = false
    const exit = new Promise<void>((done) =>
      child.on("exit", () => {
        exited = true
        done()
      })
    )
    child.stdout!.setEncoding("utf8")
    child.stdout!.on("data", (data: string) => {
      buffered += data
      let nl: number
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        waiters.shift()?.(line)
      }
    })
    const nextLine = () => new Promise<string>((done) => waiters.push(done))
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      for (const w of waiters.splice(0)) w(`exited ${code ?? signal}`)
    })
    nextLine().then((line) => {
      const m = /^ready ([0-9a-f]+) (\d+) (\d+)$/.exec(line)
      if (m === null) return reject(new Error(`toucher did not start: ${line}`))
      const pageSize = Number(m[3])
      resolve({
        pid: child.pid!,
        start: Number(BigInt(`0x${m[1]}`) / BigInt(pageSize)),
        pages: Number(m[2]),
        pageSize,
        process: child,
        command: async (cmd) => {
          const answer = nextLine()
          child.stdin!.write(`${cmd}\n`)
          const line = await answer
          if (line !== "ok") throw new Error(`toucher answered "${line}" to "${cmd}"`)
        },
        kill: async () => {
          if (!exited) child.kill("SIGKILL")
          await exit
        }
      })
    }, reject)
  })

/** A toucher that lives as long as the current scope. */
export const toucher = (
  pages: number,
  pattern: "all" | "none" | "even" | "mod3" | "half",
  options: ToucherOptions = {}
): Effect.Effect<Toucher, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.promise(() => spawnToucher(pages, pattern, options)), (t) => Effect.promise(() => t.kill()))

/** Whether page i of a region touched by `pattern` was touched. */
export const touched = (pattern: "all" | "none" | "even" | "mod3" | "half", i: number, pages: number): boolean =>
  pattern === "all" || (pattern === "even" && i % 2 === 0) || (pattern === "mod3" && i % 3 !== 2) || (pattern === "half" && i < pages / 2)

/** Waits until `check` holds, polling every `everyMs` (for kernel state that settles asynchronously), up to `timeoutMs`. */
export const eventually = <A>(check: () => Effect.Effect<A | undefined, unknown>, what: string, timeoutMs = 30_000, everyMs = 100): Effect.Effect<A, Error> =>
  Effect.gen(function* () {
    const until = Date.now() + timeoutMs
    while (true) {
      const a = yield* check().pipe(Effect.orElseSucceed(() => undefined))
      if (a !== undefined) return a
      if (Date.now() > until) return yield* Effect.fail(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep(everyMs)
    }
  })
