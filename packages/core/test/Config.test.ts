import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Config from "../src/Config.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmm-config-"))
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

describe("Config.load", () => {
  it.effect("loads YAML", () =>
    Effect.gen(function* () {
      const file = write("a.yaml", "backend: sim\npolicy:\n  name: hotness\n  options:\n    threshold: 3\ntunables:\n  scanSleepMs: 20\n  scanEnabled: false\n")
      const c = yield* Config.load(file)
      expect(c.backend).toBe("sim")
      expect(Config.pluginName(c.policy!)).toEqual({ name: "hotness", options: { threshold: 3 } })
      expect(c.tunables).toEqual({ scanSleepMs: 20, scanEnabled: false })
    })
  )

  it.effect("loads JSON", () =>
    Effect.gen(function* () {
      const file = write("a.json", JSON.stringify({ policy: "@acme/kmm-policy-foo", tunables: { migrateRateMBps: 100 } }))
      const c = yield* Config.load(file)
      expect(c.policy).toBe("@acme/kmm-policy-foo")
      expect(c.tunables?.migrateRateMBps).toBe(100)
    })
  )

  it.effect("an unknown key is refused, naming it and the closest known key", () =>
    Effect.gen(function* () {
      const file = write("b.yaml", "tunables:\n  scanSleepMS: 20\n")
      const e = yield* Effect.flip(Config.load(file))
      expect(e._tag).toBe("ConfigError")
      expect(e.file).toBe(file)
      expect(e.path).toBe("tunables.scanSleepMS")
      expect(e.message).toContain('did you mean "scanSleepMs"')
      const top = yield* Effect.flip(Config.load(write("c.yaml", "polcy: abit\n")))
      expect(top.path).toBe("polcy")
      expect(top.message).toContain('did you mean "policy"')
    })
  )

  it.effect("a wrong type names the key, the expected and the found value", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(Config.load(write("d.json", '{"tunables": {"scanSizeMB": "big"}}')))
      expect(e.path).toBe("tunables.scanSizeMB")
      expect(e.message).toContain("expected an integer from 256 to 4096")
      expect(e.message).toContain('"big"')
      const e2 = yield* Effect.flip(Config.load(write("e.yaml", "backend: 42\n")))
      expect(e2.path).toBe("backend")
      expect(e2.message).toContain("42")
    })
  )

  it.effect("malformed documents and missing files give clear errors", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(Config.load(write("f.json", "{ nope")))
      expect(e.message).toContain("not valid JSON")
      const y = yield* Effect.flip(Config.load(write("g.yaml", "a: [1, 2\n")))
      expect(y.message).toMatch(/not valid YAML \(line \d+/)
      const m = yield* Effect.flip(Config.load(path.join(dir, "missing.yaml")))
      expect(m.message).toContain("ENOENT")
      const l = yield* Effect.flip(Config.load(write("h.yaml", "- 1\n- 2\n")))
      expect(l.message).toContain("expected a mapping")
    })
  )

  it.effect("an empty file is an empty config", () =>
    Effect.gen(function* () {
      expect(yield* Config.load(write("empty.yaml", ""))).toEqual({})
    })
  )
})
