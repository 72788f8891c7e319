/**
 * Tables for terminal output (cli-table3), without colours so they read the same
 * on a terminal, in a pipe and in a file.
 */
import CliTable from "cli-table3"

/** Options of `render`. */
export interface Options {
  /** Right-aligned columns, by index (numbers). */
  readonly right?: ReadonlyArray<number>
  /** Column widths (null: as wide as the content); columns with a width wrap on words. */
  readonly widths?: ReadonlyArray<number | null>
}

/** Renders rows under a header. */
export const render = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>, options: Options = {}): string => {
  const table = new CliTable({
    head: [...head],
    style: { head: [], border: [], "padding-left": 1, "padding-right": 1 },
    colAligns: head.map((_, i) => (options.right?.includes(i) ? "right" : "left")),
    ...(options.widths ? { colWidths: [...options.widths], wordWrap: true, wrapOnWordBoundary: true } : {})
  })
  for (const row of rows) table.push(row.map((c) => (typeof c === "number" ? String(c) : c)))
  return table.toString()
}
