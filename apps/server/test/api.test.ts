/**
 * The API against a real server on an ephemeral port, the simulated backend running
 * in real time. Every wait is on an event or a response, never on elapsed time.
 */
import * as net from "node:net"
import * as http from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Running, Subscription } from "./helpers.js"
import { call, start, subscribe, TOKEN, until } from "./helpers.js"
import * as Prometheus from "./prometheus.js"

describe("a running server", () => {
  let server: Running
  let url: string
  beforeAll(async () => {
    server = await start()
    url = server.url
  })
  afterAll(() => server.close())

  it("reports its status: daemon running, stack, counters that grow", async () => {
    const first = await call(url, "GET", "/api/status")
    expect(first.status).toBe(200)
    expect(first.body.daemon.state).toBe("running")
    expect(first.body.stack.backend).toEqual({ name: "sim", ref: "sim", source: "builtin" })
    expect(first.body.stack.policy).toEqual({ name: "hotness", ref: "hotness", source: "builtin" })
    const grown = await until(async () => {
      const s = await call(url, "GET", "/api/status")
      return s.body.counters.pages_scanned > first.body.counters.pages_scanned && s.body.counters.scan_passes > 0 ? s.body : undefined
    }, "the counters to grow")
    expect(grown.targets).toBe(1)
    expect(grown.uptimeMs).toBeGreaterThanOrEqual(0)
    const withShares = await until(async () => (await call(url, "GET", "/api/status")).body.sim, "the simulator's shares")
    expect(withShares.oracleShare).toBeGreaterThan(0.5)
    expect(withShares.topTierShare).toBeGreaterThanOrEqual(0)
  })

  it("reports the topology: two nodes, DRAM on the top tier", async () => {
    const { status, body } = await call(url, "GET", "/api/topology")
    expect(status).toBe(200)
    expect(body.pageSize).toBe(4096)
    expect(body.nodes.map((n: { label: string; tier: number }) => [n.label, n.tier])).toEqual([
      ["DRAM", 0],
      ["CXL", 1]
    ])
    expect(body.nodes[0].capacityPages).toBe((64 * 1024 * 1024) / 4096)
  })

  it("describes every knob", async () => {
    const { status, body } = await call(url, "GET", "/api/tunables/knobs")
    expect(status).toBe(200)
    const sleep = body.find((k: { name: string }) => k.name === "scanSleepMs")
    expect(sleep).toMatchObject({ min: 0, max: 600000, unit: "ms" })
  })

  it("round-trips the tunables: what GET returns, PATCH accepts, and the change is read back", async () => {
    const before = await call(url, "GET", "/api/tunables")
    expect(before.status).toBe(200)
    expect(before.body.initialDelayMs).toBe(0)
    const same = await call(url, "PATCH", "/api/tunables", { body: before.body, token: TOKEN })
    expect(same.status).toBe(200)
    expect(same.body).toEqual(before.body)
    const changed = await call(url, "PATCH", "/api/tunables", { body: { scanSleepMs: 25, migrateBatchPages: 256 }, token: TOKEN })
    expect(changed.status).toBe(200)
    expect(changed.body).toEqual({ ...before.body, scanSleepMs: 25, migrateBatchPages: 256 })
    expect((await call(url, "GET", "/api/tunables")).body).toEqual(changed.body)
  })

  it("refuses an invalid tunable with 400 naming the knob and its range, and changes nothing", async () => {
    const before = (await call(url, "GET", "/api/tunables")).body
    const cases: ReadonlyArray<[unknown, string, RegExp]> = [
      [{ scanSleepMs: 9_999_999 }, "scanSleepMs", /an integer from 0 to 600000 \(ms\)/],
      // All or nothing: the valid knob in the same patch is not applied either.
      [{ scanSleepMs: 40, scanSizeMB: 1 }, "scanSizeMB", /an integer from 256 to 4096 \(MiB\)/],
      [{ scanEnabled: "yes" }, "scanEnabled", /true or false/],
      [{ scanSleepMs: 1.5 }, "scanSleepMs", /an integer from 0 to 600000/],
      [{ scanSleepMz: 5 }, "scanSleepMz", /did you mean "scanSleepMs"/],
      [{ scanPeriodMinMs: 6000 }, "scanPeriodMinMs", /scanPeriodMinMs <= scanPeriodMaxMs/]
    ]
    for (const [patch, knob, expected] of cases) {
      const r = await call(url, "PATCH", "/api/tunables", { body: patch, token: TOKEN })
      expect(r.status, JSON.stringify(patch)).toBe(400)
      expect(r.body._tag).toBe("InvalidValue")
      expect(r.body.knob).toBe(knob)
      expect(r.body.message).toMatch(expected)
      expect(r.body.message).toContain(knob)
    }
    // Not an object at all: refused by the body's schema.
    for (const body of ["[1,2]", "null", "7"]) {
      const r = await call(url, "PATCH", "/api/tunables", { body, token: TOKEN })
      expect(r.status, body).toBe(400)
      expect(r.body.message).toMatch(/Expected TunablesPatch/)
    }
    expect((await call(url, "GET", "/api/tunables")).body).toEqual(before)
  })

  it("needs the token for every change: 401 without it or with a wrong one, and nothing changes", async () => {
    const before = (await call(url, "GET", "/api/tunables")).body
    const changes: ReadonlyArray<[string, string, unknown]> = [
      ["PATCH", "/api/tunables", { scanSleepMs: 77 }],
      ["POST", "/api/daemon/stop", undefined],
      ["POST", "/api/daemon/start", undefined],
      ["PUT", "/api/targets/1/scale", { scale: 0 }]
    ]
    for (const [method, route, body] of changes) {
      const none = await call(url, method, route, { body })
      expect(none.status, `${method} ${route} without a token`).toBe(401)
      expect(none.body._tag).toBe("Unauthorized")
      const wrong = await call(url, method, route, { body, token: "not-the-token" })
      expect(wrong.status, `${method} ${route} with a wrong token`).toBe(401)
      const prefix = await call(url, method, route, { body, token: TOKEN.slice(0, -1) })
      expect(prefix.status).toBe(401)
      const basic = await call(url, method, route, { body, headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` } })
      expect(basic.status).toBe(401)
      // The token itself after another scheme's name is not a bearer token either.
      const schemeless = await call(url, method, route, { body, headers: { authorization: `Token: ${TOKEN}` } })
      expect(schemeless.status).toBe(401)
    }
    expect((await call(url, "GET", "/api/tunables")).body).toEqual(before)
    expect((await call(url, "GET", "/api/status")).body.daemon.state).toBe("running")
    expect((await call(url, "GET", "/api/targets/1/scale")).body.scale).toBe(1)
    // GETs are open.
    for (const route of ["/api/status", "/api/topology", "/api/tunables", "/api/tunables/knobs", "/api/targets", "/api/samples", "/metrics", "/openapi.json", "/docs", "/"]) {
      expect((await call(url, "GET", route)).status, route).toBe(200)
    }
  })

  it("answers 413 to a body over the limit, declared or chunked, and 400 to malformed JSON", async () => {
    const big = JSON.stringify({ scanSleepMs: 20, padding: "x".repeat(70 * 1024) })
    const declared = await call(url, "PATCH", "/api/tunables", { body: big, token: TOKEN })
    expect(declared.status).toBe(413)
    expect(declared.body).toMatchObject({ _tag: "PayloadTooLarge", limitBytes: 65536 })

    // Chunked: no Content-Length, the limit is found while reading.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: server.port, method: "PATCH", path: "/api/tunables", headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` } },
        (res) => {
          let body = ""
          res.setEncoding("utf8").on("data", (c: string) => (body += c))
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        }
      )
      req.on("error", reject)
      for (let i = 0; i < 12; i++) req.write("x".repeat(8192))
      req.end()
    })
    expect(chunked.status).toBe(413)
    expect(JSON.parse(chunked.body)._tag).toBe("PayloadTooLarge")

    for (const bad of ['{"scanSleepMs": ', "{scanSleepMs: 20}", "[1,", '{"a":1}}']) {
      const r = await call(url, "PATCH", "/api/tunables", { body: bad, token: TOKEN })
      expect(r.status, bad).toBe(400)
      expect(r.body._tag).toBe("MalformedJson")
      expect(r.body.message).toMatch(/not valid JSON/)
    }
    const form = await call(url, "PATCH", "/api/tunables", { body: "scanSleepMs=20", token: TOKEN, headers: { "content-type": "application/x-www-form-urlencoded" } })
    expect(form.status).toBe(415)
    // The server still answers normally on the same port.
    expect((await call(url, "GET", "/api/status")).status).toBe(200)
    expect((await call(url, "GET", "/api/tunables")).body.scanSleepMs).not.toBe(20)
  })

  it("lists targets, and reads and sets a target's scale within 0..10", async () => {
    const targets = await call(url, "GET", "/api/targets")
    expect(targets.status).toBe(200)
    expect(targets.body).toEqual([expect.objectContaining({ id: 1, name: "gups", scale: 1 })])
    expect((await call(url, "GET", "/api/targets/1/scale")).body).toEqual({ target: 1, scale: 1 })
    const set = await call(url, "PUT", "/api/targets/1/scale", { body: { scale: 3 }, token: TOKEN })
    expect(set.status).toBe(200)
    expect(set.body).toEqual({ target: 1, scale: 3 })
    expect((await call(url, "GET", "/api/targets/1/scale")).body.scale).toBe(3)

    for (const scale of [11, -1, 2.5]) {
      const r = await call(url, "PUT", "/api/targets/1/scale", { body: { scale }, token: TOKEN })
      expect(r.status, String(scale)).toBe(400)
      expect(r.body._tag).toBe("InvalidValue")
      expect(r.body.message).toMatch(/an integer from 0 to 10/)
    }
    expect((await call(url, "PUT", "/api/targets/1/scale", { body: { scale: "high" }, token: TOKEN })).status).toBe(400)
    expect((await call(url, "PUT", "/api/targets/1/scale", { body: {}, token: TOKEN })).status).toBe(400)
    expect((await call(url, "GET", "/api/targets/1/scale")).body.scale).toBe(3)

    const unknown = await call(url, "GET", "/api/targets/99/scale")
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({ _tag: "TargetNotFound", target: 99 })
    expect((await call(url, "PUT", "/api/targets/99/scale", { body: { scale: 1 }, token: TOKEN })).status).toBe(404)
    expect((await call(url, "GET", "/api/targets/abc/scale")).status).toBe(400)
    expect((await call(url, "PUT", "/api/targets/1/scale", { body: { scale: 1 }, token: TOKEN })).status).toBe(200)
  })

  it("delivers scan passes, samples and tunable changes as server-sent events", async () => {
    const sub = await subscribe(url)
    try {
      const pass = await sub.next((e) => e.event === "ScanPass")
      expect(pass.data).toMatchObject({ _tag: "ScanPass" })
      expect(pass.data.scanned).toBeGreaterThanOrEqual(0)
      expect(Number(pass.id)).toBeGreaterThan(0)
      const sample = await sub.next((e) => e.event === "Sample")
      expect(sample.data.nodes).toHaveLength(2)
      expect(sample.data.oracleShare).toBeGreaterThan(0)
      const patched = await call(url, "PATCH", "/api/tunables", { body: { scanSleepMs: 18 }, token: TOKEN })
      expect(patched.status).toBe(200)
      const changed = await sub.next((e) => e.event === "TunablesChanged" && e.data.tunables.scanSleepMs === 18)
      expect(changed.data.tunables).toEqual(patched.body)
      // Ids grow.
      const ids = sub.events.map((e) => Number(e.id))
      expect(ids.every((id, i) => i === 0 || id > ids[i - 1])).toBe(true)
    } finally {
      sub.close()
    }
  })

  it("filters events by type", async () => {
    const sub = await subscribe(url, "Sample")
    try {
      await sub.next((e) => e.event === "Sample")
      await sub.next((e) => e.event === "Sample", sub.events.length)
      expect(new Set(sub.events.map((e) => e.event))).toEqual(new Set(["Sample"]))
    } finally {
      sub.close()
    }
  })

  it("applies a tunable change while running: scanEnabled=false stops the scan passes, true resumes them", async () => {
    const sub = await subscribe(url, "ScanPass,Sample,TunablesChanged")
    try {
      await sub.next((e) => e.event === "ScanPass")
      expect((await call(url, "PATCH", "/api/tunables", { body: { scanEnabled: false }, token: TOKEN })).status).toBe(200)
      const off = await sub.next((e) => e.event === "TunablesChanged" && e.data.tunables.scanEnabled === false)
      // Three samples later (three result intervals), at most the pass under way when the change came has ended.
      let at = off.index
      for (let i = 0; i < 3; i++) at = (await sub.next((e) => e.event === "Sample", at + 1)).index
      const passesWhileOff = sub.events.slice(off.index, at).filter((e) => e.event === "ScanPass")
      expect(passesWhileOff.length).toBeLessThanOrEqual(1)
      const scanned = (await call(url, "GET", "/api/status")).body.counters.pages_scanned
      await sub.next((e) => e.event === "Sample", at + 1)
      expect((await call(url, "GET", "/api/status")).body.counters.pages_scanned).toBe(scanned)

      expect((await call(url, "PATCH", "/api/tunables", { body: { scanEnabled: true }, token: TOKEN })).status).toBe(200)
      const on = await sub.next((e) => e.event === "TunablesChanged" && e.data.tunables.scanEnabled === true)
      await sub.next((e) => e.event === "ScanPass", on.index)
    } finally {
      sub.close()
    }
  })

  it("takes a target out with scale 0: the passes after it visit no target", async () => {
    const sub = await subscribe(url, "ScanPass,Sample,TargetScale")
    try {
      await sub.next((e) => e.event === "ScanPass" && e.data.targets === 1)
      expect((await call(url, "PUT", "/api/targets/1/scale", { body: { scale: 0 }, token: TOKEN })).status).toBe(200)
      const out = await sub.next((e) => e.event === "TargetScale" && e.data.scale === 0)
      // Skip the pass that may have been under way, then watch three samples' worth.
      const first = await sub.next((e) => e.event === "ScanPass", out.index + 1)
      let at = first.index
      for (let i = 0; i < 3; i++) at = (await sub.next((e) => e.event === "Sample", at + 1)).index
      const passes = sub.events.slice(first.index + 1, at).filter((e) => e.event === "ScanPass")
      expect(passes.length).toBeGreaterThan(0)
      expect(passes.every((e) => e.data.targets === 0 && e.data.scanned === 0)).toBe(true)
      expect((await call(url, "PUT", "/api/targets/1/scale", { body: { scale: 1 }, token: TOKEN })).status).toBe(200)
      const back = await sub.next((e) => e.event === "TargetScale" && e.data.scale === 1)
      await sub.next((e) => e.event === "ScanPass" && e.data.targets === 1, back.index)
    } finally {
      sub.close()
    }
  })

  it("serves /metrics in the Prometheus text format", async () => {
    await until(async () => ((await call(url, "GET", "/api/status")).body.counters.pages_scanned > 0 ? true : undefined), "a scan")
    const response = await fetch(`${url}/metrics`)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/)
    const families = Prometheus.parse(await response.text())
    for (const name of ["kmm_pages_scanned_total", "kmm_migrated_total", "kmm_migrate_failed_total", "kmm_scan_passes_total", "kmm_demoted_total"]) {
      expect(families.get(name)?.type, name).toBe("counter")
    }
    expect(Prometheus.value(families, "kmm_pages_scanned_total")).toBeGreaterThan(0)
    const used = families.get("kmm_node_used_bytes")
    expect(used?.type).toBe("gauge")
    expect(used?.samples.map((s) => s.labels)).toEqual([
      { node: "0", label: "DRAM", tier: "0" },
      { node: "1", label: "CXL", tier: "1" }
    ])
    expect(Prometheus.value(families, "kmm_node_capacity_bytes", { label: "DRAM" })).toBe(64 * 1024 * 1024)
    expect(Prometheus.value(families, "kmm_daemon_up")).toBe(1)
    expect(Prometheus.value(families, "kmm_targets")).toBe(1)
    expect(Prometheus.value(families, "kmm_tunable", { knob: "initialDelayMs" })).toBe(0)
    expect(Prometheus.value(families, "kmm_tunable", { knob: "scanEnabled" })).toBe(1)
    expect(families.get("kmm_sim_oracle_share")?.type).toBe("gauge")
    for (const f of families.values()) expect(f.help, f.name).toBeTruthy()
  })

  it("serves the OpenAPI document listing every endpoint, with the token on the changes", async () => {
    const { status, body } = await call(url, "GET", "/openapi.json")
    expect(status).toBe(200)
    expect(body.openapi).toMatch(/^3\./)
    const ops = Object.entries(body.paths as Record<string, Record<string, { security?: Array<unknown> }>>).flatMap(([p, methods]) =>
      Object.entries(methods).map(([m, op]) => [`${m.toUpperCase()} ${p}`, (op.security ?? []).length > 0] as const)
    )
    expect(Object.fromEntries(ops)).toEqual({
      "GET /api/status": false,
      "GET /api/topology": false,
      "GET /api/samples": false,
      "GET /api/tunables": false,
      "GET /api/tunables/knobs": false,
      "PATCH /api/tunables": true,
      "POST /api/daemon/start": true,
      "POST /api/daemon/stop": true,
      "GET /api/targets": false,
      "GET /api/targets/{id}/scale": false,
      "PUT /api/targets/{id}/scale": true,
      "GET /metrics": false,
      "GET /api/events": false
    })
    expect(body.components.securitySchemes).toBeDefined()
    const nowhere = await call(url, "GET", "/api/nowhere?x=1")
    expect(nowhere.status).toBe(404)
    expect(nowhere.body).toEqual({ _tag: "NotFound", message: "no route for GET /api/nowhere; see /openapi.json" })
    const patch = body.paths["/api/tunables"].patch
    expect(Object.keys(patch.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "413"]))
  })
})

describe("daemon stop and start", () => {
  let server: Running
  beforeAll(async () => {
    server = await start()
  })
  afterAll(() => server.close())

  it("stops the daemon's fibers (no pass, counters still), keeps scales and counters, and starts again", async () => {
    const { url } = server
    const sub = await subscribe(url, "ScanPass,Sample,DaemonState,TargetAppeared")
    try {
      await sub.next((e) => e.event === "ScanPass")
      const stop = await call(url, "POST", "/api/daemon/stop", { token: TOKEN })
      expect(stop.status).toBe(200)
      expect(stop.body.state).toBe("stopped")
      const stopped = await sub.next((e) => e.event === "DaemonState" && e.data.state === "stopped")
      const counters = (await call(url, "GET", "/api/status")).body.counters
      // Two samples later: no pass, no counter moved.
      let at = stopped.index
      for (let i = 0; i < 2; i++) at = (await sub.next((e) => e.event === "Sample", at + 1)).index
      expect(sub.events.slice(stopped.index).some((e) => e.event === "ScanPass")).toBe(false)
      const status = (await call(url, "GET", "/api/status")).body
      expect(status.daemon.state).toBe("stopped")
      expect(status.counters).toEqual(counters)
      expect(status.pendingPages).toBe(0)
      expect(Prometheus.value(Prometheus.parse(await (await fetch(`${url}/metrics`)).text()), "kmm_daemon_up")).toBe(0)
      // Stopping again changes nothing.
      expect((await call(url, "POST", "/api/daemon/stop", { token: TOKEN })).body.state).toBe("stopped")

      // A scale set while stopped is kept for the next run.
      expect((await call(url, "GET", "/api/targets")).body).toEqual([{ id: 1, name: "gups", pages: 32768, scale: 1 }])
      expect((await call(url, "PUT", "/api/targets/1/scale", { body: { scale: 4 }, token: TOKEN })).status).toBe(200)
      expect((await call(url, "PUT", "/api/targets/1/scale", { body: { scale: 12 }, token: TOKEN })).status).toBe(400)
      expect((await call(url, "GET", "/api/targets/1/scale")).body.scale).toBe(4)
      expect((await call(url, "GET", "/api/targets/7/scale")).status).toBe(404)

      const begin = await call(url, "POST", "/api/daemon/start", { token: TOKEN })
      expect(begin.status).toBe(200)
      expect(begin.body.state).toBe("running")
      const started = await sub.next((e) => e.event === "DaemonState" && e.data.state === "running")
      await sub.next((e) => e.event === "TargetAppeared", started.index)
      expect((await call(url, "GET", "/api/targets/1/scale")).body.scale).toBe(4)
      await sub.next((e) => e.event === "ScanPass" && e.data.scanned > 0, started.index)
      const after = (await call(url, "GET", "/api/status")).body.counters
      // Counters go on from where they were.
      expect(after.pages_scanned).toBeGreaterThan(counters.pages_scanned)
      for (const [name, v] of Object.entries(counters)) expect(after[name], name).toBeGreaterThanOrEqual(v as number)
      expect((await call(url, "POST", "/api/daemon/start", { token: TOKEN })).body.state).toBe("running")
    } finally {
      sub.close()
    }
  })
})

describe("limits", () => {
  it("bounds the event streams: the one past the limit gets 503, and a slot frees when a client leaves", async () => {
    const server = await start({ limits: { maxEventSubscribers: 2, keepAliveMs: 200 } })
    const subs: Array<Subscription> = []
    try {
      subs.push(await subscribe(server.url, "Sample"), await subscribe(server.url, "Sample"))
      await until(async () => ((await call(server.url, "GET", "/api/status")).body.eventSubscribers === 2 ? true : undefined), "two subscribers")
      const third = await call(server.url, "GET", "/api/events")
      expect(third.status).toBe(503)
      expect(third.body).toMatchObject({ _tag: "TooManySubscribers", limit: 2 })
      // Keep-alive comments arrive on an open stream.
      await until(async () => (subs[0].comments.includes("keep-alive") ? true : undefined), "a keep-alive comment")
      subs.shift()?.close()
      await until(async () => ((await call(server.url, "GET", "/api/status")).body.eventSubscribers === 1 ? true : undefined), "the slot to free")
      subs.push(await subscribe(server.url, "Sample"))
      await subs[1].next((e) => e.event === "Sample")
    } finally {
      for (const s of subs) s.close()
      await server.close()
    }
  })

  it("closes a connection whose headers do not arrive in time, and keeps serving others", async () => {
    const server = await start({ limits: { headersTimeoutMs: 500, requestTimeoutMs: 500, connectionsCheckingIntervalMs: 100 } })
    try {
      const socket = net.connect(server.port, "127.0.0.1")
      let received = ""
      socket.setEncoding("utf8").on("data", (c: string) => (received += c))
      const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()))
      await new Promise<void>((resolve) => socket.on("connect", () => resolve()))
      // Half a request, never finished.
      socket.write("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
      expect((await call(server.url, "GET", "/api/status")).status).toBe(200)
      await closed
      expect(received).toMatch(/^HTTP\/1\.1 408/)
    } finally {
      await server.close()
    }
  })

  it("closes open event streams when the server stops", async () => {
    const server = await start()
    const sub = await subscribe(server.url, "Sample")
    await sub.next((e) => e.event === "Sample")
    await server.close()
    await sub.ended
    await expect(fetch(`${server.url}/api/status`)).rejects.toThrow()
  })

  it("starts with the daemon stopped when asked, and binds loopback only", async () => {
    const server = await start({ startDaemon: false })
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`)
      const status = (await call(server.url, "GET", "/api/status")).body
      expect(status.daemon.state).toBe("stopped")
      expect(status.counters.pages_scanned).toBe(0)
    } finally {
      await server.close()
    }
  })
})
