/**
 * `kmm serve`: the built binary serves the stack its flags compose, prints where it
 * listens (and a generated token once), takes changes with the token, and stops
 * cleanly on Ctrl-C even with an event stream open.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { kmm, tempDir } from "./kmm.js"

/** The URL in "kmm serve: listening on URL/ ...". */
const urlOf = (stdout: string): string | undefined => /listening on (http:\/\/[^/\s]+)\//.exec(stdout)?.[1]

/** A JSON answer (checked field by field by the assertions). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (response: Response | Promise<Response>): Promise<any> => (await response).json()

/**
 * Runs `checks` against a started server; if they fail, the server is killed (so the
 * test ends) and the failure is kept for the test to report.
 */
const against = (child: { kill: (signal: NodeJS.Signals) => boolean }, checks: () => Promise<void>): Promise<void> => {
  const run = checks().catch((e: unknown) => {
    child.kill("SIGKILL")
    throw e
  })
  run.catch(() => undefined)
  return run
}

describe("kmm serve", () => {
  it("serves the composed stack on a free port, and stops cleanly on Ctrl-C with an event stream open", async () => {
    const seen: { url?: string; checks?: Promise<void> } = {}
    const result = await kmm(["serve", "--port", "0", "--preset", "small", "--policy", "abit", "--set", "scanSleepMs=20"], {
      onStdout: (_chunk, child) => {
        if (seen.url !== undefined) return
        const url = urlOf(_chunk)
        if (url === undefined) return
        seen.url = url
        seen.checks = against(child, async () => {
          const status = await json(fetch(`${url}/api/status`))
          expect(status.daemon.state).toBe("running")
          expect(status.stack.policy.ref).toBe("abit")
          expect(status.stack.backend.ref).toBe("sim")
          expect((await json(fetch(`${url}/api/tunables`))).scanSleepMs).toBe(20)
          const topology = await json(fetch(`${url}/api/topology`))
          expect(topology.nodes).toHaveLength(2)
          // A change without the token is refused.
          const refused = await fetch(`${url}/api/tunables`, { method: "PATCH", headers: { "content-type": "application/json" }, body: '{"scanSleepMs":30}' })
          expect(refused.status).toBe(401)
          // An open event stream must not hold the stop.
          const events = await fetch(`${url}/api/events`)
          const reader = events.body!.getReader()
          await reader.read()
          child.kill("SIGINT")
          // The stream ends when the server stops.
          while (!(await reader.read()).done) {
            /* drain */
          }
        })
      }
    })
    await seen.checks
    expect(result.code).toBe(0)
    expect(seen.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(result.stdout).toContain(`dashboard ${seen.url}/`)
    // The generated token is printed once, on stderr; then the stop.
    const tokens = result.stderr.match(/token for changes \(generated for this run[^)]*\): (\S+)/g) ?? []
    expect(tokens).toHaveLength(1)
    expect(result.stdout).not.toMatch(/token for changes/)
    expect(result.stderr).toMatch(/kmm serve: stopped\n$/)
  })

  it("takes its token from KMM_TOKEN (not printed) and applies a change made with it", async () => {
    const token = "cli-test-token-42"
    const seen: { checks?: Promise<void> } = {}
    const result = await kmm(["serve", "--port", "0", "--preset", "small"], {
      env: { KMM_TOKEN: token },
      onStdout: (chunk, child) => {
        const url = urlOf(chunk)
        if (url === undefined || seen.checks !== undefined) return
        seen.checks = against(child, async () => {
          const patch = (auth: string) =>
            fetch(`${url}/api/tunables`, { method: "PATCH", headers: { "content-type": "application/json", authorization: auth }, body: '{"scanSleepMs":33}' })
          expect((await patch("Bearer wrong")).status).toBe(401)
          const ok = await patch(`Bearer ${token}`)
          expect(ok.status).toBe(200)
          expect((await json(ok)).scanSleepMs).toBe(33)
          child.kill("SIGTERM")
        })
      }
    })
    await seen.checks
    expect(result.code).toBe(0)
    expect(result.stderr).not.toContain(token)
    expect(result.stderr).not.toMatch(/token for changes/)
  })

  it("reads the token from --token-file, and the stack from --config", async () => {
    const dir = tempDir("serve")
    fs.writeFileSync(path.join(dir, "token"), "from-a-file\n")
    fs.writeFileSync(path.join(dir, "kmm.yaml"), "backend:\n  name: sim\n  options: { preset: small }\npolicy: static\ntunables:\n  scanSleepMs: 44\n")
    const seen: { checks?: Promise<void> } = {}
    const result = await kmm(["serve", "--port", "0", "--config", "kmm.yaml", "--token-file", "token"], {
      cwd: dir,
      onStdout: (chunk, child) => {
        const url = urlOf(chunk)
        if (url === undefined || seen.checks !== undefined) return
        seen.checks = against(child, async () => {
          expect((await json(fetch(`${url}/api/status`))).stack.policy.ref).toBe("static")
          expect((await json(fetch(`${url}/api/tunables`))).scanSleepMs).toBe(44)
          const stop = await fetch(`${url}/api/daemon/stop`, { method: "POST", headers: { authorization: "Bearer from-a-file" } })
          expect((await json(stop)).state).toBe("stopped")
          child.kill("SIGINT")
        })
      }
    })
    await seen.checks
    expect(result.code).toBe(0)
    expect(result.stderr).not.toMatch(/token for changes/)
  })

  it("refuses a bad port, a taken port and a bad tunable with one line each", async () => {
    const badPort = await kmm(["serve", "--port", "70000"])
    expect(badPort.code).toBe(2)
    expect(badPort.stderr).toMatch(/^kmm: --port: 70000 is not a port/)

    const badKnob = await kmm(["serve", "--port", "0", "--set", "scanSleepMs=-1"])
    expect(badKnob.code).toBe(2)
    expect(badKnob.stderr).toMatch(/scanSleepMs.*0 to 600000/)

    // Take a port, then ask kmm serve for it.
    const net = await import("node:net")
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve()))
    const port = (blocker.address() as { port: number }).port
    try {
      const taken = await kmm(["serve", "--port", String(port), "--preset", "small"])
      expect(taken.code).toBe(1)
      expect(taken.stderr).toMatch(new RegExp(`^kmm: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*--port`))
    } finally {
      blocker.close()
    }
  })

  it("has help with examples", async () => {
    const help = await kmm(["serve", "--help"])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("$ kmm serve --port 0 --preset small")
    expect(help.stdout).toContain("--token-file")
  })
})
