/**
 * A bench worker thread: runs the cells it is sent, one at a time, and posts each
 * result back (or the error, as its tag and message).
 */
import { parentPort } from "node:worker_threads"
import * as Cell from "./Cell.js"
import type * as Pool from "./Pool.js"

const port = parentPort
if (port === null) throw new Error("bench-worker runs as a worker thread of `kmm bench`")

port.on("message", (message: Pool.Request) => {
  Cell.run(message.spec).then(
    (result) => port.postMessage({ id: message.id, ok: true, result } satisfies Pool.Response),
    (error: unknown) => {
      const e = error as { _tag?: unknown; message?: unknown }
      port.postMessage({
        id: message.id,
        ok: false,
        error: { tag: typeof e?._tag === "string" ? e._tag : "RunFailed", message: typeof e?.message === "string" ? e.message : String(error) }
      } satisfies Pool.Response)
    }
  )
})
