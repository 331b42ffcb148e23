import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../lib/errors.js';

/**
 * Which flows the `flows` input names. Each line is one of:
 *
 *   path/to/flow.py:function   the function (Prefect's own entrypoint form);
 *   path/to/flow.py            the one @flow-decorated function defined at the top level of that file;
 *   flows/*\/flow.py           a glob (`*`, `**`, `?`, `[...]`; no `{a,b}`): every matching file, each with
 *                              its one @flow function (files without one are skipped; a glob matching
 *                              none is an error).
 *
 * Finding the @flow function is a plain text scan, not Python: a top-level `def`/`async def` preceded
 * by `@flow`, `@flow(...)`, `@prefect.flow` or `@prefect.flow(...)` (other decorators may sit between).
 * Its Prefect flow name is `name="..."` of the decorator when that is a string literal, otherwise the
 * function name with `_` turned into `-` — what Prefect itself does. Anything cleverer (a flow made
 * with `flow(fn)`, a computed name) needs the explicit `file.py:function` form.
 */

export interface FlowEntrypoint {
  /** The `flows` line it came from. */
  line: string;
  /** Absolute path of the flow file. */
  file: string;
  /** The file relative to the working directory, `/`-separated (for messages). */
  displayPath: string;
  /** Empty for Metaflow, which runs the file itself. */
  functionName: string;
  /** Prefect's flow name (Prefect) or the file's stem (Metaflow, until Metaflow reports the class). */
  flowName: string;
}

export interface FlowFunction {
  functionName: string;
  flowName: string;
  /** The decorator gave a name that is not a string literal; `flowName` is the function-name default. */
  nameIsComputed: boolean;
}

const FLOW_DECORATOR = /^@(?:prefect\.)?flow\b/;
const TOP_LEVEL_DEF = /^(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/;

/** The top-level @flow functions of a Python source, in order. */
export function findFlowFunctions(source: string): FlowFunction[] {
  const lines = source.split(/\r?\n/);
  const found: FlowFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FLOW_DECORATOR.test(lines[i]!)) continue;
    // The decorator may span lines: gather until its parentheses balance.
    let decorator = lines[i]!;
    let depth = (decorator.match(/\(/g) ?? []).length - (decorator.match(/\)/g) ?? []).length;
    while (depth > 0 && i + 1 < lines.length) {
      decorator += `\n${lines[++i]}`;
      depth += (lines[i]!.match(/\(/g) ?? []).length - (lines[i]!.match(/\)/g) ?? []).length;
    }
    // Skip further decorators, blank lines and comments up to the def.
    let j = i + 1;
    while (j < lines.length && (/^\s*(#.*)?$/.test(lines[j]!) || lines[j]!.startsWith('@'))) {
      if (lines[j]!.startsWith('@')) {
        let inner = (lines[j]!.match(/\(/g) ?? []).length - (lines[j]!.match(/\)/g) ?? []).length;
        while (inner > 0 && j + 1 < lines.length) {
          j++;
          inner += (lines[j]!.match(/\(/g) ?? []).length - (lines[j]!.match(/\)/g) ?? []).length;
        }
      }
      j++;
    }
    const def = TOP_LEVEL_DEF.exec(lines[j] ?? '');
    if (!def) continue;
    const functionName = def[1]!;
    const literal = /\bname\s*=\s*(?:"([^"\\\n]*)"|'([^'\\\n]*)')/.exec(decorator);
    const computed = !literal && /\bname\s*=/.test(decorator);
    found.push({ functionName, flowName: literal ? (literal[1] ?? literal[2])! : functionName.replace(/_/g, '-'), nameIsComputed: computed });
    i = j;
  }
  return found;
}

function isGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/** `file` must stay inside `root`: a flow directory is uploaded whole, and `../..` could be the runner's home. */
function insideRoot(root: string, file: string, line: string): void {
  const relative = path.relative(root, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new ConfigurationError('flows', `names ${JSON.stringify(line)}, which is outside the working directory ${root}`, 'Keep flows inside the repository (paths are relative to "working-directory").');
  }
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

async function expandGlob(root: string, pattern: string): Promise<string[]> {
  const glob = await import('@actions/glob');
  const globber = await glob.create(path.join(root, pattern), { matchDirectories: false, implicitDescendants: false });
  return (await globber.glob()).sort();
}

function toPosix(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Resolves the `flows` lines for Prefect, reading each file to find or check its flow function. */
export async function resolvePrefectFlows(lines: readonly string[], root: string): Promise<FlowEntrypoint[]> {
  const result: FlowEntrypoint[] = [];
  for (const line of lines) {
    const colon = line.lastIndexOf(':');
    // "C:\..." is not an entrypoint separator; a function name never holds a path separator.
    const explicit = colon > 1 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(line.slice(colon + 1));
    const filePart = explicit ? line.slice(0, colon) : line;
    if (!filePart.endsWith('.py') && !isGlob(filePart)) {
      throw new ConfigurationError('flows', `line ${JSON.stringify(line)} does not name a .py file`, 'Write each flow as path/to/flow.py:function, path/to/flow.py, or a glob of .py files.');
    }
    if (explicit && isGlob(filePart)) {
      throw new ConfigurationError('flows', `line ${JSON.stringify(line)} combines a glob with a function name`, 'Name one file with :function, or use a glob without :function (each file\'s @flow function is found).');
    }
    const files = isGlob(filePart) ? await expandGlob(root, filePart) : [path.resolve(root, filePart)];
    let matched = 0;
    for (const file of files) {
      insideRoot(root, file, line);
      if (!(await isFile(file))) {
        throw new ConfigurationError('flows', `line ${JSON.stringify(line)} names ${toPosix(root, file)}, which is not a file under ${root}`, 'Check the path (relative to "working-directory") and that the repository is checked out (actions/checkout).');
      }
      const source = await readFile(file, 'utf8');
      const functions = findFlowFunctions(source);
      let chosen: FlowFunction | undefined;
      if (explicit) {
        const name = line.slice(colon + 1);
        chosen = functions.find((f) => f.functionName === name);
        if (!chosen) {
          // Not decorated in place (e.g. `my_flow = flow(fn)`), but defined at the top level: accept it.
          if (!new RegExp(`^(?:(?:async\\s+)?def\\s+${name}\\s*\\(|${name}\\s*=)`, 'm').test(source)) {
            throw new ConfigurationError('flows', `line ${JSON.stringify(line)}: ${toPosix(root, file)} defines no top-level ${name}`, `Check the function name; the @flow functions found there are: ${functions.map((f) => f.functionName).join(', ') || 'none'}.`);
          }
          chosen = { functionName: name, flowName: name.replace(/_/g, '-'), nameIsComputed: true };
        }
      } else if (functions.length === 1) {
        chosen = functions[0];
      } else if (functions.length > 1) {
        throw new ConfigurationError('flows', `line ${JSON.stringify(line)}: ${toPosix(root, file)} has ${functions.length} @flow functions (${functions.map((f) => f.functionName).join(', ')})`, `Name the one to deploy: ${toPosix(root, file)}:${functions[0]!.functionName}.`);
      } else if (!isGlob(filePart)) {
        throw new ConfigurationError('flows', `line ${JSON.stringify(line)}: ${toPosix(root, file)} has no top-level @flow function`, 'Decorate the flow function with @flow, or name it explicitly as path/to/flow.py:function.');
      }
      if (!chosen) continue; // a file of a glob without a flow
      matched++;
      result.push({ line, file, displayPath: toPosix(root, file), functionName: chosen.functionName, flowName: chosen.flowName });
    }
    if (matched === 0) {
      throw new ConfigurationError('flows', `line ${JSON.stringify(line)} matches no file with a @flow function under ${root}`, 'Check the glob (relative to "working-directory") and that the repository is checked out.');
    }
  }
  const seen = new Map<string, FlowEntrypoint>();
  for (const entry of result) {
    const other = seen.get(entry.flowName);
    if (other) {
      throw new ConfigurationError('flows', `names the flow "${entry.flowName}" twice (${other.displayPath}:${other.functionName} and ${entry.displayPath}:${entry.functionName})`, 'Give one of them another name with @flow(name="...").');
    }
    seen.set(entry.flowName, entry);
  }
  return result;
}

/** Resolves the `flows` lines for Metaflow: files (or globs of files) Metaflow runs itself. */
export async function resolveMetaflowFlows(lines: readonly string[], root: string): Promise<FlowEntrypoint[]> {
  const result: FlowEntrypoint[] = [];
  for (const line of lines) {
    if (/:[A-Za-z_][A-Za-z0-9_]*$/.test(line)) {
      throw new ConfigurationError('flows', `line ${JSON.stringify(line)} names a function, but a Metaflow flow is a file`, 'List the flow file only, e.g. flows/train.py.');
    }
    const files = isGlob(line) ? await expandGlob(root, line) : [path.resolve(root, line)];
    if (files.length === 0) throw new ConfigurationError('flows', `line ${JSON.stringify(line)} matches no file under ${root}`, 'Check the glob (relative to "working-directory").');
    for (const file of files) {
      insideRoot(root, file, line);
      if (!file.endsWith('.py') || !(await isFile(file))) {
        throw new ConfigurationError('flows', `line ${JSON.stringify(line)} names ${toPosix(root, file)}, which is not a .py file under ${root}`, 'Check the path (relative to "working-directory").');
      }
      result.push({ line, file, displayPath: toPosix(root, file), functionName: '', flowName: path.basename(file, '.py') });
    }
  }
  return result;
}
