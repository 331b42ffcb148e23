import { stripVTControlCharacters } from 'node:util';

/**
 * Terminal escape sequences (colours, erase-to-end-of-line, cursor moves, hyperlinks) removed from a
 * tool's output — Terraform without -no-color, Metaflow when it thinks it has a terminal — so the text
 * can be parsed, quoted in a summary or compared. Node's own matcher covers every sequence a terminal
 * understands; the check in front keeps the common case (no escape at all) free.
 */
export function stripAnsi(text: string): string {
  return text.includes('\u001b') || text.includes('\u009b') ? stripVTControlCharacters(text) : text;
}
