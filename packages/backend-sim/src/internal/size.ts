/** Sizes written by people: 4096, "512MiB", "4 GiB", "4G", "1.5 TB". */

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1e3,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1e6,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1e9,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1e12
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/

/** Bytes of a size string, or undefined when it is not one. Binary for K/M/G/T and KiB..., decimal for KB... */
export const parseBytes = (text: string): number | undefined => {
  const m = SIZE.exec(text)
  if (m === null) return undefined
  const unit = UNITS[m[2].toLowerCase()]
  if (unit === undefined) return undefined
  const bytes = Math.round(Number(m[1]) * unit)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}
