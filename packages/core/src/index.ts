/**
 * @kmm/core: the scan and migrate interfaces, tunables, counters, events and the
 * tiering daemon. Each module is also importable on its own, e.g. `@kmm/core/Daemon`.
 *
 * @since 0.1.0
 */
export * as Backend from "./Backend.js"
export * as Bitset from "./Bitset.js"
export * as Config from "./Config.js"
export * as Counters from "./Counters.js"
export * as Daemon from "./Daemon.js"
export * as Errors from "./Errors.js"
export * as Events from "./Events.js"
export * as GroundTruth from "./GroundTruth.js"
export * as InFlight from "./InFlight.js"
export * as MigrationPlan from "./MigrationPlan.js"
export * as Observation from "./Observation.js"
export * as PageState from "./PageState.js"
export * as Plugin from "./Plugin.js"
export * as Policy from "./Policy.js"
export * as Regions from "./Regions.js"
export * as ScanChunk from "./ScanChunk.js"
export * as ScanPeriod from "./ScanPeriod.js"
export * as Stack from "./Stack.js"
export * as Target from "./Target.js"
export * as TestBackend from "./TestBackend.js"
export * as TestKit from "./TestKit.js"
export * as TestPolicy from "./TestPolicy.js"
export * as Topology from "./Topology.js"
export * as Tunables from "./Tunables.js"
export * as VirtualTime from "./VirtualTime.js"
