/**
 * Durations and speeds as written on the command line: `30s`, `5m`, `1h`, `1h30m`,
 * `250ms`, or a bare number of seconds; a speed is a factor (`10`, `10x`) or `max`.
 */
import * as Either from "effect/Either"

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Parses a duration into milliseconds. */
export const parse = (text: string): Either.Either<number, string> => {
  const s = text.trim().toLowerCase()
  const fail = Either.left(`expected a duration such as 30s, 5m, 1h, 1h30m or 250ms, found "${text}"`)
  if (/^\d+(\.\d+)?$/.test(s)) return Either.right(Number(s) * 1000)
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== s) return fail
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0)
  return ms > 0 ? Either.right(ms) : Either.left(`a duration must be longer than zero, found "${text}"`)
}

/** Formats milliseconds the way `parse` reads them: 90000 is "1m30s". */
export const format = (ms: number): string => {
  if (!Number.isFinite(ms)) return "until stopped"
  if (ms < 1000) return `${Math.round(ms)}ms`
  const parts: Array<string> = []
  let rest = Math.round(ms)
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  if (rest > 0) parts.push(`${Number((rest / 1000).toFixed(3))}s`)
  return parts.join("")
}

/** Parses a speed: virtual ms per wall ms, or Infinity for `max`. */
export const parseSpeed = (text: string): Either.Either<number, string> => {
  const s = text.trim().toLowerCase()
  if (s === "max") return Either.right(Infinity)
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(s)
  const v = m ? Number(m[1]) : NaN
  return v > 0 ? Either.right(v) : Either.left(`expected a speed such as 1, 10x or max, found "${text}"`)
}

/** "10x", "max". */
export const formatSpeed = (speed: number): string => (Number.isFinite(speed) ? `${speed}x` : "max")
