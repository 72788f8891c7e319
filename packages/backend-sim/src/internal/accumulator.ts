/** Sums over a span of virtual time, turned into result totals at the end of the span. */
import type { Totals } from "../Results.js"

export class Accumulator {
  /** Accesses made, of them served by the top tier, and sum of their latencies (ns). */
  accesses = 0
  top = 0
  latency = 0
  /** The same for the oracle placement. */
  oAccesses = 0
  oTop = 0
  oLatency = 0
  promoted = 0
  demoted = 0
  lateral = 0
  pingPong = 0
  failed = 0
  evicted = 0
  scanned = 0
  scanNs = 0
  migrateNs = 0
  samples = 0

  add(o: Accumulator): void {
    this.accesses += o.accesses
    this.top += o.top
    this.latency += o.latency
    this.oAccesses += o.oAccesses
    this.oTop += o.oTop
    this.oLatency += o.oLatency
    this.promoted += o.promoted
    this.demoted += o.demoted
    this.lateral += o.lateral
    this.pingPong += o.pingPong
    this.failed += o.failed
    this.evicted += o.evicted
    this.scanned += o.scanned
    this.scanNs += o.scanNs
    this.migrateNs += o.migrateNs
    this.samples += o.samples
  }

  copy(): Accumulator {
    const c = new Accumulator()
    c.add(this)
    return c
  }

  totals(durationMs: number): Totals {
    const ratio = (a: number, b: number) => (b > 0 ? a / b : 0)
    return {
      accesses: this.accesses,
      topTierShare: ratio(this.top, this.accesses),
      meanLatencyNs: ratio(this.latency, this.accesses),
      oracleShare: ratio(this.oTop, this.oAccesses),
      oracleLatencyNs: ratio(this.oLatency, this.oAccesses),
      promoted: this.promoted,
      demoted: this.demoted,
      lateral: this.lateral,
      pingPong: this.pingPong,
      migrateFailed: this.failed,
      evicted: this.evicted,
      pagesScanned: this.scanned,
      scanPagesPerSec: ratio(this.scanned * 1000, durationMs),
      scanCpuMs: this.scanNs / 1e6,
      migrateMs: this.migrateNs / 1e6,
      samples: this.samples
    }
  }
}
