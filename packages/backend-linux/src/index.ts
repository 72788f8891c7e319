/**
 * @kmm/backend-linux: kmm on a real Linux host. Each module is also importable on its
 * own, e.g. `@kmm/backend-linux/LinuxBackend`.
 *
 * @since 0.1.0
 */
import type { Backend } from "@kmm/core/Backend"
import type { BackendFailure, PermissionDenied } from "@kmm/core/Errors"
import type * as Layer from "effect/Layer"
import * as LinuxBackend from "./LinuxBackend.js"
import * as LinuxConfig from "./LinuxConfig.js"

export * as Damon from "./Damon.js"
export * as Doctor from "./Doctor.js"
export * as HostTopology from "./HostTopology.js"
export * as IdlePage from "./IdlePage.js"
export * as Inspect from "./Inspect.js"
export * as LinuxBackend from "./LinuxBackend.js"
export * as LinuxConfig from "./LinuxConfig.js"
export * as Maps from "./Maps.js"
export * as MovePages from "./MovePages.js"
export * as PageFlags from "./PageFlags.js"
export * as Pagemap from "./Pagemap.js"
export * as Processes from "./Processes.js"
export * as SoftDirty from "./SoftDirty.js"
export * as Sources from "./Sources.js"

/**
 * The plug-in descriptor: how `kmm` finds this backend by name, validates its options
 * (`backend: { name: "linux", options: {...} }`) and builds it.
 *
 * @since 0.1.0
 */
export const descriptor: {
  readonly name: "linux"
  readonly kind: "backend"
  readonly coreRange: string
  readonly description: string
  readonly configSchema: typeof LinuxConfig.LinuxConfig
  readonly layer: (
    config: LinuxConfig.LinuxConfigInput
  ) => Layer.Layer<Backend | LinuxBackend.Linux, LinuxConfig.LinuxConfigError | BackendFailure | PermissionDenied>
} = {
  name: "linux",
  kind: "backend",
  coreRange: "^0.1.0",
  description: "a real Linux host: /proc pagemap scans, idle-page/DAMON/soft-dirty accessed bits, move_pages migration",
  configSchema: LinuxConfig.LinuxConfig,
  layer: (config) => LinuxBackend.layer(config)
}
