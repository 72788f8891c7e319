/**
 * Help text of a command: paragraphs, then examples (a command line and what it does).
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Span from "@effect/cli/HelpDoc/Span"

/** A command's description with examples. */
export const doc = (
  paragraphs: ReadonlyArray<string>,
  examples: readonly [readonly [command: string, what: string], ...Array<readonly [command: string, what: string]>]
): HelpDoc.HelpDoc => {
  const item = ([command, what]: readonly [string, string]): [Span.Span, HelpDoc.HelpDoc] => [Span.code(`$ ${command}`), HelpDoc.p(what)]
  return HelpDoc.blocks([
    ...paragraphs.map((p) => HelpDoc.p(p)),
    HelpDoc.h2("EXAMPLES"),
    HelpDoc.descriptionList([item(examples[0]), ...examples.slice(1).map(item)])
  ])
}
