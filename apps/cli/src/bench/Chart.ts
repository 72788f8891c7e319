/**
 * The bench's chart of one workload: top-tier access share over time, one line per
 * policy, and the oracle's share as a dashed line; an SVG document. Scales, ticks and
 * path data come from d3 (d3-scale, d3-shape); this module only lays them out.
 */
import { scaleLinear, scaleOrdinal } from "d3-scale"
import { schemeTableau10 } from "d3-scale-chromatic"
import { line } from "d3-shape"
import type * as Figures from "./Figures.js"

/** One line of the chart. */
export interface Line {
  readonly name: string
  readonly points: ReadonlyArray<Figures.Point>
}

const WIDTH = 860
const HEIGHT = 440
const MARGIN = { top: 62, right: 170, bottom: 48, left: 60 }
/** Characters per subtitle line (two lines at most). */
const SUBTITLE_CHARS = 115

/** Splits text into at most two lines on word boundaries, eliding the rest. */
const twoLines = (text: string): ReadonlyArray<string> => {
  const lines: Array<string> = [""]
  for (const word of text.split(/\s+/)) {
    const last = lines[lines.length - 1]
    if (last.length + word.length + 1 <= SUBTITLE_CHARS || last === "") lines[lines.length - 1] = last === "" ? word : `${last} ${word}`
    else if (lines.length < 2) lines.push(word)
    else {
      lines[1] = `${lines[1].slice(0, SUBTITLE_CHARS - 3)}...`
      break
    }
  }
  return lines
}

const escape = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** The SVG document for a workload. */
export const svg = (title: string, subtitle: string, lines: ReadonlyArray<Line>): string => {
  const tMax = Math.max(1, ...lines.flatMap((l) => l.points.map((p) => p.t)))
  const x = scaleLinear().domain([0, tMax]).range([MARGIN.left, WIDTH - MARGIN.right])
  const y = scaleLinear().domain([0, 1]).range([HEIGHT - MARGIN.bottom, MARGIN.top])
  const colour = scaleOrdinal<string, string>(schemeTableau10).domain(lines.map((l) => l.name))
  const path = (value: (p: Figures.Point) => number) =>
    line<Figures.Point>()
      .defined((p) => Number.isFinite(value(p)))
      .x((p) => x(p.t))
      .y((p) => y(value(p)))
  // The oracle's share is the same for every policy on a workload: take the first line's.
  const oracle = lines[0]?.points ?? []
  const xTicks = x.ticks(8)
  const yTicks = y.ticks(5)
  const yFormat = y.tickFormat(5, "%")
  const parts: Array<string> = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    ...twoLines(subtitle).map((l, i) => `<text x="${MARGIN.left}" y="${36 + i * 15}" fill="#555">${escape(l)}</text>`),
    ...yTicks.map(
      (v) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/><text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end">${yFormat(v)}</text>`
    ),
    ...xTicks.map(
      (v) =>
        `<line x1="${x(v)}" x2="${x(v)}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom + 5}" stroke="#333"/><text x="${x(v)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${v}</text>`
    ),
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">time (s, virtual)</text>`,
    `<text transform="translate(16 ${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle">top-tier access share</text>`,
    ...lines.map(
      (l) => `<path d="${path((p) => p.share)(l.points) ?? ""}" fill="none" stroke="${colour(l.name)}" stroke-width="2"><title>${escape(l.name)}</title></path>`
    ),
    // The oracle last, so it stays visible where a policy matches it.
    `<path d="${path((p) => p.oracle)(oracle) ?? ""}" fill="none" stroke="#222" stroke-width="1.5" stroke-dasharray="6 4"><title>oracle</title></path>`,
    ...[{ name: "oracle", stroke: "#222", dash: ' stroke-dasharray="6 4"' }, ...lines.map((l) => ({ name: l.name, stroke: colour(l.name), dash: "" }))].map(
      (item, i) => {
        const ly = MARGIN.top + 10 + i * 20
        const lx = WIDTH - MARGIN.right + 16
        return `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${item.stroke}" stroke-width="2"${item.dash}/><text x="${lx + 30}" y="${ly + 4}">${escape(item.name)}</text>`
      }
    ),
    "</svg>"
  ]
  return parts.join("\n") + "\n"
}
