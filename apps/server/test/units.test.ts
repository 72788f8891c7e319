/**
 * The pure parts: the metrics text, the dashboard's path check, the token, the SSE
 * encoding.
 */
import * as Counters from "@kmm/core/Counters"
import * as Tunables from "@kmm/core/Tunables"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { Auth, Dashboard, Events, Metrics } from "../src/index.js"
import * as Prometheus from "./prometheus.js"

describe("Metrics.render", () => {
  const snapshot: Metrics.Snapshot = {
    counters: { ...Counters.zero(), pages_scanned: 123, migrated: 7 },
    topology: {
      pageSize: 4096,
      nodes: [
        { id: 0, tier: 0, capacityPages: 100, freePages: 40, cpus: [0], distances: [10, 20], label: "DRAM" },
        { id: 1, tier: 1, capacityPages: 300, freePages: 300, cpus: [], distances: [20, 10], label: 'odd "label"\\ with\nnewline' }
      ]
    },
    up: true,
    pendingPages: 3,
    targets: 2,
    targetsOptedOut: 1,
    policyStateBytes: 4096,
    tunables: Tunables.defaults,
    sim: { topTierShare: NaN, oracleShare: 0.99 },
    eventSubscribers: 0,
    uptimeSeconds: 1.5
  }

  it("writes every counter and per-node gauges that a strict parser reads back", () => {
    const families = Prometheus.parse(Metrics.render(snapshot))
    for (const name of Counters.names) expect(families.get(`kmm_${name}_total`)?.type).toBe("counter")
    expect(Prometheus.value(families, "kmm_pages_scanned_total")).toBe(123)
    expect(Prometheus.value(families, "kmm_node_used_bytes", { node: "0" })).toBe(60 * 4096)
    expect(Prometheus.value(families, "kmm_node_free_bytes", { node: "1" })).toBe(300 * 4096)
    // Label values come back as they were, escapes and all.
    expect(families.get("kmm_node_capacity_bytes")?.samples[1].labels.label).toBe('odd "label"\\ with\nnewline')
    expect(Prometheus.value(families, "kmm_sim_top_tier_share")).toBeNaN()
    expect(Prometheus.value(families, "kmm_tunable", { knob: "scanEnabled" })).toBe(1)
    expect(families.get("kmm_tunable")?.samples).toHaveLength(Tunables.knobs.length)
  })

  it("leaves out the simulator's gauges and the nodes when there are none", () => {
    const families = Prometheus.parse(Metrics.render({ ...snapshot, sim: undefined, topology: undefined }))
    expect(families.has("kmm_sim_top_tier_share")).toBe(false)
    expect(families.has("kmm_node_used_bytes")).toBe(false)
  })

  it("the test's parser refuses what the format does not allow", () => {
    const bad = [
      "kmm_x 1",
      "kmm x 1\n",
      'kmm_x{a="b} 1\n',
      'kmm_x{a="\\t"} 1\n',
      "kmm_x one\n",
      "# TYPE kmm_x counter\nkmm_x -1\n",
      "kmm_x 1\nkmm_y 1\nkmm_x{a=\"b\"} 2\n",
      "kmm_x 1\nkmm_x 2\n",
      "kmm_x 1\n# TYPE kmm_x gauge\n",
      "# TYPE kmm_x speed\n"
    ]
    for (const text of bad) expect(() => Prometheus.parse(text), JSON.stringify(text)).toThrow()
  })
})

describe("Dashboard.resolvePath", () => {
  it("names the page and its assets", () => {
    expect(Dashboard.resolvePath("/")).toBe("/")
    expect(Dashboard.resolvePath("/index.html")).toBe("/")
    expect(Dashboard.resolvePath("/assets/app.js?v=1")).toBe("/assets/app.js")
  })

  it("refuses dot segments, encoded slashes and backslashes, NUL and bad escapes", () => {
    for (const p of [
      "/assets/../package.json",
      "/assets/%2e%2e/package.json",
      "/assets/%2E%2E/%2E%2E/package.json",
      "/assets/..%2fpackage.json",
      "/assets/%2e%2e%2fpackage.json",
      "/assets/..%5cpackage.json",
      "/assets/..\\package.json",
      "/assets/app.js%00.png",
      "/assets/./app.js",
      "/assets/%",
      "assets/app.js"
    ]) {
      expect(Dashboard.resolvePath(p), p).toBeUndefined()
    }
  })
})

describe("Auth", () => {
  it("matches the token exactly, whatever the lengths", () => {
    const token = Redacted.make("s3cret-token")
    expect(Auth.matches(token, "s3cret-token")).toBe(true)
    for (const given of ["", "s3cret-toke", "s3cret-token ", "S3CRET-TOKEN", "x".repeat(1000)]) expect(Auth.matches(token, given)).toBe(false)
  })

  it("takes the token from the option, then the file, then KMM_TOKEN, else generates one", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kmm-server-token-"))
    const file = path.join(dir, "token")
    fs.writeFileSync(file, "from-file\n")
    const run = (o: Auth.TokenOptions) => Effect.runPromise(Auth.resolve(o))
    const option = await run({ token: "from-option", tokenFile: file, env: { KMM_TOKEN: "from-env" } })
    expect([Redacted.value(option.value), option.source]).toEqual(["from-option", "option"])
    const fromFile = await run({ tokenFile: file, env: { KMM_TOKEN: "from-env" } })
    expect([Redacted.value(fromFile.value), fromFile.source]).toEqual(["from-file", "file"])
    const fromEnv = await run({ env: { KMM_TOKEN: "from-env" } })
    expect([Redacted.value(fromEnv.value), fromEnv.source]).toEqual(["from-env", "env"])
    const a = await run({ env: {} })
    const b = await run({ env: {} })
    expect(a.source).toBe("generated")
    expect(Redacted.value(a.value)).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(Redacted.value(a.value)).not.toBe(Redacted.value(b.value))
    // The token does not show in logs or JSON.
    expect(String(a.value)).not.toContain(Redacted.value(a.value))
    expect(JSON.stringify(a)).not.toContain(Redacted.value(a.value))
  })

  it("refuses an empty token or a missing token file", async () => {
    await expect(Effect.runPromise(Auth.resolve({ env: { KMM_TOKEN: " " } }))).rejects.toThrow(/KMM_TOKEN: it is empty/)
    await expect(Effect.runPromise(Auth.resolve({ tokenFile: "/nonexistent/kmm-token" }))).rejects.toThrow(/nonexistent/)
  })
})

describe("Events", () => {
  it("encodes an event as one SSE block", () => {
    const text = Events.encode({ id: 7, event: { _tag: "TargetScale", time: 1, target: 2, scale: 0 } })
    expect(text).toBe('id: 7\nevent: TargetScale\ndata: {"_tag":"TargetScale","time":1,"target":2,"scale":0}\n\n')
  })

  it("reads the types filter", () => {
    expect(Events.parseTypes(undefined)).toBeUndefined()
    expect(Events.parseTypes(" , ")).toBeUndefined()
    expect(Events.parseTypes("Sample, ScanPass")).toEqual(new Set(["Sample", "ScanPass"]))
  })
})
