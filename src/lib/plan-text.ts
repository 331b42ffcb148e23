import { stripAnsi } from './ansi.js';

/**
 * Terraform's human-readable plan (`terraform show -no-color <planfile>`) as the body of a ```diff block:
 * Terraform indents its action markers (`  + ami = "bar"`), but GitHub colours a diff line by its first
 * character only, so the marker moves to the first column (`+   ami = "bar"`, the same width) and `~`
 * becomes `!`, which GitHub shows as changed. Lines are taken whole, in order, until a budget is spent,
 * so a 5 MB plan costs no more than the part of it that is shown.
 */

/** A line longer than this is cut: one huge value should not push the rest of the plan out. */
export const MAX_PLAN_LINE_LENGTH = 2_000;

/** Terraform's action markers at the start of a line: `+`, `-`, `~`, `-/+`, `+/-`, then a space or the end. */
const ACTION_MARKER = /^( *)(-\/\+|\+\/-|[+~-])(?= |$)/;
/** First characters a diff highlighter gives a meaning to; plain lines starting with one get a space. */
const DIFF_SIGNIFICANT = /^[+\-!<>@]/;

export function toDiffLine(line: string): string {
  const match = ACTION_MARKER.exec(line);
  if (!match) return DIFF_SIGNIFICANT.test(line) ? ` ${line}` : line;
  const [whole, indent = '', marker = ''] = match;
  const firstColumn = marker === '~' ? '!' : marker;
  return firstColumn + indent + line.slice(whole.length);
}

export interface PlanTextExcerpt {
  /** The lines shown, translated for a diff block and scrubbed, joined with `\n`. */
  text: string;
  shownLines: number;
  totalLines: number;
  /** Whether lines were left out (or a line was cut) to keep within the budget. */
  shortened: boolean;
}

/**
 * The leading whole lines of `textPlan` that fit in `budget` (as measured by `measure`, one more per
 * line for its line break), each with ANSI colours removed, scrubbed by `scrubLine`, and translated
 * for a diff block.
 */
export function excerptPlanText(
  textPlan: string,
  budget: number,
  scrubLine: (line: string) => string,
  measure: (text: string) => number = (text) => text.length,
): PlanTextExcerpt {
  const lines: string[] = [];
  let used = 0;
  let shortened = false;
  // A final line break ends the last line rather than starting an empty one.
  const body = textPlan.endsWith('\n') ? textPlan.slice(0, -1) : textPlan;
  let start = 0;
  while (body !== '') {
    const newline = body.indexOf('\n', start);
    let line = body.slice(start, newline === -1 ? body.length : newline);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    line = stripAnsi(line);
    line = scrubLine(line);
    if (line.length > MAX_PLAN_LINE_LENGTH) {
      line = `${line.slice(0, MAX_PLAN_LINE_LENGTH)} … (line shortened)`;
      shortened = true;
    }
    line = toDiffLine(line);
    const cost = measure(line) + 1;
    if (used + cost > budget) {
      shortened = true;
      break;
    }
    lines.push(line);
    used += cost;
    if (newline === -1) break;
    start = newline + 1;
  }
  const totalLines = body === '' ? 0 : countLines(body);
  return { text: lines.join('\n'), shownLines: lines.length, totalLines, shortened: shortened || lines.length < totalLines };
}

/** Lines in `text`, which has no final line break. */
function countLines(text: string): number {
  let count = 1;
  for (let index = text.indexOf('\n'); index !== -1; index = text.indexOf('\n', index + 1)) count++;
  return count;
}
