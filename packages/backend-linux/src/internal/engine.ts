/**
 * The scan engine: per-target state, and one scan step (pagemap read, decode, node of
 * each present page, accessed bits from the chosen source). Shared scratch buffers keep
 * a step free of per-page allocation beyond the chunk itself; steps are serialized by
 * the backend.
 */
import type { ScanResult } from "@kmm/core/Backend"
import type { BackendError } from "@kmm/core/Errors"
import { BackendFailure, TargetGone } from "@kmm/core/Errors"
import type { Observation, RegionSamples } from "@kmm/core/Observation"
import { accessedBits } from "@kmm/core/Observation"
import * as ScanChunk from "@kmm/core/ScanChunk"
import type { TargetId } from "@kmm/core/Target"
import * as Effect from "effect/Effect"
import * as Damon from "../Damon.js"
import type { Host } from "../HostTopology.js"
import * as IdlePage from "../IdlePage.js"
import * as Maps from "../Maps.js"
import * as MovePages from "../MovePages.js"
import * as Pagemap from "../Pagemap.js"
import * as Processes from "../Processes.js"
import * as SoftDirty from "../SoftDirty.js"
import type { SourceId } from "../Sources.js"

/**
 * Pagemap entries per read within a chunk (64 KiB per pread), and reads in flight at
 * once: measured best on the 2-core development machines (BENCHMARKS.md).
 */
const PIECE = 8192
const READ_DEPTH = 3

/** How the node of a present page is found. */
export type NodeSource = "move-pages" | "pfn" | "single"

/** What kmm keeps of a target between scan steps. */
export interface TargetState {
  readonly pid: number
  readonly startTime: number
  reader: Pagemap.Reader | undefined
  /** Scannable mappings, read at the start of each sweep. */
  areas: ReadonlyArray<Maps.Area> | undefined
  /** Completed sweeps. */
  sweeps: number
  /** Sweep in which each mapping (by start page) was first seen: the idle bitmap reports a mapping from its second sweep on. */
  readonly firstSeen: Map<number, number>
  softDirtyArmed: boolean
}

export interface EngineOptions {
  readonly pageShift: number
  readonly chunkPages: number
  readonly source: SourceId | "none"
  readonly nodeSource: NodeSource
  /** The node when nodeSource is "single". */
  readonly singleNode: number
  /** Whether chunks carry PFNs (requested and readable). */
  readonly reportPfn: boolean
  /** The kernel's zero pages (pages mapping them are not present). */
  readonly zero: Pagemap.ZeroFrames
  readonly rules: Maps.Rules
  /** The host's memory map as last read. */
  readonly host: () => Host
  readonly idle: IdlePage.Bitmap | undefined
  readonly damon: Damon.Monitor | undefined
  /**
   * Report the sources' bits on a target's first sweep too (one-off looks such as
   * inspect): pages never marked idle read as accessed, soft-dirty bits are those set
   * since the process's last clear. The daemon's default is to arm first, report after.
   */
  readonly reportFirstSweep: boolean
}

export class Engine {
  readonly targets = new Map<number, TargetState>()
  /** Scan steps since the DAMON regions were last refreshed. */
  stepsSinceRefresh = 0
  private readonly words: Uint32Array
  private readonly pfn: Float64Array
  private readonly index: Int32Array
  private readonly vpn: Float64Array
  private readonly status: Int32Array

  constructor(readonly options: EngineOptions) {
    const n = options.chunkPages
    this.words = new Uint32Array(2 * n)
    this.pfn = new Float64Array(n)
    this.index = new Int32Array(n)
    this.vpn = new Float64Array(n)
    this.status = new Int32Array(n)
  }

  /** Forgets a target: closes its pagemap. */
  drop(pid: number): Effect.Effect<void> {
    const st = this.targets.get(pid)
    if (st === undefined) return Effect.void
    this.targets.delete(pid)
    return st.reader === undefined ? Effect.void : Pagemap.close(st.reader)
  }

  /** Forgets every target not in `alive`. */
  retain(alive: ReadonlySet<number>): Effect.Effect<void> {
    return Effect.forEach([...this.targets.keys()].filter((pid) => !alive.has(pid)), (pid) => this.drop(pid), { discard: true })
  }

  /** The target's state, created on first use; TargetGone when the process is gone or its pid was reused. */
  private state(pid: number, fresh: boolean): Effect.Effect<TargetState, BackendError> {
    const known = this.targets.get(pid)
    if (known !== undefined && !fresh) return Effect.succeed(known)
    const s = Processes.stat(pid)
    if (s === undefined || s.state === "Z" || s.state === "X") {
      return Effect.zipRight(this.drop(pid), Effect.fail(new TargetGone({ target: pid, operation: "scan" })))
    }
    if (known !== undefined && known.startTime === s.startTime) return Effect.succeed(known)
    // A new process, or another process under a reused pid: the old one is gone.
    if (known !== undefined) return Effect.zipRight(this.drop(pid), Effect.fail(new TargetGone({ target: pid, operation: "scan" })))
    const st: TargetState = { pid, startTime: s.startTime, reader: undefined, areas: undefined, sweeps: 0, firstSeen: new Map(), softDirtyArmed: false }
    this.targets.set(pid, st)
    return Effect.succeed(st)
  }

  /**
   * One scan step of up to `budget` pages from virtual page `from`. With `observe`
   * false only the cursor moves (nothing is read): for a backend with no source, whose
   * chunks would tell a policy nothing.
   */
  scan(target: TargetId, from: number, budget: number, observe = true): Effect.Effect<ScanResult, BackendError> {
    const pid = target as number
    return Effect.gen(this, function* () {
      if (!Number.isFinite(from) || from < 0 || !(budget > 0)) {
        return yield* Effect.fail(new BackendFailure({ operation: "scan", reason: `invalid cursor ${from} or budget ${budget}`, hint: "from and budget are non-negative page counts" }))
      }
      const st = yield* this.state(pid, from === 0)
      if (from === 0 || st.areas === undefined) yield* this.startSweep(st)
      if (st.reader === undefined && observe) st.reader = yield* Pagemap.open(pid)
      const areas = st.areas ?? []
      const chunk = this.options.chunkPages
      const observations: Array<Observation> = []
      let scanned = 0
      let a = 0
      while (a < areas.length && areas[a].start + areas[a].pages <= from) a++
      let cursor: number | null = null
      for (; a < areas.length; a++) {
        const area = areas[a]
        let offset = Math.max(0, from - area.start)
        offset -= offset & 31 // chunks start on 32-page boundaries of their mapping
        while (offset < area.pages && scanned < budget) {
          // Chunks end on 32-page boundaries unless the mapping ends; a step never goes
          // over budget, except that a budget below 32 still scans one 32-page block.
          let length = Math.min(area.pages - offset, chunk, budget - scanned)
          if (offset + length < area.pages) length -= length & 31
          if (length === 0) {
            if (scanned > 0) break
            length = Math.min(32, area.pages - offset)
          }
          if (observe) yield* this.step(st, area, offset, length, observations)
          scanned += length
          offset += length
        }
        if (offset < area.pages) {
          cursor = area.start + offset
          break
        }
        if (scanned >= budget) {
          cursor = a + 1 < areas.length ? areas[a + 1].start : null
          break
        }
      }
      if (cursor === null) yield* this.endSweep(st)
      this.stepsSinceRefresh++
      return { observations, scanned, next: cursor }
    }).pipe(Effect.tapErrorTag("TargetGone", () => this.drop(pid)))
  }

  /** A sweep starts: re-read the mappings; arm soft-dirty; have DAMON watch the process. */
  private startSweep(st: TargetState): Effect.Effect<void, BackendError> {
    return Effect.gen(this, function* () {
      const all = yield* Maps.read(st.pid, this.options.pageShift, this.options.rules)
      if (all.length === 0) return yield* Effect.fail(new TargetGone({ target: st.pid, operation: "scan" }))
      st.areas = all.filter((x) => x.skip === undefined)
      for (const x of st.areas) if (!st.firstSeen.has(x.start)) st.firstSeen.set(x.start, st.sweeps)
      if (this.options.source === "soft-dirty" && !st.softDirtyArmed && !this.options.reportFirstSweep) {
        yield* SoftDirty.clear(st.pid)
        st.softDirtyArmed = true
      }
      const damon = this.options.damon
      if (damon !== undefined && damon.mode === "vaddr" && !damon.watched().includes(st.pid)) {
        yield* damon.watch([...this.targets.keys()])
      }
    })
  }

  /** A sweep ends: soft-dirty bits are cleared for the next one. */
  private endSweep(st: TargetState): Effect.Effect<void, BackendError> {
    st.sweeps++
    return this.options.source === "soft-dirty" ? SoftDirty.clear(st.pid) : Effect.void
  }

  /**
   * Reads the pagemap entries of pages [start, start + length) into the word buffer in
   * pieces, handing each to `consume` while the next is read (Pagemap.readPieces).
   * Uninterruptible: no read may outlive the step that owns the buffer (a few ms).
   */
  private readPieces(reader: Pagemap.Reader, start: number, length: number, consume: (from: number, to: number) => void): Effect.Effect<void, BackendError> {
    return Effect.uninterruptible(Pagemap.readPieces(reader, start, length, this.words, PIECE, consume, READ_DEPTH))
  }

  /** Scans pages [offset, offset + length) of one mapping into a chunk (and region samples). */
  private step(st: TargetState, area: Maps.Area, offset: number, length: number, out: Array<Observation>): Effect.Effect<void, BackendError> {
    const o = this.options
    return Effect.gen(this, function* () {
      const start = area.start + offset
      const chunk = ScanChunk.alloc({ target: st.pid as TargetId, mappingStart: area.start, mappingPages: area.pages, start, length, withPfn: o.reportPfn })
      const node = chunk.node
      const accessed = chunk.accessed
      const pfn = this.pfn
      const index = this.index
      const vpn = this.vpn
      const words = this.words
      const softDirty = o.source === "soft-dirty"
      const host = o.host()
      // The present pages are listed (index, page, frame) when their node comes from a
      // query or the source works from them; otherwise each piece is decoded straight
      // into the chunk.
      const listed = o.nodeSource === "move-pages" || o.idle !== undefined || o.damon !== undefined
      let n = 0
      let present = 0
      yield* this.readPieces(st.reader!, start, length, (from, to) => {
        if (listed) n = decode(words, from, to, start, index, vpn, pfn, softDirty ? accessed : undefined, n)
        else {
          present += decodeInto(words, from, to, node, chunk.pfn, softDirty ? accessed : undefined, o.nodeSource === "pfn" ? host : undefined, o.singleNode, o.zero)
        }
      })

      if (!listed) chunk.present = present
      else if (o.nodeSource === "move-pages") {
        yield* MovePages.query(st.pid, vpn, n, this.status)
        chunk.present = nodesFromStatus(this.status, index, n, node)
      } else if (o.nodeSource === "pfn") {
        chunk.present = nodesFromPfn(pfn, index, n, node, host.nodeOfBlock, host.blockPages, o.zero)
      } else {
        for (let k = 0; k < n; k++) node[index[k]] = o.singleNode
        chunk.present = n
      }
      if (listed && chunk.pfn !== undefined) scatterPfn(pfn, index, n, node, chunk.pfn)

      // Accessed bits from the source, for present pages only.
      if (o.source === "idle-page" && o.idle !== undefined) {
        const armed = o.reportFirstSweep || (st.firstSeen.get(area.start) ?? st.sweeps) < st.sweeps
        yield* IdlePage.harvest(o.idle, pfn, index, n, accessed, armed)
      }
      if (softDirty || o.idle !== undefined) keepPresent(accessed, node)
      out.push(accessedBits(chunk, softDirty ? "soft-dirty" : "accessed-bit"))
      if (o.damon !== undefined && (o.source === "damon-paddr" || o.source === "damon-vaddr")) {
        const snap = o.damon.mode === "paddr" ? o.damon.latest() : o.damon.latest(st.pid)
        if (snap !== undefined) out.push(damonChunk(snap, o.damon.mode === "paddr" ? pfn : vpn, index, n, node, chunk))
      }
    })
  }
}

// The hot loops: plain functions over typed arrays (kept out of generator bodies, which
// V8 optimizes less well).

/**
 * Decodes pagemap entries [from, to) of a chunk starting at virtual page `start`: for
 * each present page, its index in the chunk, its virtual page number and its frame
 * number are appended to `index`, `vpn` and `pfn` after the first `n`; with
 * `softDirty`, its soft-dirty bit goes to that bitset. Returns the new count. O(to - from).
 */
export const decode = (
  words: Uint32Array,
  from: number,
  to: number,
  start: number,
  index: Int32Array,
  vpn: Float64Array,
  pfn: Float64Array,
  softDirty: Uint32Array | undefined,
  n: number
): number => {
  for (let i = from; i < to; i++) {
    const hi = words[2 * i + 1]
    if ((hi & Pagemap.Hi.PRESENT) === 0) continue
    index[n] = i
    vpn[n] = start + i
    pfn[n] = (hi & Pagemap.Hi.PFN_HIGH) * 4294967296 + (words[2 * i] >>> 0)
    n++
    if (softDirty !== undefined && (hi & Pagemap.Hi.SOFT_DIRTY) !== 0) softDirty[i >>> 5] |= 1 << (i & 31)
  }
  return n
}

/**
 * Decodes pagemap entries [from, to) straight into a chunk: the node of each present
 * page (from its frame's memory block with `host`, else `single`), its frame number
 * when `pfn` is given, its soft-dirty bit when `softDirty` is. Pages mapping a zero
 * page are not present. Returns the pages with a node. O(to - from).
 */
export const decodeInto = (
  words: Uint32Array,
  from: number,
  to: number,
  node: Int16Array,
  pfn: Float64Array | undefined,
  softDirty: Uint32Array | undefined,
  host: Host | undefined,
  single: number,
  zero: Pagemap.ZeroFrames
): number => {
  const blocks = host?.nodeOfBlock
  const perBlock = host?.blockPages ?? 1
  const small = zero.small ?? -1
  const huge = zero.huge ?? -1
  const hugeEnd = huge + zero.hugePages
  let present = 0
  for (let i = from; i < to; i++) {
    const hi = words[2 * i + 1]
    if ((hi & Pagemap.Hi.PRESENT) === 0) continue
    const frame = (hi & Pagemap.Hi.PFN_HIGH) * 4294967296 + (words[2 * i] >>> 0)
    if (frame === small || (frame >= huge && frame < hugeEnd)) continue
    let nd = single
    if (blocks !== undefined) {
      const b = Math.floor(frame / perBlock)
      nd = b < blocks.length ? blocks[b] : -1
      if (nd < 0) continue
    }
    node[i] = nd
    present++
    if (pfn !== undefined) pfn[i] = frame
    if (softDirty !== undefined && (hi & Pagemap.Hi.SOFT_DIRTY) !== 0) softDirty[i >>> 5] |= 1 << (i & 31)
  }
  return present
}

/** Nodes from move_pages statuses (a node, or -errno: not present). Returns pages with a node. O(n). */
const nodesFromStatus = (status: Int32Array, index: Int32Array, n: number, node: Int16Array): number => {
  let present = 0
  for (let k = 0; k < n; k++) {
    const s = status[k]
    if (s >= 0) {
      node[index[k]] = s
      present++
    }
  }
  return present
}

/** Nodes from frame numbers through the memory-block map (the zero page has none). Returns pages with a node. O(n). */
const nodesFromPfn = (
  pfn: Float64Array,
  index: Int32Array,
  n: number,
  node: Int16Array,
  blocks: Int16Array,
  perBlock: number,
  zero: Pagemap.ZeroFrames
): number => {
  const small = zero.small ?? -1
  const huge = zero.huge ?? -1
  const hugeEnd = huge + zero.hugePages
  let present = 0
  for (let k = 0; k < n; k++) {
    if (pfn[k] === small || (pfn[k] >= huge && pfn[k] < hugeEnd)) continue
    const b = Math.floor(pfn[k] / perBlock)
    const nd = b < blocks.length ? blocks[b] : -1
    if (nd >= 0) {
      node[index[k]] = nd
      present++
    }
  }
  return present
}

/** Frame numbers of the pages with a node into the chunk's array. O(n). */
const scatterPfn = (pfn: Float64Array, index: Int32Array, n: number, node: Int16Array, to: Float64Array): void => {
  for (let k = 0; k < n; k++) if (node[index[k]] >= 0) to[index[k]] = pfn[k]
}

/** Clears the bits of pages that are not present (a swapped-out page keeps its soft-dirty bit; the zero page is no page of its own). O(words + bits set). */
const keepPresent = (accessed: Uint32Array, node: Int16Array): void => {
  for (let w = 0; w < accessed.length; w++) {
    let bits = accessed[w]
    while (bits !== 0) {
      const low = bits & -bits
      if (node[(w << 5) + 31 - Math.clz32(low)] < 0) accessed[w] &= ~low
      bits ^= low
    }
  }
}

/**
 * Maps DAMON regions onto a chunk's present pages: sets the accessed bit of pages whose
 * region saw accesses in the last aggregation interval, and returns the chunk's pages
 * as runs of equal access counts (adjacent present pages with the same count merge).
 * O(n) for pages in region order, O(n log regions) at worst.
 */
const damonChunk = (
  snap: Damon.Snapshot,
  key: Float64Array,
  index: Int32Array,
  n: number,
  node: Int16Array,
  chunk: ScanChunk.ScanChunk
): RegionSamples => {
  const start = new Float64Array(n)
  const pages = new Float64Array(n)
  const accesses = new Uint32Array(n)
  const accessed = chunk.accessed
  let count = 0
  let hint = -1
  let lastIndex = -2
  for (let k = 0; k < n; k++) {
    const i = index[k]
    if (node[i] < 0) continue
    const r = Damon.regionOf(snap, key[k], hint)
    if (r >= 0) hint = r
    const acc = r >= 0 ? snap.accesses[r] : 0
    if (acc > 0) accessed[i >>> 5] |= 1 << (i & 31)
    if (count > 0 && i === lastIndex + 1 && accesses[count - 1] === acc) pages[count - 1]++
    else {
      start[count] = chunk.start + i
      pages[count] = 1
      accesses[count] = acc
      count++
    }
    lastIndex = i
  }
  return {
    _tag: "RegionSamples",
    kind: "region-sample",
    target: chunk.target,
    count,
    start: start.subarray(0, count),
    pages: pages.subarray(0, count),
    accesses: accesses.subarray(0, count)
  }
}
