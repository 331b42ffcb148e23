#!/usr/bin/env node
// Generates the inputs/outputs tables of each Terraform stack's README.md from its variables and
// outputs, between the markers <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS --> (text around them is
// written by hand and left alone).
//
//   node scripts/terraform-docs.mjs            rewrite the tables of every stack under terraform/stacks
//   node scripts/terraform-docs.mjs --check    exit 1 if any README is missing or stale (CI runs this)
//   node scripts/terraform-docs.mjs [--check] <module dir>...   only those modules
//
// The tables come from HashiCorp's HCL parser (@cdktf/hcl2json), so what they show is what Terraform
// reads: names, descriptions, types, defaults, and whether an input is required or an output sensitive.

import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from '@cdktf/hcl2json';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BEGIN = '<!-- BEGIN_TF_DOCS -->';
const END = '<!-- END_TF_DOCS -->';

// Run as a script (not when the tests import the functions below).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: options, positionals } = parseArgs({ options: { check: { type: 'boolean', default: false } }, allowPositionals: true });
  const dirs = positionals.length > 0 ? positionals.map((dir) => resolve(dir)) : findModuleDirs(join(repoRoot, 'terraform/stacks'));
  const { stale, updated } = await syncReadmes(dirs, { check: options.check });
  for (const readme of updated) console.log(`updated ${readme}`);
  for (const { readme, reason } of stale) console.error(`${readme} is ${reason}; run: node scripts/terraform-docs.mjs`);
  if (stale.length > 0) process.exit(1);
}

/**
 * Brings the tables in each module's README.md up to date, or with `check` only reports the READMEs
 * that are missing or out of date.
 */
export async function syncReadmes(moduleDirs, { check }) {
  const stale = [];
  const updated = [];
  for (const dir of moduleDirs) {
    const readmePath = join(dir, 'README.md');
    const readme = relative(repoRoot, readmePath);
    const tables = renderTables(await loadInterface(dir));
    const current = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : undefined;
    const wanted = withTables(current ?? `# ${basename(dir)}\n\n`, tables);
    if (wanted === current) continue;
    if (check) {
      stale.push({ readme, reason: current === undefined ? 'missing' : 'out of date' });
    } else {
      writeFileSync(readmePath, wanted);
      updated.push(readme);
    }
  }
  return { stale, updated };
}

/** Every directory under `root` that holds .tf files. */
export function findModuleDirs(root) {
  const entries = readdirSync(root);
  const below = entries.map((entry) => join(root, entry)).filter((path) => statSync(path).isDirectory()).flatMap(findModuleDirs);
  return entries.some((entry) => entry.endsWith('.tf')) ? [root, ...below] : below;
}

/** Variables and outputs of the module in `dir`, in file order merged and then sorted. */
async function loadInterface(dir) {
  const variables = [];
  const outputs = [];
  for (const file of readdirSync(dir).filter((entry) => entry.endsWith('.tf')).sort()) {
    const config = await parse(file, readFileSync(join(dir, file), 'utf8'));
    for (const [name, [body]] of Object.entries(config.variable ?? {})) variables.push({ name, ...body });
    for (const [name, [body]] of Object.entries(config.output ?? {})) outputs.push({ name, ...body });
  }
  const required = (variable) => !('default' in variable);
  variables.sort((a, b) => Number(required(b)) - Number(required(a)) || a.name.localeCompare(b.name));
  outputs.sort((a, b) => a.name.localeCompare(b.name));
  return { variables, outputs, required };
}

function renderTables({ variables, outputs, required }) {
  const inputRows = variables.map((variable) => [
    code(variable.name),
    cell(variable.description ?? ''),
    code(renderType(variable.type)),
    required(variable) ? 'n/a' : code(JSON.stringify(variable.default)),
    required(variable) ? 'yes' : 'no',
  ]);
  const outputRows = outputs.map((output) => [code(output.name), cell(output.description ?? ''), output.sensitive === true ? 'yes' : 'no']);
  return [
    '## Inputs',
    '',
    table(['Name', 'Description', 'Type', 'Default', 'Required'], inputRows),
    '',
    '## Outputs',
    '',
    table(['Name', 'Description', 'Sensitive'], outputRows),
  ].join('\n');
}

/** `${object({\n a = string\n b = number\n})}` → `object({ a = string, b = number })`. */
function renderType(type) {
  const text = String(type ?? 'any').replace(/^\$\{([\s\S]*)\}$/, '$1');
  const lines = text.split('\n').map((line) => line.trim().replace(/\s+/g, ' ')).filter((line) => line !== '');
  return lines.reduce((joined, line) => {
    if (joined === '') return line;
    const opens = /[({[]$/.test(joined);
    const closes = /^[)}\]]/.test(line);
    return joined + (opens || closes ? ' ' : ', ') + line;
  }, '');
}

function table(header, rows) {
  if (rows.length === 0) return 'None.';
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function cell(text) {
  return text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

function code(text) {
  return `\`${text.replaceAll('|', '\\|')}\``;
}

function withTables(readme, tables) {
  const block = `${BEGIN}\n${tables}\n${END}`;
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) return `${readme.trimEnd()}\n\n${block}\n`;
  return readme.slice(0, start) + block + readme.slice(end + END.length);
}
