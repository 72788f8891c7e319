/**
 * Metrics: `GET /metrics` in the Prometheus text exposition format (version 0.0.4).
 *
 * - counters: the daemon's counters as `kmm_<name>_total` (kmmscand's vmstat names;
 *   they keep counting across daemon stops and starts);
 * - gauges per node (labels `node`, `label`, `tier`): capacity, used and free bytes;
 * - gauges of the daemon: up, pending pages, targets (and opted out), policy state
 *   bytes, each tunable (`kmm_tunable{knob=...}`, booleans as 0/1);
 * - on the simulated backend: top-tier access share and the oracle's (last interval);
 * - of the server: open event streams, uptime.
 *
 * @since 0.1.0
 */
import * as Counters from "@kmm/core/Counters"
import type { Topology } from "@kmm/core/Topology"
import type { TunableValues } from "@kmm/core/Tunables"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { counterDoc } from "./Api.js"
import { DaemonControl } from "./Control.js"
import { EventHub } from "./Events.js"
import { SampleHistory } from "./Samples.js"

/**
 * Everything one scrape shows.
 *
 * @since 0.1.0
 */
export interface Snapshot {
  readonly counters: Counters.Counters
  readonly topology: Topology | undefined
  readonly up: boolean
  readonly pendingPages: number
  readonly targets: number
  readonly targetsOptedOut: number
  readonly policyStateBytes: number
  readonly tunables: TunableValues
  readonly sim: { readonly topTierShare: number; readonly oracleShare: number } | undefined
  readonly eventSubscribers: number
  readonly uptimeSeconds: number
}

/**
 * A label value, escaped as the format asks (backslash, double quote, newline).
 *
 * @since 0.1.0
 */
export const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value: integers as they are, other numbers in full, and the special values by name. */
const formatValue = (v: number): string => (Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v))

type Labels = Readonly<Record<string, string>>

const labelText = (labels: Labels): string => {
  const entries = Object.entries(labels)
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`
}

/** Writes one metric family: HELP, TYPE, then its samples. */
const family = (out: Array<string>, name: string, type: "counter" | "gauge", help: string, samples: ReadonlyArray<readonly [Labels, number]>) => {
  out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
  for (const [labels, value] of samples) out.push(`${name}${labelText(labels)} ${formatValue(value)}`)
}

/**
 * Renders a snapshot. O(counters + nodes + knobs).
 *
 * @since 0.1.0
 */
export const render = (s: Snapshot): string => {
  const out: Array<string> = []
  for (const name of Counters.names) family(out, `kmm_${name}_total`, "counter", counterDoc(name), [[{}, s.counters[name]]])
  if (s.topology !== undefined) {
    const page = s.topology.pageSize
    const nodes = s.topology.nodes
    const labels = (n: (typeof nodes)[number]): Labels => ({ node: String(n.id), label: n.label ?? `node${n.id}`, tier: String(n.tier) })
    family(out, "kmm_node_capacity_bytes", "gauge", "Memory of the node", nodes.map((n) => [labels(n), n.capacityPages * page] as const))
    family(out, "kmm_node_used_bytes", "gauge", "Memory in use on the node", nodes.map((n) => [labels(n), (n.capacityPages - n.freePages) * page] as const))
    family(out, "kmm_node_free_bytes", "gauge", "Free memory on the node", nodes.map((n) => [labels(n), n.freePages * page] as const))
  }
  family(out, "kmm_daemon_up", "gauge", "1 while the daemon runs, 0 when stopped or crashed", [[{}, s.up ? 1 : 0]])
  family(out, "kmm_migration_pending_pages", "gauge", "Pages queued for migration and not yet done", [[{}, s.pendingPages]])
  family(out, "kmm_targets", "gauge", "Targets the daemon knows", [[{}, s.targets]])
  family(out, "kmm_targets_opted_out", "gauge", "Targets with scale 0", [[{}, s.targetsOptedOut]])
  family(out, "kmm_policy_state_bytes", "gauge", "Bytes of state held by the policy", [[{}, s.policyStateBytes]])
  family(
    out,
    "kmm_tunable",
    "gauge",
    "Each tunable's value (true = 1, false = 0)",
    Object.entries(s.tunables).map(([knob, v]) => [{ knob }, typeof v === "boolean" ? (v ? 1 : 0) : Number(v)] as const)
  )
  if (s.sim !== undefined) {
    family(out, "kmm_sim_top_tier_share", "gauge", "Simulated backend: share of the last interval's accesses served by the top tier", [[{}, s.sim.topTierShare]])
    family(out, "kmm_sim_oracle_share", "gauge", "Simulated backend: the same share for the oracle's placement", [[{}, s.sim.oracleShare]])
  }
  family(out, "kmm_server_event_subscribers", "gauge", "Open event streams (/api/events)", [[{}, s.eventSubscribers]])
  family(out, "kmm_server_uptime_seconds", "gauge", "Seconds since the server started", [[{}, s.uptimeSeconds]])
  return out.join("\n") + "\n"
}

/**
 * Takes a snapshot of the running server.
 *
 * @since 0.1.0
 */
export const snapshot = (startedAt: number): Effect.Effect<Snapshot, never, DaemonControl | EventHub | SampleHistory> =>
  Effect.gen(function* () {
    const control = yield* DaemonControl
    const hub = yield* EventHub
    const samples = yield* SampleHistory
    const targets = yield* Effect.orElseSucceed(control.targets, () => [])
    const latest = yield* samples.latest
    const status = yield* control.status
    return {
      counters: yield* control.counters,
      topology: yield* Effect.orElseSucceed(control.backend.topology, () => undefined),
      up: status.state === "running",
      pendingPages: yield* control.pending,
      targets: targets.length,
      targetsOptedOut: targets.filter((t) => t.scale === 0).length,
      policyStateBytes: yield* control.policyBytes,
      tunables: yield* control.tunables.get,
      sim: Option.match(latest, {
        onNone: () => undefined,
        onSome: (l) => (l.topTierShare !== undefined && l.oracleShare !== undefined ? { topTierShare: l.topTierShare, oracleShare: l.oracleShare } : undefined)
      }),
      eventSubscribers: yield* hub.subscribers,
      uptimeSeconds: ((yield* Clock.currentTimeMillis) - startedAt) / 1000
    }
  })
