import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Trace from "../src/Trace.js"

const refused = (text: string) => {
  const r = Trace.parse(text, "t.trace")
  if (Either.isRight(r)) throw new Error("expected the trace to be refused")
  return r.left
}

describe("Trace.parse", () => {
  it("reads events, skipping comments and blank lines, with commas or spaces", () => {
    const t = Either.getOrThrow(Trace.parse("# kmm-sim trace v1\n\n0 1 0 3\n0.5,1,17,1\r\n  12\t2  4096 8  \n"))
    expect(t.count).toBe(3)
    expect(Array.from(t.time)).toEqual([0, 0.5, 12])
    expect(Array.from(t.task)).toEqual([1, 1, 2])
    expect(Array.from(t.page)).toEqual([0, 17, 4096])
    expect(Array.from(t.accesses)).toEqual([3, 1, 8])
    expect(Array.from(t.line)).toEqual([3, 4, 5])
    expect(t.spanMs).toBe(13)
  })

  it("round-trips through format", () => {
    const events = Array.from({ length: 3000 }, (_, i) => ({ timeMs: i / 4, task: i % 3, page: i * 7, count: 1 + (i % 5) }))
    const t = Either.getOrThrow(Trace.parse(Trace.format(events)))
    expect(t.count).toBe(3000)
    expect(t.page[2999]).toBe(2999 * 7)
    expect(t.accesses[4]).toBe(5)
    const one = Trace.forTask(t, 2)
    expect(one.count).toBe(1000)
    expect(one.page[0]).toBe(14)
  })

  it("refuses malformed lines with their line number", () => {
    expect(refused("0 1 0 1\n1 1 2\n")).toMatchObject({ line: 2 })
    expect(refused("0 1 0 1\n1 1 2\n").message).toContain("line 2: expected 4 fields")
    expect(refused("# c\nabc 1 0 1")).toMatchObject({ line: 2, reason: expect.stringContaining("time_ms") })
    expect(refused("5 1 0 1\n4 1 0 1")).toMatchObject({ line: 2, reason: expect.stringContaining("time order") })
    expect(refused("0 -1 0 1")).toMatchObject({ line: 1, reason: expect.stringContaining("task") })
    expect(refused("0 1 1.5 1")).toMatchObject({ line: 1, reason: expect.stringContaining("page") })
    expect(refused("0 1 0 0")).toMatchObject({ line: 1, reason: expect.stringContaining("count") })
    expect(refused("\n\n0 1 0 1\n0 1 0 x\n")).toMatchObject({ line: 4 })
    expect(refused("# only comments\n")).toMatchObject({ line: 0, reason: expect.stringContaining("no events") })
  })
})

describe("Trace.load", () => {
  it.effect("reads a file, and names a missing one", () =>
    Effect.gen(function* () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmm-trace-"))
      const file = path.join(dir, "a.trace")
      fs.writeFileSync(file, "0 1 0 1\n1 1 1 2\n")
      const t = yield* Trace.load(file)
      expect(t.count).toBe(2)
      expect(t.source).toBe(file)
      const missing = yield* Effect.flip(Trace.load(path.join(dir, "none.trace")))
      expect(missing.message).toContain("ENOENT")
      fs.writeFileSync(file, "0 1 0 1\nbad\n")
      const bad = yield* Effect.flip(Trace.load(file))
      expect(bad.message).toBe(`trace ${file}, line 2: expected 4 fields (time_ms task page count), found 1: "bad"`)
      fs.rmSync(dir, { recursive: true })
    })
  )
})
