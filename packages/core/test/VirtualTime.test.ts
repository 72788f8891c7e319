import { describe, expect, it } from "vitest"
import { Clock, Effect, Exit, Layer, Queue } from "effect"
import { Backend } from "../src/Backend.js"
import * as Daemon from "../src/Daemon.js"
import * as TestBackend from "../src/TestBackend.js"
import * as TestPolicy from "../src/TestPolicy.js"
import * as Tunables from "../src/Tunables.js"
import * as VirtualTime from "../src/VirtualTime.js"

describe("VirtualTime", () => {
  it("jumps the clock from wake-up to wake-up", async () => {
    const vt = VirtualTime.make()
    const times: Array<number> = []
    const result = await vt.run(
      Effect.gen(function* () {
        for (let i = 0; i < 5; i++) {
          yield* Effect.sleep("1 second")
          times.push(yield* Clock.currentTimeMillis)
        }
        return "done"
      })
    )
    expect(times).toEqual([1000, 2000, 3000, 4000, 5000])
    expect(result._tag).toBe("Done")
    expect(Exit.isSuccess(result.exit) && result.exit.value).toBe("done")
    expect(vt.now()).toBe(5000)
  })

  it("interleaves fibers in time order", async () => {
    const vt = VirtualTime.make()
    const log: Array<string> = []
    await vt.run(
      Effect.gen(function* () {
        const q = yield* Queue.unbounded<number>()
        const a = Effect.forever(Effect.sleep("30 millis").pipe(Effect.zipRight(Clock.currentTimeMillis), Effect.tap((t) => Queue.offer(q, t))))
        const b = Effect.forever(
          Effect.gen(function* () {
            const t = yield* Queue.take(q)
            log.push(`b saw ${t} at ${yield* Clock.currentTimeMillis}`)
          })
        )
        yield* Effect.fork(a)
        yield* Effect.fork(b)
        yield* Effect.sleep("100 millis")
      })
    )
    expect(log).toEqual(["b saw 30 at 30", "b saw 60 at 60", "b saw 90 at 90"])
  })

  it("stops a run that does not end after the duration, running its finalizers", async () => {
    const vt = VirtualTime.make()
    let finalized = -1
    const result = await vt.run(
      Effect.forever(Effect.sleep("16 millis")).pipe(
        Effect.ensuring(Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => (finalized = t))))
      ),
      { durationMs: 60_000 }
    )
    expect(result._tag).toBe("Stopped")
    expect(result._tag === "Stopped" && result.reason).toBe("time-up")
    expect(finalized).toBe(60_000)
  })

  it("stops when aborted", async () => {
    const vt = VirtualTime.make()
    const ac = new AbortController()
    ac.abort()
    const result = await vt.run(Effect.never, { signal: ac.signal })
    expect(result._tag === "Stopped" && result.reason).toBe("aborted")
  })

  it("runs a daemon for ten simulated minutes, deterministically", async () => {
    const once = async () => {
      const tb = TestBackend.make({ targets: [{ id: 1, pages: 50_000, hot: [[0, 5_000]] }] })
      const vt = VirtualTime.make()
      const stack = Layer.mergeAll(Layer.succeed(Backend, tb.backend), TestPolicy.layerTest, Tunables.layer({ migrateRateMBps: 4 }))
      let counters: unknown
      await vt.run(
        Effect.scoped(
          Effect.gen(function* () {
            const d = yield* Daemon.make()
            yield* Effect.sleep("10 minutes")
            counters = yield* d.counters
          })
        ).pipe(Effect.provide(stack))
      )
      return { counters, now: vt.now(), hot: tb.nodeOf(1, 4999), cold: tb.nodeOf(1, 5000) }
    }
    const a = await once()
    const b = await once()
    expect(a.now).toBe(600_000)
    expect(a.hot).toBe(0)
    expect(a.cold).toBe(1)
    // The test policy may propose a page again before its first move is done; moving a
    // page to where it already is still reports its node, so migrated can exceed 5000.
    expect((a.counters as { migrated: number }).migrated).toBeGreaterThanOrEqual(5000)
    expect((a.counters as { scan_passes: number }).scan_passes).toBeGreaterThan(30_000)
    expect(b).toEqual(a)
  })
})
