import { describe, expect, it } from "vitest"
import { jsonLines, kmm } from "./kmm.js"

interface Sample {
  type: "sample"
  t: number
  nodes: Array<{ id: number; label: string; tier: number; usedPages: number; freePages: number; capacityPages: number }>
  promotedPerSec: number
  demotedPerSec: number
  scannedPerSec: number
  topTierShare: number
  oracleShare: number
}

describe("kmm run", () => {
  it("--json on the simulated backend: a start line, one sample per virtual second whose top-tier share rises, a summary", async () => {
    const r = await kmm(["run", "--duration", "20s", "--json"])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    const lines = jsonLines(r.stdout)
    const start = lines[0] as { type: string; stack: { backend: { name: string }; policy: { name: string } }; clock: string; durationMs: number; speed: unknown }
    expect(start).toMatchObject({ type: "start", clock: "virtual", durationMs: 20_000, speed: null })
    // With no options: the simulated backend and policy-hotness.
    expect(start.stack.backend.name).toBe("sim")
    expect(start.stack.policy.name).toBe("hotness")
    const samples = lines.filter((l) => l.type === "sample") as unknown as Array<Sample>
    expect(samples.map((s) => s.t)).toEqual(Array.from({ length: 20 }, (_, k) => k + 1))
    // The hot set starts on the slow node and is promoted: the share rises towards the oracle's.
    const first = samples[0]
    const last = samples[samples.length - 1]
    expect(first.topTierShare).toBeLessThan(0.1)
    expect(last.topTierShare).toBeGreaterThan(0.9)
    expect(last.topTierShare).toBeLessThanOrEqual(last.oracleShare + 1e-9)
    expect(Math.max(...samples.map((s) => s.promotedPerSec))).toBeGreaterThan(0)
    expect(Math.max(...samples.map((s) => s.scannedPerSec))).toBeGreaterThan(0)
    // Per node used + free = capacity, and pages move from the CXL node to DRAM.
    for (const s of samples) for (const n of s.nodes) expect(n.usedPages + n.freePages).toBe(n.capacityPages)
    const dram = (s: Sample) => s.nodes.find((n) => n.tier === 0)!.usedPages
    expect(dram(last)).toBeGreaterThan(dram(first))
    const summary = lines[lines.length - 1] as { type: string; reason: string; durationMs: number; counters: { migrated: number }; sim: { topTierShare: number } }
    expect(summary).toMatchObject({ type: "summary", reason: "time-up", durationMs: 20_000 })
    expect(summary.counters.migrated).toBeGreaterThan(0)
    expect(summary.sim.topTierShare).toBeGreaterThan(0)
  })

  it("the default length is the preset's natural one: 60 s for the default preset, through the hot-set shift at 30 s", async () => {
    const r = await kmm(["run", "--preset", "small", "--json"])
    expect(r.code).toBe(0)
    const lines = jsonLines(r.stdout)
    expect(lines[0]).toMatchObject({ durationMs: 60_000 })
    const samples = lines.filter((l) => l.type === "sample") as unknown as Array<Sample & { events?: Array<string> }>
    expect(samples).toHaveLength(60)
    expect(samples[29].events?.some((e) => e.startsWith("phase"))).toBe(true)
    const summary = lines[lines.length - 1] as { sim: { recoveries: Array<{ atMs: number }> } }
    expect(summary.sim.recoveries.map((x) => x.atMs)).toEqual([30_000])
  })

  it("plain lines when stdout is not a terminal, and the summary", async () => {
    const r = await kmm(["run", "--preset", "small", "--duration", "5s", "--policy", "abit", "--set", "scanSleepMs=20"])
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toContain("backend sim (preset small), policy abit")
    expect(lines.slice(1, 6).map((l) => l.split(" ")[0])).toEqual(["t=1.0s", "t=2.0s", "t=3.0s", "t=4.0s", "t=5.0s"])
    expect(lines[1]).toMatch(/DRAM .* CXL .* scan .* top \d+\.\d% \(oracle \d+\.\d%\)/)
    expect(lines[6]).toBe("Ran 5s of virtual time in " + lines[6].split(" in ")[1])
    expect(r.stdout).toContain("top-tier share")
    expect(r.stdout).not.toContain("\u001b[")
  })

  it("--set and KMM_* reach the daemon, --set last", async () => {
    const r = await kmm(["run", "--preset", "small", "--duration", "1s", "--json", "--set", "scanSizeMB=768"], {
      env: { KMM_SCAN_SIZE_MB: "512", KMM_SCAN_SLEEP_MS: "25" }
    })
    expect(r.code).toBe(0)
    const start = jsonLines(r.stdout)[0] as { stack: { tunables: Record<string, unknown>; origins: Record<string, string> } }
    expect(start.stack.tunables).toMatchObject({ scanSizeMB: 768, scanSleepMs: 25, migrateRateMBps: 1024 })
    expect(start.stack.origins).toMatchObject({ scanSizeMB: "set", scanSleepMs: "env", migrateRateMBps: "default" })
  })

  it("Ctrl-C (SIGINT) stops the run cleanly: exit 0 and a summary", async () => {
    let signalled = false
    // At 1x a minute of virtual time would take a minute: it is stopped after its first sample.
    const r = await kmm(["run", "--preset", "small", "--speed", "1", "--json"], {
      onStdout: (_, child) => {
        if (!signalled && _.includes('"type":"sample"')) {
          signalled = true
          child.kill("SIGINT")
        }
      }
    })
    expect(signalled).toBe(true)
    expect(r.code).toBe(0)
    const lines = jsonLines(r.stdout)
    const summary = lines[lines.length - 1] as { type: string; reason: string; durationMs: number }
    expect(summary.type).toBe("summary")
    expect(summary.reason).toBe("aborted")
    expect(summary.durationMs).toBeLessThan(60_000)
  })
})
