import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * A light scan of a root module's Terraform files, for the few facts the actions read from the
 * configuration itself (the `required_providers` blocks for the plugin cache key, the variables that
 * choose a VM size for failure guidance) without an HCL parser. Braces are counted as they stand: a
 * brace inside a string or a comment in such a block is not expected and not handled.
 */

/** The `.tf` files of `directory` with their text, in file-name order; none when it does not exist. */
export function terraformFiles(directory: string): { name: string; text: string }[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((name) => name.endsWith('.tf'))
    .sort()
    .map((name) => ({ name, text: readFileSync(path.join(directory, name), 'utf8') }));
}

export interface HclBlock {
  /** The match of the header pattern (its capture groups name the block). */
  header: RegExpExecArray;
  /** From the start of the header to the matching `}` (inclusive), or to the end of the text when unclosed. */
  text: string;
  closed: boolean;
}

/** Every block of `text` whose header matches `header`, a global pattern that ends with the block's `{`. */
export function hclBlocks(text: string, header: RegExp): HclBlock[] {
  const blocks: HclBlock[] = [];
  for (const match of text.matchAll(header)) {
    const open = match.index + match[0].length - 1;
    const close = matchingBrace(text, open);
    blocks.push({ header: match as RegExpExecArray, text: text.slice(match.index, close === -1 ? text.length : close + 1), closed: close !== -1 });
  }
  return blocks;
}

/** The index of the `}` that closes the `{` at `open`, or -1. */
function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}
