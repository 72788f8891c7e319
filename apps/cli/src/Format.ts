/**
 * Number formatting for terminal output: sizes, shares, rates, and JSON that writes
 * non-finite numbers as null.
 */

/** Bytes in binary units: "1.5 GiB". */
export const bytes = (n: number): string => {
  if (!Number.isFinite(n)) return "-"
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]
  let v = n
  let u = 0
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`
}

/** A share as a percentage: "96.6%" ("-" when unknown). */
export const percent = (x: number | undefined): string => (x !== undefined && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "-")

/** A count or rate with a k/M/G suffix: "4.19M". */
export const count = (n: number): string => {
  if (!Number.isFinite(n)) return "-"
  const a = Math.abs(n)
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`
  return `${Math.round(n)}`
}

/** A whole number with thousands separators: "524,288". */
export const integer = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-")

/** Seconds with one decimal: "12.0s". */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`

/** JSON with NaN and Infinity written as null (JSON has neither). */
export const json = (value: unknown, indent?: number): string =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v), indent)

/** A bar of `width` cells filled to `share` (0..1). */
export const bar = (share: number, width: number): string => {
  const filled = Math.max(0, Math.min(width, Math.round((Number.isFinite(share) ? share : 0) * width)))
  return "█".repeat(filled) + "░".repeat(width - filled)
}
