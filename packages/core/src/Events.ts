/**
 * Events the daemon publishes (its tracepoints, as data): apps subscribe to them.
 *
 * @since 0.1.0
 */
import type { TunableValues } from "./Tunables.js"

/**
 * @since 0.1.0
 */
export type DaemonEvent =
  | {
      readonly _tag: "ScanPass"
      readonly time: number
      readonly pass: number
      readonly targets: number
      readonly scanned: number
      readonly accessed: number
      readonly slowtier: number
      readonly planned: number
    }
  | {
      readonly _tag: "SweepDone"
      readonly time: number
      readonly target: number
      readonly found: number
      readonly periodMs: number
    }
  | {
      readonly _tag: "Migrated"
      readonly time: number
      readonly target: number
      readonly destination: number
      readonly direction: "promote" | "demote"
      readonly moved: number
      readonly failed: number
    }
  | { readonly _tag: "TargetAppeared"; readonly time: number; readonly target: number; readonly name: string }
  | { readonly _tag: "TargetGone"; readonly time: number; readonly target: number; readonly during: string }
  | { readonly _tag: "TargetScale"; readonly time: number; readonly target: number; readonly scale: number }
  | { readonly _tag: "TunablesChanged"; readonly time: number; readonly tunables: TunableValues }
  | { readonly _tag: "BackendError"; readonly time: number; readonly operation: string; readonly message: string }
