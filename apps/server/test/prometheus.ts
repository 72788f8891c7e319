/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for the
 * tests: it throws on anything the format does not allow, with the line number.
 *
 * Checked: metric and label names; label values and their escapes (\\, \", \n); sample
 * values (floats, NaN, +Inf, -Inf) and optional integer timestamps; HELP and TYPE at
 * most once per family, TYPE before the family's samples, known types; a family's
 * samples together; no series twice; counters not negative; a final newline.
 */

/** One sample. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/** One metric family. */
export interface Family {
  readonly name: string
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped"
  help?: string
  readonly samples: Array<Sample>
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const parseValue = (s: string, at: string): number => {
  if (s === "NaN") return NaN
  if (s === "+Inf" || s === "Inf") return Infinity
  if (s === "-Inf") return -Infinity
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${at}: "${s}" is not a sample value`)
  return Number(s)
}

/** The family a sample name belongs to (histogram and summary suffixes). */
const familyOf = (name: string, families: Map<string, Family>): string => {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length)
      const f = families.get(base)
      if (f !== undefined && (f.type === "histogram" || f.type === "summary")) return base
    }
  }
  return name
}

/** Parses `{a="x",b="y"}` starting at `i` (the "{"); returns the labels and the index after "}". */
const parseLabels = (line: string, i: number, at: string): [Record<string, string>, number] => {
  const labels: Record<string, string> = {}
  i++ // {
  while (true) {
    while (line[i] === " ") i++
    if (line[i] === "}") return [labels, i + 1]
    const nameStart = i
    while (i < line.length && /[a-zA-Z0-9_]/.test(line[i])) i++
    const name = line.slice(nameStart, i)
    if (!LABEL.test(name)) throw new Error(`${at}: bad label name "${name}"`)
    if (name in labels) throw new Error(`${at}: label "${name}" twice`)
    while (line[i] === " ") i++
    if (line[i] !== "=") throw new Error(`${at}: expected "=" after label ${name}`)
    i++
    while (line[i] === " ") i++
    if (line[i] !== '"') throw new Error(`${at}: expected a quoted value for label ${name}`)
    i++
    let value = ""
    while (true) {
      const c = line[i]
      if (c === undefined) throw new Error(`${at}: unterminated value of label ${name}`)
      if (c === '"') break
      if (c === "\\") {
        const e = line[i + 1]
        if (e === "\\") value += "\\"
        else if (e === '"') value += '"'
        else if (e === "n") value += "\n"
        else throw new Error(`${at}: bad escape \\${e} in label ${name}`)
        i += 2
        continue
      }
      value += c
      i++
    }
    i++ // closing quote
    labels[name] = value
    while (line[i] === " ") i++
    if (line[i] === ",") {
      i++
      continue
    }
    if (line[i] === "}") return [labels, i + 1]
    throw new Error(`${at}: expected "," or "}" after label ${name}`)
  }
}

/** Parses a whole exposition. */
export const parse = (text: string): Map<string, Family> => {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline")
  const families = new Map<string, Family>()
  const closed = new Set<string>()
  const series = new Set<string>()
  let current: string | undefined
  const lines = text.slice(0, -1).split("\n")
  const family = (name: string): Family => {
    let f = families.get(name)
    if (f === undefined) {
      f = { name, type: "untyped", samples: [] }
      families.set(name, f)
    }
    return f
  }
  lines.forEach((line, n) => {
    const at = `line ${n + 1}`
    if (line.trim() === "") return
    if (line.startsWith("#")) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line)
      if (m === null) return // a comment
      const [, kind, name, rest = ""] = m
      if (!METRIC.test(name)) throw new Error(`${at}: bad metric name "${name}"`)
      const f = family(name)
      if (kind === "HELP") {
        if (f.help !== undefined) throw new Error(`${at}: second HELP for ${name}`)
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ""))) throw new Error(`${at}: bad escape in HELP of ${name}`)
        f.help = rest
      } else {
        if (f.samples.length > 0) throw new Error(`${at}: TYPE of ${name} after its samples`)
        if (f.type !== "untyped" || !TYPES.has(rest.trim())) throw new Error(`${at}: bad or second TYPE for ${name}: "${rest}"`)
        f.type = rest.trim() as Family["type"]
      }
      return
    }
    let i = 0
    while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i])) i++
    const name = line.slice(0, i)
    if (!METRIC.test(name)) throw new Error(`${at}: bad metric name in "${line}"`)
    let labels: Record<string, string> = {}
    if (line[i] === "{") [labels, i] = parseLabels(line, i, at)
    const rest = line.slice(i)
    if (!/^ +\S/.test(rest)) throw new Error(`${at}: expected a space and a value after ${name}`)
    const parts = rest.trim().split(/ +/)
    if (parts.length > 2) throw new Error(`${at}: trailing text "${parts.slice(2).join(" ")}"`)
    const value = parseValue(parts[0], at)
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${at}: bad timestamp "${parts[1]}"`)
    const familyName = familyOf(name, families)
    if (current !== familyName) {
      if (current !== undefined) closed.add(current)
      if (closed.has(familyName)) throw new Error(`${at}: samples of ${familyName} are not together`)
      current = familyName
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`
    if (series.has(key)) throw new Error(`${at}: series ${key} twice`)
    series.add(key)
    const f = family(familyName)
    if (f.type === "counter" && !(value >= 0)) throw new Error(`${at}: counter ${name} is ${value}`)
    f.samples.push({ name, labels, value })
  })
  return families
}

/** The value of the one sample of `name` with these labels. */
export const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined => {
  const f = families.get(name)
  const s = f?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v))
  return s?.value
}
