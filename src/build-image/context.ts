import { readFileSync, existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { create as createTar } from 'tar';

/**
 * The build context as `docker build` would send it: every file under the context directory except
 * what .dockerignore excludes, packed as a gzipped tar for ACR Tasks.
 *
 * .dockerignore is not .gitignore: its patterns are matched from the context root only (`*.md` is
 * `/*.md`; use `**\/*.md` for any depth), and a `!` exception can re-include a file inside an excluded
 * directory (gitignore cannot). So each pattern is anchored and compiled on its own with the `ignore`
 * package (which matches a path or any of its parent directories, as Docker's matcher does), and the
 * last pattern that matches a path decides, as in Docker's PatternMatcher.
 */

export interface ContextFiles {
  /** Relative paths with forward slashes, sorted. */
  files: string[];
  excludedCount: number;
  patterns: string[];
}

/** .dockerignore lines → gitignore patterns with the same meaning. */
export function dockerignorePatterns(text: string): string[] {
  const patterns: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    // Docker cleans the pattern like a path: drop a leading "/" or "./", and "dir/" means "dir".
    line = line.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
    if (!line || line === '.') continue;
    const anchored = line.startsWith('**') ? line : `/${line}`;
    patterns.push(`${negated ? '!' : ''}${anchored}`);
  }
  return patterns;
}

/** Whether Docker would leave `relativePath` out of the context, given the anchored patterns in order. */
export function createExcluder(patterns: readonly string[]): (relativePath: string) => boolean {
  const rules: { exception: boolean; matcher: Ignore }[] = patterns.map((pattern) => {
    const exception = pattern.startsWith('!');
    return { exception, matcher: ignore().add(exception ? pattern.slice(1) : pattern) };
  });
  return (relativePath) => {
    let excluded = false;
    for (const rule of rules) if (rule.matcher.ignores(relativePath)) excluded = !rule.exception;
    return excluded;
  };
}

export async function listContextFiles(contextDir: string, alwaysInclude: readonly string[] = []): Promise<ContextFiles> {
  const ignorePath = path.join(contextDir, '.dockerignore');
  const patterns = existsSync(ignorePath) ? dockerignorePatterns(readFileSync(ignorePath, 'utf8')) : [];
  const isExcluded = createExcluder(patterns);
  const hasExceptions = patterns.some((pattern) => pattern.startsWith('!'));
  const files: string[] = [];
  let excludedCount = 0;

  async function walk(relativeDir: string): Promise<void> {
    const entries = await readdir(path.join(contextDir, relativeDir), { withFileTypes: true });
    for (const entry of entries) {
      const relative = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Without exceptions an excluded directory cannot hold anything that is sent: skip it whole.
        if (!hasExceptions && isExcluded(`${relative}/`)) {
          excludedCount++;
          continue;
        }
        await walk(relative);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (isExcluded(relative) && !alwaysInclude.includes(relative)) excludedCount++;
        else files.push(relative);
      }
    }
  }
  await walk('');
  for (const file of alwaysInclude) if (!files.includes(file) && existsSync(path.join(contextDir, file))) files.push(file);
  files.sort();
  return { files, excludedCount, patterns };
}

/** A gzipped tar of `files` (relative to `contextDir`), without owner names or ids. */
export async function packContext(contextDir: string, files: readonly string[]): Promise<Buffer> {
  const stream = createTar({ gzip: true, cwd: contextDir, portable: true, noDirRecurse: true }, [...files]);
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Terraform's working data among the files a build would send: `.terraform/` folders (provider
 * binaries, modules, the backend's settings) and state files (every value, sensitive ones included, in
 * clear text). Nothing an image needs, and a `COPY . .` would put them in it. Each `.terraform/` folder
 * is named once, with a trailing slash.
 */
export function terraformWorkingFiles(files: readonly string[]): string[] {
  const found = new Set<string>();
  for (const file of files) {
    const parts = file.split('/');
    const folder = parts.indexOf('.terraform');
    if (folder >= 0) found.add(`${parts.slice(0, folder + 1).join('/')}/`);
    else if (/\.tfstate(\.backup)?$/.test(file)) found.add(file);
  }
  return [...found].sort();
}

/**
 * The warning for a context that holds Terraform's working data, or undefined when it holds none.
 * build-image sends the context as Docker would (its .dockerignore decides, in both modes), so it
 * warns rather than leaving files out on its own: the fix belongs in the caller's .dockerignore, or in
 * the step that left the files there (deploy.yml removes its own before building).
 */
export function terraformFilesWarning(files: readonly string[]): string | undefined {
  const found = terraformWorkingFiles(files);
  if (found.length === 0) return undefined;
  const shown = found.length > 5 ? `${found.slice(0, 5).join(', ')} and ${found.length - 5} more` : found.join(', ');
  return (
    `The build context holds Terraform's working files (${shown}): provider binaries, the backend's settings and, in a state file, ` +
    'every value in clear text. They reach the registry with the context, and a `COPY . .` puts them in the image. ' +
    'Add "**/.terraform" and "**/*.tfstate*" to the .dockerignore at the root of the context, or build from a directory without them.'
  );
}
