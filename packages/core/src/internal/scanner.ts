/**
 * The scanner fiber: one scan pass after another, with a sleep between. A pass visits
 * the targets that are due, round-robin, harvests their accessed bits within the
 * scan-size budget, feeds the policy, and queues what the policy proposes.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import type { ScanResult } from "../Backend.js"
import type { BackendError } from "../Errors.js"
import type { MigrationPlan } from "../MigrationPlan.js"
import { plannedPages } from "../Policy.js"
import type { ScanChunk } from "../ScanChunk.js"
import * as ScanPeriod from "../ScanPeriod.js"
import type { Target, TargetId } from "../Target.js"
import { topTierNodes } from "../Topology.js"
import type { TunableValues } from "../Tunables.js"
import { scanSizePages } from "../Tunables.js"
import type { DaemonState, TargetState } from "./state.js"

/**
 * Pages asked of the backend per scan call. A step's chunks are accounted and given to
 * the policy while they are still in cache, and stopping waits for at most one step.
 */
export const SCAN_STEP_PAGES = 65536

/** Runs scan passes until interrupted. */
export const scanner = (st: DaemonState): Effect.Effect<never> =>
  Effect.gen(function* () {
    while (true) {
      let t = yield* st.tunables.get
      if (!t.scanEnabled) {
        yield* waitUntilEnabled(st)
        t = yield* st.tunables.get
      }
      const scanned = yield* scanPass(st, t)
      // A pass that found nothing due never spins: it sleeps at least 1 ms.
      yield* Effect.sleep(Duration.millis(scanned === 0 ? Math.max(1, t.scanSleepMs) : t.scanSleepMs))
    }
  })

const waitUntilEnabled = (st: DaemonState) =>
  st.tunables.changes.pipe(
    Stream.filter((v) => v.scanEnabled),
    Stream.runHead
  )

/** One pass: refresh targets, scan those due within budget, plan, queue. Returns pages scanned. */
export const scanPass = (st: DaemonState, t: TunableValues): Effect.Effect<number> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const topology = yield* st.backend.topology.pipe(
      Effect.catchAll((e) => publishError(st, now, "topology", e).pipe(Effect.as(undefined)))
    )
    if (topology === undefined) return 0
    st.setTopology(topology)
    if (now - st.lastRefresh >= t.targetRefreshMs) yield* refreshTargets(st, t, now)

    const pass = { targets: 0, scanned: 0, accessed: 0, slowtier: 0 }
    let budget = scanSizePages(t, topology.pageSize)
    const n = st.order.length
    let visited = 0
    let i = 0
    for (; i < n && budget > 0 && visited < t.targetsPerPass; i++) {
      const id = st.order[(st.rr + i) % n]
      const target = st.targets.get(id)
      if (target === undefined || target.scale === 0 || target.nextScanAt > now) continue
      visited++
      const used = yield* scanTarget(st, t, target, budget, now, pass).pipe(
        Effect.withSpan("kmm.scan", { attributes: { target: id, from: target.cursor, budget }, captureStackTrace: false })
      )
      budget -= used
      // The budget ran out inside this target: resume it first next pass.
      if (budget <= 0 && target.cursor !== 0 && st.targets.has(id)) break
    }
    st.rr = n === 0 ? 0 : (st.rr + (i < n ? i : n)) % n
    pass.targets = visited
    st.pass++
    st.counts.bump("scan_passes", 1)

    const planned = yield* planMigrations(st, t, now)
    yield* st.counts.flush
    yield* PubSub.publish(st.events, {
      _tag: "ScanPass",
      time: now,
      pass: st.pass,
      targets: visited,
      scanned: pass.scanned,
      accessed: pass.accessed,
      slowtier: pass.slowtier,
      planned
    })
    return pass.scanned
  })

/** Scans one target from its cursor until its sweep ends or the budget is used. Returns pages used. */
const scanTarget = (
  st: DaemonState,
  t: TunableValues,
  target: TargetState,
  budget: number,
  now: number,
  pass: { scanned: number; accessed: number; slowtier: number }
): Effect.Effect<number> =>
  Effect.gen(function* () {
    st.counts.bump("mm_scans", 1)
    let used = 0
    while (used < budget) {
      const step = Math.min(SCAN_STEP_PAGES, budget - used)
      const result: ScanResult | undefined = yield* st.backend.scan(target.id, target.cursor, step).pipe(
        Effect.catchAll((e) => onScanError(st, target, now, e))
      )
      if (result === undefined) return used
      used += Math.max(1, result.scanned)
      pass.scanned += result.scanned
      st.counts.bump("pages_scanned", result.scanned)
      for (const obs of result.observations) {
        if (obs._tag === "AccessedBits") {
          const c = accountChunk(st, target, obs.chunk)
          pass.accessed += c.accessed
          pass.slowtier += c.slowtier
          st.counts.bump("vma_scans", 1)
          st.counts.bump("slowtier", c.slowtier)
          st.counts.bump("toptier", c.accessed - c.slowtier)
          st.counts.bump("idlepage", obs.chunk.present - c.accessed)
        }
        if (st.accepted.has(obs.kind)) yield* st.policy.observe(obs)
      }
      if (result.next === null) {
        yield* endSweep(st, t, target, now)
        return used
      }
      target.cursor = result.next
    }
    return used
  })

/**
 * Counts a chunk's accessed pages per node into the target's histogram, and how many
 * sat on a slow tier. O(words + accessed pages).
 */
const accountChunk = (st: DaemonState, target: TargetState, chunk: ScanChunk): { accessed: number; slowtier: number } => {
  const words = chunk.accessed
  const node = chunk.node
  const tierOf = st.tierOf
  const top = st.topTier
  const byNode = target.byNode.length > st.maxNode ? target.byNode : grow(target, st.maxNode + 1)
  let accessed = 0
  let slowtier = 0
  for (let w = 0; w < words.length; w++) {
    let bits = words[w]
    if (bits === 0) continue
    const base = w << 5
    while (bits !== 0) {
      const low = bits & -bits
      const nd = node[base + 31 - Math.clz32(low)]
      if (nd >= 0) {
        byNode[nd]++
        accessed++
        if (tierOf[nd] !== top) slowtier++
      }
      bits ^= low
    }
  }
  target.found += slowtier
  return { accessed, slowtier }
}

const grow = (target: TargetState, size: number): Float64Array => {
  const next = new Float64Array(size)
  next.set(target.byNode.subarray(0, Math.min(size, target.byNode.length)))
  target.byNode = next
  return next
}

/** A sweep of the target's address space is complete: adapt its period, set its next start. */
const endSweep = (st: DaemonState, t: TunableValues, target: TargetState, now: number) => {
  target.periodMs = ScanPeriod.next(target.periodMs, target.previousFound, target.found, {
    min: t.scanPeriodMinMs,
    max: t.scanPeriodMaxMs,
    ignorePages: t.periodIgnorePages
  })
  const found = target.found
  target.previousFound = found
  target.found = 0
  target.cursor = 0
  target.sweeps++
  target.nextScanAt = now + target.periodMs / Math.max(1, target.scale)
  target.lastByNode = target.byNode
  target.byNode = new Float64Array(target.lastByNode.length)
  return PubSub.publish(st.events, { _tag: "SweepDone", time: now, target: target.id, found, periodMs: target.periodMs })
}

const onScanError = (st: DaemonState, target: TargetState, now: number, e: BackendError) => {
  if (e._tag === "TargetGone") return dropTarget(st, target.id, now, "scan").pipe(Effect.as(undefined))
  // Anything else: report it and try this target again after a period.
  target.nextScanAt = now + target.periodMs
  return publishError(st, now, `scan of target ${target.id}`, e).pipe(Effect.as(undefined))
}

const publishError = (st: DaemonState, now: number, operation: string, e: { readonly message: string }) =>
  PubSub.publish(st.events, { _tag: "BackendError", time: now, operation, message: e.message })

/** Diffs the backend's target list against ours: new ones wait the initial delay, missing ones are dropped. */
export const refreshTargets = (st: DaemonState, t: TunableValues, now: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    const list: ReadonlyArray<Target> | undefined = yield* st.backend.targets.pipe(
      Effect.catchAll((e) => publishError(st, now, "targets", e).pipe(Effect.as(undefined)))
    )
    if (list === undefined) return
    st.lastRefresh = now
    const seen = new Set<TargetId>()
    for (const target of list) {
      seen.add(target.id)
      const known = st.targets.get(target.id)
      if (known !== undefined) {
        known.pages = target.pages
        known.name = target.name
        continue
      }
      st.targets.set(target.id, {
        id: target.id,
        name: target.name,
        pages: target.pages,
        scale: st.scales.get(target.id) ?? 1,
        periodMs: t.scanPeriodMs,
        nextScanAt: now + t.initialDelayMs,
        cursor: 0,
        previousFound: 0,
        found: 0,
        sweeps: 0,
        byNode: new Float64Array(st.maxNode + 1),
        lastByNode: new Float64Array(st.maxNode + 1)
      })
      yield* PubSub.publish(st.events, { _tag: "TargetAppeared", time: now, target: target.id, name: target.name })
    }
    for (const id of [...st.targets.keys()]) if (!seen.has(id)) yield* dropTarget(st, id, now, "refresh")
    st.order = [...st.targets.keys()]
  })

/** Forgets a target that is gone: its state, the policy's state, and its scale. */
export const dropTarget = (st: DaemonState, id: TargetId, now: number, during: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (!st.targets.delete(id)) return
    st.order = st.order.filter((x) => x !== id)
    st.scales.delete(id)
    st.counts.bump("targets_gone", 1)
    yield* st.policy.forget(id)
    yield* PubSub.publish(st.events, { _tag: "TargetGone", time: now, target: id, during })
  })

/**
 * Top-tier destinations for a target, best first: the fixed target node, or the
 * top-tier nodes ordered by how many of the target's accessed pages sit there (then
 * by free pages). Nodes in no-memory back-off are left out.
 */
export const destinations = (st: DaemonState, t: TunableValues, now: number, id: TargetId): ReadonlyArray<number> => {
  const topology = st.topology
  if (topology === undefined) return []
  const top = topTierNodes(topology)
  const target = st.targets.get(id)
  const hist = target === undefined ? undefined : sumHist(target)
  const ordered = [...top].sort((a, b) => {
    if (t.targetNode >= 0 && (a.id === t.targetNode) !== (b.id === t.targetNode)) return a.id === t.targetNode ? -1 : 1
    const ha = hist?.[a.id] ?? 0
    const hb = hist?.[b.id] ?? 0
    if (ha !== hb) return hb - ha
    if (a.freePages !== b.freePages) return b.freePages - a.freePages
    return a.id - b.id
  })
  if (t.targetNode >= 0 && !ordered.some((n) => n.id === t.targetNode) && topology.nodes.some((n) => n.id === t.targetNode)) {
    // A fixed target node outside the top tier is still honoured, first.
    return [t.targetNode, ...ordered.map((n) => n.id)].filter((n) => !inBackoff(st, n, now))
  }
  return ordered.map((n) => n.id).filter((n) => !inBackoff(st, n, now))
}

const sumHist = (target: TargetState): Float64Array => {
  const out = new Float64Array(Math.max(target.byNode.length, target.lastByNode.length))
  for (let i = 0; i < target.byNode.length; i++) out[i] += target.byNode[i]
  for (let i = 0; i < target.lastByNode.length; i++) out[i] += target.lastByNode[i]
  return out
}

const inBackoff = (st: DaemonState, node: number, now: number): boolean => (st.backoffUntil.get(node) ?? -Infinity) > now

/**
 * Asks the policy for migrations within what the migrator can do in about a second at
 * the rate limit, less what is already queued; queues them. Returns pages queued.
 */
const planMigrations = (st: DaemonState, t: TunableValues, now: number): Effect.Effect<number> =>
  Effect.gen(function* () {
    const topology = st.topology
    if (topology === undefined) return 0
    const perSecond = Math.max(t.migrateBatchPages, Math.floor((t.migrateRateMBps * 1024 * 1024) / topology.pageSize))
    const room = perSecond - st.pending
    if (room <= 0) return 0
    const unavailable = new Set<number>()
    for (const [node, until] of st.backoffUntil) if (until > now) unavailable.add(node)
    const plans = yield* st.policy.plan({
      maxPages: room,
      topology,
      destinations: (id) => destinations(st, t, now, id),
      unavailable,
      now
    })
    let queued = 0
    for (const plan of clampToBudget(plans, room)) {
      if (plan.count === 0) continue
      queued += plan.count
      st.pending += plan.count
      st.counts.bump("migadded", plan.count)
      yield* Queue.offer(st.queue, plan)
    }
    return queued
  })

/** The daemon holds policies to their budget: pages past it are not queued. */
const clampToBudget = (plans: ReadonlyArray<MigrationPlan>, room: number): ReadonlyArray<MigrationPlan> => {
  if (plannedPages(plans) <= room) return plans
  const out: Array<MigrationPlan> = []
  let left = room
  for (const p of plans) {
    if (left <= 0) break
    out.push(p.count <= left ? p : { ...p, count: left })
    left -= Math.min(left, p.count)
  }
  return out
}
