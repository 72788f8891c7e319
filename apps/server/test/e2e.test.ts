/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core. It
 * must be installed (`apt-get install -y chromium`; CI's `.ci/run` installs it): if it
 * is missing this test fails, it does not skip.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { BrowserContext, Page } from "playwright-core"
import { chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Running } from "./helpers.js"
import { call, start, TOKEN } from "./helpers.js"

const executablePath = process.env.KMM_CHROMIUM ?? "/usr/bin/chromium"
const outputDir = path.resolve(__dirname, "../test-output")

/** Polls until the assertion holds (the page and the server may be slow on a loaded machine). */
const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 20_000 })

/** The number shown in "N samples". */
const points = async (page: Page) => Number(await page.locator("#points").textContent())

describe("the dashboard in Chromium", () => {
  let server: Running
  let context: BrowserContext
  let page: Page
  let profile: string
  const problems: Array<string> = []

  beforeAll(async () => {
    if (!fs.existsSync(executablePath)) {
      throw new Error(
        `Chromium is not installed at ${executablePath}: install Debian's chromium (apt-get install -y chromium), or set KMM_CHROMIUM to its path. CI installs it in .ci/run.`
      )
    }
    server = await start()
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "kmm-chromium-"))
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      viewport: { width: 1400, height: 1300 },
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    })
    page = context.pages()[0] ?? (await context.newPage())
    // Script errors and content-security-policy violations show here.
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`))
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`)
    })
  }, 120_000)

  afterAll(async () => {
    await context?.close()
    await server?.close()
    if (profile) fs.rmSync(profile, { recursive: true, force: true })
  })

  it("loads, and its charts grow as samples come", async () => {
    await page.goto(`${server.url}/`)
    await poll(() => page.locator("#daemon-state").textContent()).toBe("running")
    await poll(() => page.locator("#stack").textContent()).toBe("backend sim, policy hotness")
    await poll(() => points(page)).toBeGreaterThanOrEqual(2)
    const before = await points(page)
    await poll(() => points(page)).toBeGreaterThanOrEqual(before + 3)
    // Four charts (occupancy, migrations, scanning, shares on the simulated backend), each a uPlot canvas.
    await poll(() => page.locator(".uplot canvas").count()).toBe(4)
    expect(await page.locator("#share-figure").isVisible()).toBe(true)
    // The legends name the simulated machine's nodes.
    const legend = await page.locator("#chart-occupancy .u-legend").textContent()
    expect(legend).toContain("DRAM (node 0, tier 0)")
    expect(legend).toContain("CXL (node 1, tier 1)")
    // The counters table follows the samples.
    await poll(async () => Number(((await page.locator("#counters td:text-is('pages_scanned') + td").textContent()) ?? "0").replace(/,/g, ""))).toBeGreaterThan(0)
    expect(await page.locator("#connection").textContent()).toBe("live")
  })

  it("applies a tunable through the form, as /api/tunables then shows", async () => {
    await page.locator("#token").fill(TOKEN)
    await page.locator("#knob-scanSleepMs").fill("40")
    await page.locator("#tunables-apply").click()
    await poll(() => page.locator("#tunables-message").textContent()).toBe("Applied: scanSleepMs = 40")
    expect((await call(server.url, "GET", "/api/tunables")).body.scanSleepMs).toBe(40)
    // A checkbox knob too.
    await page.locator("#knob-scanEnabled").uncheck()
    await page.locator("#tunables-apply").click()
    await poll(() => page.locator("#tunables-message").textContent()).toBe("Applied: scanEnabled = false")
    expect((await call(server.url, "GET", "/api/tunables")).body.scanEnabled).toBe(false)
  })

  it("shows a change made elsewhere", async () => {
    expect((await call(server.url, "PATCH", "/api/tunables", { body: { scanEnabled: true, migrateBatchPages: 300 }, token: TOKEN })).status).toBe(200)
    await poll(() => page.locator("#knob-migrateBatchPages").inputValue()).toBe("300")
    await poll(() => page.locator("#knob-scanEnabled").isChecked()).toBe(true)
  })

  it("shows the server's refusal of an invalid entry, and nothing changes", async () => {
    await page.locator("#knob-scanSleepMs").fill("9999999")
    await page.locator("#tunables-apply").click()
    const error = page.locator("#tunables-error")
    await poll(() => error.isVisible()).toBe(true)
    expect(await error.textContent()).toBe('invalid value 9999999 for tunable "scanSleepMs": expected an integer from 0 to 600000 (ms)')
    expect(await page.locator("#knob-scanSleepMs").getAttribute("aria-invalid")).toBe("true")
    expect((await call(server.url, "GET", "/api/tunables")).body.scanSleepMs).toBe(40)

    // Text where a number goes is refused the same way.
    await page.locator("#knob-scanSleepMs").fill("fast")
    await page.locator("#tunables-apply").click()
    await poll(() => error.textContent()).toBe('invalid value "fast" for tunable "scanSleepMs": expected an integer from 0 to 600000 (ms)')

    fs.mkdirSync(outputDir, { recursive: true })
    await page.screenshot({ path: path.join(outputDir, "dashboard.png"), fullPage: true })

    // Without the token the change is refused, and the page says what to do.
    await page.locator("#tunables-reset").click()
    await page.locator("#token").fill("")
    await page.locator("#knob-scanSleepMs").fill("45")
    await page.locator("#tunables-apply").click()
    await poll(() => error.textContent()).toMatch(/send the server's token .* \(enter the server's token in the Token field\)/)
    expect((await call(server.url, "GET", "/api/tunables")).body.scanSleepMs).toBe(40)
  })

  it("stops and starts the daemon from its buttons", async () => {
    await page.locator("#token").fill(TOKEN)
    await page.locator("#daemon-stop").click()
    await poll(() => page.locator("#daemon-state").textContent()).toBe("stopped")
    expect((await call(server.url, "GET", "/api/status")).body.daemon.state).toBe("stopped")
    await page.locator("#daemon-start").click()
    await poll(() => page.locator("#daemon-state").textContent()).toBe("running")
    expect((await call(server.url, "GET", "/api/status")).body.daemon.state).toBe("running")
  })

  it("had no script errors and no content-security-policy violations", () => {
    // The refusals above (400, 401) are logged by the browser as failed loads; nothing else may be.
    expect(problems.filter((p) => !/status of (400|401) /.test(p))).toEqual([])
    expect(problems.filter((p) => /status of 400 /.test(p))).toHaveLength(2)
  })
})
