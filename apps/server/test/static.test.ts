/**
 * The dashboard's files over HTTP: the page, its script and styles, and nothing else,
 * whatever the path says.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Running } from "./helpers.js"
import { rawGet, start } from "./helpers.js"

describe("the dashboard's files", () => {
  let server: Running
  beforeAll(async () => {
    server = await start()
  })
  afterAll(() => server.close())

  it("serves the page with a strict content security policy, and its assets", async () => {
    const page = await fetch(`${server.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8")
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/)
    expect(page.headers.get("x-content-type-options")).toBe("nosniff")
    const html = await page.text()
    expect(html).toContain('<script src="/assets/app.js"')
    // Nothing from another host.
    expect(html).not.toMatch(/https?:\/\//)
    const script = await fetch(`${server.url}/assets/app.js`)
    expect(script.status).toBe(200)
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8")
    const js = await script.text()
    // uPlot is bundled in.
    expect(js).toContain("uplot")
    expect(js).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/)
    const css = await fetch(`${server.url}/assets/app.css`)
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8")
    expect(await css.text()).toContain(".uplot")
    expect((await fetch(`${server.url}/assets/uPlot.LICENSE.txt`)).status).toBe(200)
    expect((await fetch(`${server.url}/index.html`)).status).toBe(200)
  })

  it("answers 404 to any path that is not one of its files, however it is written", async () => {
    const secret = fs.readFileSync(path.resolve(__dirname, "../package.json"), "utf8")
    const tricks = [
      "/assets/../package.json",
      "/assets/../../package.json",
      "/assets/%2e%2e/package.json",
      "/assets/%2e%2e/%2e%2e/package.json",
      "/assets/..%2fpackage.json",
      "/assets/..%2f..%2fpackage.json",
      "/assets/%2e%2e%2f%2e%2e%2fpackage.json",
      "/assets/%252e%252e%252fpackage.json",
      "/assets/..%5c..%5cpackage.json",
      "/assets/..\\..\\package.json",
      "/assets/app.js%00",
      "/assets/app.js/..",
      "/assets//etc/passwd",
      "/assets/%2fetc%2fpasswd",
      "/assets/index.js",
      "/assets/index.d.ts",
      "/assets/",
      "/../package.json",
      "/%2e%2e/package.json",
      "/assets/public/app.js",
      "/assets/.%2e/package.json"
    ]
    for (const trick of tricks) {
      const r = await rawGet(server.port, trick)
      expect([400, 404], trick).toContain(r.status)
      expect(r.body, trick).not.toContain('"name": "@kmm/server"')
      expect(r.body).not.toBe(secret)
      expect(r.body).not.toContain("root:")
    }
  })
})
