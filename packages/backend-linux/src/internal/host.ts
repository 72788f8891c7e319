/** Facts about the running kernel and process: page size, kernel config, capabilities. */
import * as fs from "node:fs"
import * as os from "node:os"
import * as zlib from "node:zlib"

let cachedPageSize: number | undefined

/** The base page size, from the auxiliary vector (AT_PAGESZ); 4096 if unreadable. */
export const pageSize = (): number => {
  if (cachedPageSize !== undefined) return cachedPageSize
  let size = 4096
  try {
    const auxv = fs.readFileSync("/proc/self/auxv")
    const words = new BigUint64Array(auxv.buffer, auxv.byteOffset, Math.floor(auxv.length / 8))
    for (let i = 0; i + 1 < words.length; i += 2) {
      if (words[i] === 6n) {
        size = Number(words[i + 1])
        break
      }
      if (words[i] === 0n) break
    }
  } catch {
    // keep 4096
  }
  cachedPageSize = size
  return size
}

/** log2 of the page size. */
export const pageShift = (): number => Math.round(Math.log2(pageSize()))

/** The kernel release (uname -r). */
export const release = (): string => os.release()

let cachedConfig: { readonly source: string; readonly values: ReadonlyMap<string, string> } | null | undefined

/**
 * The kernel's build configuration, from /proc/config.gz or /boot/config-RELEASE, or
 * null when neither is readable. Values are "y", "m", or a string; an option that is
 * "not set" is absent.
 */
export const kernelConfig = (): { readonly source: string; readonly values: ReadonlyMap<string, string> } | null => {
  if (cachedConfig !== undefined) return cachedConfig
  cachedConfig = null
  for (const [source, load] of [
    ["/proc/config.gz", () => zlib.gunzipSync(fs.readFileSync("/proc/config.gz")).toString("latin1")],
    [`/boot/config-${release()}`, () => fs.readFileSync(`/boot/config-${release()}`, "latin1")]
  ] as const) {
    try {
      const values = new Map<string, string>()
      for (const line of load().split("\n")) {
        const eq = line.indexOf("=")
        if (line.startsWith("CONFIG_") && eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1))
      }
      cachedConfig = { source, values }
      break
    } catch {
      // try the next one
    }
  }
  return cachedConfig
}

/**
 * Whether the kernel was built with an option: true, false, or undefined when the
 * configuration is not readable.
 */
export const configHas = (option: string): boolean | undefined => {
  const config = kernelConfig()
  if (config === null) return undefined
  const v = config.values.get(option)
  return v === "y" || v === "m"
}

/** Capability numbers kmm cares about. */
export const Cap = { SYS_PTRACE: 19, SYS_ADMIN: 21, SYS_NICE: 23 } as const

/** The effective capability set of this process (from /proc/self/status). */
export const effectiveCaps = (): bigint => {
  try {
    const status = fs.readFileSync("/proc/self/status", "latin1")
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)
    return m === null ? 0n : BigInt(`0x${m[1]}`)
  } catch {
    return 0n
  }
}

/** Whether this process has a capability in its effective set. */
export const hasCap = (cap: number): boolean => ((effectiveCaps() >> BigInt(cap)) & 1n) === 1n

/** Parses a kernel list such as "0-3,8,10-11". */
export const parseList = (text: string): Array<number> => {
  const out: Array<number> = []
  for (const part of text.trim().split(",")) {
    if (part === "") continue
    const [a, b] = part.split("-")
    const lo = Number(a)
    const hi = b === undefined ? lo : Number(b)
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) continue
    for (let i = lo; i <= hi; i++) out.push(i)
  }
  return out
}
