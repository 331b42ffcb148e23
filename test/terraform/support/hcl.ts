/**
 * Loading Terraform modules for the structural checks: every .tf file is parsed with HashiCorp's HCL
 * parser (compiled to WebAssembly in @cdktf/hcl2json) into the JSON form of the configuration, in
 * which every expression is a "${...}" string.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
export const TERRAFORM_ROOT = path.join(REPO_ROOT, 'terraform');

export type HclValue = string | number | boolean | null | HclValue[] | HclObject;
export interface HclObject {
  [key: string]: HclValue;
}

export interface TerraformFile {
  /** Path relative to the repository root, for messages. */
  name: string;
  source: string;
  config: HclObject;
  /** Paths of everything written with block syntax (see blockSyntaxPaths). */
  blockPaths: Set<string>;
}

export interface TerraformModule {
  /** Directory relative to the repository root, e.g. terraform/stacks/bakery. */
  name: string;
  dir: string;
  files: TerraformFile[];
}

/** A top-level labelled block such as resource "azurerm_resource_group" "bakery" { ... }. */
export interface LabelledBlock {
  file: TerraformFile;
  /** Block path as used by blockSyntaxPaths, e.g. resource/azurerm_resource_group/bakery. */
  path: string;
  labels: string[];
  body: HclObject;
}

export async function parseTerraformFile(name: string, source: string): Promise<TerraformFile> {
  const config = (await parse(name, source)) as HclObject;
  return { name, source, config, blockPaths: blockSyntaxPaths(source) };
}

/** Parses every .tf file of one directory (not its subdirectories: each directory is a module). */
export async function loadModule(dir: string): Promise<TerraformModule> {
  const fileNames = readdirSync(dir).filter((file) => file.endsWith('.tf')).sort();
  const files = await Promise.all(
    fileNames.map((file) => {
      const filePath = path.join(dir, file);
      return parseTerraformFile(path.relative(REPO_ROOT, filePath), readFileSync(filePath, 'utf8'));
    }),
  );
  return { name: path.relative(REPO_ROOT, dir), dir, files };
}

/** A module made of in-memory snippets, for tests that prove a check can fail. */
export async function moduleFromSources(name: string, sources: Record<string, string>): Promise<TerraformModule> {
  const dir = path.join(TERRAFORM_ROOT, name);
  const files = await Promise.all(
    Object.entries(sources).map(([file, source]) => parseTerraformFile(path.join('terraform', name, file), source)),
  );
  return { name: path.join('terraform', name), dir, files };
}

/** Every directory under terraform/ that holds .tf files. */
export function findModuleDirs(root = TERRAFORM_ROOT): string[] {
  const entries = readdirSync(root);
  const here = entries.some((entry) => entry.endsWith('.tf')) ? [root] : [];
  const below = entries
    .map((entry) => path.join(root, entry))
    .filter((entry) => statSync(entry).isDirectory() && !path.basename(entry).startsWith('.'))
    .flatMap((entry) => findModuleDirs(entry));
  return [...here, ...below];
}

let allModules: Promise<TerraformModule[]> | undefined;

/** Every module of the repository, parsed once per test file. */
export function loadAllModules(): Promise<TerraformModule[]> {
  allModules ??= Promise.all(findModuleDirs().map((dir) => loadModule(dir)));
  return allModules;
}

/** The module at terraform/<name>, e.g. moduleNamed(modules, 'stacks/bakery'). */
export function moduleNamed(modules: TerraformModule[], name: string): TerraformModule {
  const module = modules.find((candidate) => candidate.name === path.join('terraform', name));
  if (!module) throw new Error(`no module terraform/${name}`);
  return module;
}

/** Root modules are the deployable stacks: terraform/stacks/**. */
export function isRootModule(module: TerraformModule): boolean {
  return module.name.startsWith(path.join('terraform', 'stacks') + path.sep);
}

export function isObject(value: HclValue | undefined): value is HclObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The bodies of a block type that hcl2json renders as a list of bodies (terraform, locals, lifecycle...). */
export function blockBodies(container: HclObject, key: string): HclObject[] {
  const value = container[key];
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/**
 * Every block with `labelCount` labels of the given kind across a module's files: resource and data
 * (2 labels), variable, output, module and provider (1 label).
 */
export function labelledBlocks(module: TerraformModule, kind: string, labelCount: 1 | 2): LabelledBlock[] {
  const blocks: LabelledBlock[] = [];
  for (const file of module.files) {
    const byFirstLabel = file.config[kind];
    if (!isObject(byFirstLabel)) continue;
    for (const [first, inner] of Object.entries(byFirstLabel)) {
      if (labelCount === 1) {
        for (const body of Array.isArray(inner) ? inner.filter(isObject) : []) {
          blocks.push({ file, path: `${kind}/${first}`, labels: [first], body });
        }
        continue;
      }
      if (!isObject(inner)) continue;
      for (const [second, bodies] of Object.entries(inner)) {
        for (const body of Array.isArray(bodies) ? bodies.filter(isObject) : []) {
          blocks.push({ file, path: `${kind}/${first}/${second}`, labels: [first, second], body });
        }
      }
    }
  }
  return blocks;
}

export const variablesOf = (module: TerraformModule) => labelledBlocks(module, 'variable', 1);
export const outputsOf = (module: TerraformModule) => labelledBlocks(module, 'output', 1);
export const moduleCallsOf = (module: TerraformModule) => labelledBlocks(module, 'module', 1);
export const providersOf = (module: TerraformModule) => labelledBlocks(module, 'provider', 1);
export const resourcesOf = (module: TerraformModule) => labelledBlocks(module, 'resource', 2);
export const dataSourcesOf = (module: TerraformModule) => labelledBlocks(module, 'data', 2);

/** All `terraform { ... }` bodies of a module. */
export function terraformSettingsOf(module: TerraformModule): HclObject[] {
  return module.files.flatMap((file) => blockBodies(file.config, 'terraform'));
}

/** All locals of a module, merged (a name may be defined only once in a module anyway). */
export function localsOf(module: TerraformModule): HclObject {
  return Object.assign({}, ...module.files.flatMap((file) => blockBodies(file.config, 'locals')));
}

/** Every string in a value, at any depth, object keys included. */
export function stringsIn(value: HclValue | undefined): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap((item) => stringsIn(item));
  if (isObject(value)) return Object.entries(value).flatMap(([key, item]) => [key, ...stringsIn(item)]);
  return [];
}

/** Whether a string holds an expression or interpolation rather than being a plain literal. */
export function isExpression(value: string): boolean {
  return value.includes('${') || value.includes('%{');
}

/**
 * Names referenced as `<prefix>.<name>` inside the expressions of a value, e.g. referencesIn(body, 'var')
 * → the variables a body uses. Plain literals are not searched, so prose that mentions "var.x" is not
 * mistaken for a reference.
 */
export function referencesIn(value: HclValue | undefined, prefix: string): Set<string> {
  const pattern = new RegExp(`(?<![\\w.])${prefix.replace('.', '\\.')}\\.([A-Za-z_][\\w-]*)`, 'g');
  const names = new Set<string>();
  for (const text of stringsIn(value).filter(isExpression)) {
    for (const match of text.matchAll(pattern)) names.add(match[1] as string);
  }
  return names;
}

/**
 * Splits a string as hcl2json renders it into literal text and ${...} interpolations, following
 * nested braces and quoted strings inside an interpolation.
 */
export function templateParts(value: string): { literal?: string; expression?: string }[] {
  const parts: { literal?: string; expression?: string }[] = [];
  let literal = '';
  let i = 0;
  while (i < value.length) {
    if (value[i] !== '$' || value[i + 1] !== '{') {
      literal += value[i];
      i++;
      continue;
    }
    if (literal !== '') parts.push({ literal });
    literal = '';
    let depth = 1;
    let j = i + 2;
    let quoted = false;
    for (; j < value.length && depth > 0; j++) {
      const char = value[j];
      if (quoted) {
        if (char === '\\') j++;
        else if (char === '"') quoted = false;
      } else if (char === '"') quoted = true;
      else if (char === '{') depth++;
      else if (char === '}') depth--;
    }
    if (depth > 0) throw new Error(`unterminated interpolation in ${JSON.stringify(value)}`);
    parts.push({ expression: value.slice(i + 2, j - 1) });
    i = j;
  }
  if (literal !== '') parts.push({ literal });
  return parts;
}

/** The expression of a value that is one whole "${...}", or the value itself when it is a literal. */
export function unwrapExpression(value: HclValue | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parts = templateParts(value);
  return parts.length === 1 && parts[0]?.expression !== undefined ? parts[0].expression : value;
}

/**
 * The paths of every block in an HCL source that is written with block syntax (`name {` or
 * `name "label" {`), such as "resource/helm_release/argo/set" or "provider/kubernetes/exec".
 *
 * hcl2json renders `set { ... }` and `set = [{ ... }]` identically, but Terraform accepts only one of
 * them for a given argument (Plugin Framework nested attributes need `=`, blocks must not have it),
 * so the schema check asks this scanner how each list of objects was written. It follows HCL's
 * lexical structure (strings with nested templates, heredocs, comments) only as far as needed to
 * tell an attribute from a block.
 */
export function blockSyntaxPaths(source: string): Set<string> {
  const paths = new Set<string>();
  const stack: string[] = [];
  let i = 0;
  const line = () => source.slice(0, i).split('\n').length;
  const fail = (what: string): never => {
    throw new Error(`cannot scan HCL at line ${line()}: ${what}`);
  };
  const identifier = /[A-Za-z_][\w-]*/y;

  const skipComment = (): boolean => {
    if (source[i] === '#' || source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
      return true;
    }
    if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? fail('unterminated comment') : end + 2;
      return true;
    }
    return false;
  };

  // A quoted string, including ${...} and %{...} templates that may themselves contain strings.
  const skipString = (): void => {
    i++;
    while (i < source.length && source[i] !== '"') {
      if (source[i] === '\\') i += 2;
      else if ((source[i] === '$' || source[i] === '%') && source[i + 1] === '{') {
        i += 2;
        skipExpression('}');
        i++;
      } else i++;
    }
    if (i >= source.length) fail('unterminated string');
    i++;
  };

  const skipHeredoc = (): boolean => {
    const match = /<<-?([A-Za-z_][\w-]*)[ \t]*\n/y;
    match.lastIndex = i;
    const found = match.exec(source);
    if (!found) return false;
    const marker = found[1] as string;
    i = match.lastIndex;
    while (i < source.length) {
      const end = source.indexOf('\n', i);
      const text = source.slice(i, end < 0 ? source.length : end);
      i = end < 0 ? source.length : end + 1;
      if (text.trim() === marker) return true;
    }
    return fail(`unterminated heredoc ${marker}`);
  };

  // An attribute's expression: up to the end of the line (or a closing brace/terminator) at depth 0.
  const skipExpression = (terminator: '\n' | '}'): void => {
    let depth = 0;
    while (i < source.length) {
      const char = source[i] as string;
      if (depth === 0 && (char === terminator || (terminator === '\n' && char === '}'))) return;
      if (char === '"') skipString();
      else if (char === '<' && source[i + 1] === '<' && skipHeredoc()) continue;
      else if (skipComment()) continue;
      else {
        if (char === '(' || char === '[' || char === '{') depth++;
        else if (char === ')' || char === ']' || char === '}') depth--;
        i++;
      }
    }
  };

  while (i < source.length) {
    const char = source[i] as string;
    if (/\s/.test(char) || skipComment()) {
      if (/\s/.test(char)) i++;
      continue;
    }
    if (char === '}') {
      if (stack.pop() === undefined) fail('unbalanced }');
      i++;
      continue;
    }
    identifier.lastIndex = i;
    const name = identifier.exec(source)?.[0] ?? fail(`unexpected ${JSON.stringify(char)}`);
    i += name.length;
    const labels: string[] = [];
    for (;;) {
      while (source[i] === ' ' || source[i] === '\t') i++;
      if (source[i] === '=' && source[i + 1] !== '=') {
        i++;
        skipExpression('\n');
        break;
      }
      if (source[i] === '{') {
        i++;
        stack.push([name, ...labels].join('/'));
        paths.add(stack.join('/'));
        break;
      }
      if (source[i] === '"') {
        const start = i;
        skipString();
        labels.push(source.slice(start + 1, i - 1));
        continue;
      }
      identifier.lastIndex = i;
      const label = identifier.exec(source)?.[0] ?? fail(`expected = or { after ${name}`);
      labels.push(label);
      i += label.length;
    }
  }
  if (stack.length > 0) fail('unclosed block');
  return paths;
}
