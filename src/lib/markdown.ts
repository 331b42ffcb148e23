/**
 * Markdown that text from outside (Terraform addresses and values, user inputs, tool output) cannot
 * break out of. GitHub renders comments and job summaries as GitHub Flavored Markdown with inline HTML,
 * so an unescaped backtick, `</details>`, a pipe or a blank line in a value could close a code block,
 * a collapsible section or a table early and let the rest of the text render as markup (or ping people).
 */

/** The longest run of `character` in `text` (0 when absent). */
function longestRun(text: string, character: string): number {
  let longest = 0;
  let index = text.indexOf(character);
  while (index !== -1) {
    let end = index + 1;
    while (text[end] === character) end++;
    if (end - index > longest) longest = end - index;
    index = text.indexOf(character, end);
  }
  return longest;
}

/**
 * An inline code span showing `text` literally, whatever it holds: the delimiter is one backtick longer
 * than any run inside, line breaks are shown as `\n` (a raw one could end the paragraph and the span
 * with it), and a leading or trailing backtick or space is padded so CommonMark keeps it.
 */
export function inlineCode(text: string): string {
  if (text === '') return '` `';
  // Most texts (resource addresses) need none of the care below; this is the hot path of a large plan.
  if (!text.includes('`') && !text.includes('\n') && !text.includes('\r') && text[0] !== ' ' && text[text.length - 1] !== ' ') return `\`${text}\``;
  const oneLine = /[\r\n]/.test(text) ? text.replace(/\r\n|\r|\n/g, '\\n') : text;
  const fence = '`'.repeat(longestRun(oneLine, '`') + 1);
  const pad = /^[` ]|[` ]$/.test(oneLine) ? ' ' : '';
  return `${fence}${pad}${oneLine}${pad}${fence}`;
}

/** The fence for a fenced code block holding `text`: backticks, longer than any run of them inside. */
export function codeFence(text: string): string {
  return '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
}

/** A fenced code block that nothing in `text` can close early. */
export function codeBlock(text: string, info = ''): string {
  const fence = codeFence(text);
  return `${fence}${info}\n${text}\n${fence}`;
}

/**
 * Plain text as Markdown prose: punctuation that starts markup is backslash-escaped, `<` and `&` become
 * entities (no inline HTML), line breaks become spaces, and `@` is followed by a zero-width space so
 * `@org/team` in a value notifies no one.
 */
export function escapeMarkdownText(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_{}[\]()#+\-.!|~]/g, '\\$&')
    .replace(/@/g, '@\u200b');
}

/**
 * Escapes what would break a Markdown table cell (a pipe, a line break), and nothing else: cells may
 * hold Markdown on purpose (inline code, links).
 */
export function escapeCell(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** A GitHub table; each cell goes through escapeCell. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const lines = [
    `| ${headers.map(escapeCell).join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** Text for inside an HTML element (`<summary>`): entities only. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
