/**
 * Runs bench cells in parallel over the cores: a pool of worker threads, each running
 * one cell at a time in its own virtual time, fed from a shared queue.
 */
import * as os from "node:os"
import { Worker } from "node:worker_threads"
import type * as Cell from "./Cell.js"

/** A cell sent to a worker. */
export interface Request {
  readonly id: number
  readonly spec: Cell.Spec
}

/** What a worker sends back. */
export type Response =
  | { readonly id: number; readonly ok: true; readonly result: Cell.Result }
  | { readonly id: number; readonly ok: false; readonly error: { readonly tag: string; readonly message: string } }

/** A cell that failed, with the tag of its error (so the exit code follows it). */
export class CellFailed extends Error {
  readonly _tag: string
  constructor(tag: string, message: string) {
    super(message)
    this._tag = tag
  }
}

/** Worker threads by default: one per core. */
export const defaultJobs = (): number => Math.max(1, os.availableParallelism())

/** The worker's script, next to this module in the build (dist/bench-worker.js). */
const workerUrl = new URL("./bench-worker.js", import.meta.url)

/**
 * Runs every cell on `jobs` workers; `onDone` is called as each finishes (index, result).
 * The first failure stops the pool and rejects with a `CellFailed`.
 */
export const run = (specs: ReadonlyArray<Cell.Spec>, jobs: number, onDone: (index: number, result: Cell.Result) => void): Promise<ReadonlyArray<Cell.Result>> =>
  new Promise((resolve, reject) => {
    const results: Array<Cell.Result | undefined> = new Array(specs.length)
    const workers: Array<Worker> = []
    let next = 0
    let done = 0
    let failed = false
    const stopAll = () => Promise.all(workers.map((w) => w.terminate()))
    const feed = (w: Worker) => {
      if (next >= specs.length) return
      const id = next++
      w.postMessage({ id, spec: specs[id] } satisfies Request)
    }
    const fail = (error: Error) => {
      if (failed) return
      failed = true
      void stopAll().then(() => reject(error))
    }
    if (specs.length === 0) return resolve([])
    for (let k = 0; k < Math.min(jobs, specs.length); k++) {
      const w = new Worker(workerUrl)
      workers.push(w)
      w.on("message", (r: Response) => {
        if (failed) return
        if (!r.ok) return fail(new CellFailed(r.error.tag, r.error.message))
        results[r.id] = r.result
        done++
        onDone(r.id, r.result)
        if (done === specs.length) {
          void stopAll().then(() => resolve(results as Array<Cell.Result>))
        } else feed(w)
      })
      w.on("error", (e) => fail(new CellFailed("RunFailed", `a bench worker crashed: ${e.message}`)))
      w.on("exit", (code) => {
        if (!failed && done < specs.length && code !== 0) fail(new CellFailed("RunFailed", `a bench worker exited with code ${code}`))
      })
      feed(w)
    }
  })
