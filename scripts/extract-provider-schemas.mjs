#!/usr/bin/env node
// Extracts a compact provider schema for the resource and data source types that terraform/ uses,
// from the prebuilt CDKTF provider packages (their generated bindings carry every argument and
// nested block of every type), into test/fixtures/provider-schemas/providers.json. The tests check
// the Terraform code against that file, so they need neither a Terraform binary nor the registry.
//
// Run it once after adding a resource type or changing provider versions, with the packages
// installed OUTSIDE this repository (the azurerm one alone is ~270 MB):
//
//   npm install --prefix /tmp/schemas --no-save --legacy-peer-deps --ignore-scripts \
//     @cdktf/provider-azurerm@14.23.1 @cdktf/provider-kubernetes@12.1.1 \
//     @cdktf/provider-helm@12.1.2 @cdktf/provider-random@12.0.1
//   node scripts/extract-provider-schemas.mjs --packages /tmp/schemas/node_modules
//
// (those are azurerm 4.55.0, kubernetes 2.38.0, helm 3.1.1 and random 3.7.2; add
// @cdktf/provider-azuread once the code uses an azuread_* type).
//
// Only types used under terraform/ are written, which keeps the file small (the whole azurerm schema
// would be tens of megabytes).
//
// Schema format (per resource, data source or provider configuration):
//   { "attributes": { <name>: { "required"?: true, "attributes"?: {...nested object attributes} } },
//     "blocks":     { <name>: { "required"?: true, "single"?: true, "attributes": ..., "blocks": ... } } }
// "single" marks blocks that may appear at most once (max_items = 1).

import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from '@cdktf/hcl2json';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const defaultOutput = join(repoRoot, 'test/fixtures/provider-schemas/providers.json');

/** Terraform provider local name → CDKTF prebuilt package that carries its schema. */
const PROVIDER_PACKAGES = {
  azurerm: '@cdktf/provider-azurerm',
  azuread: '@cdktf/provider-azuread',
  kubernetes: '@cdktf/provider-kubernetes',
  helm: '@cdktf/provider-helm',
  random: '@cdktf/provider-random',
};

/**
 * `terraform_remote_state` belongs to Terraform's built-in provider, which no package ships; its
 * arguments are few and stable (https://developer.hashicorp.com/terraform/language/state/remote-state-data).
 */
const BUILTIN_DATA_SOURCES = {
  terraform_remote_state: {
    attributes: { backend: { required: true }, config: {}, defaults: {}, workspace: {} },
    blocks: {},
  },
};

const { values: options } = parseArgs({
  options: {
    packages: { type: 'string' },
    terraform: { type: 'string', default: join(repoRoot, 'terraform') },
    out: { type: 'string', default: defaultOutput },
  },
});
if (!options.packages) {
  console.error('usage: node scripts/extract-provider-schemas.mjs --packages <node_modules holding @cdktf/provider-*>');
  process.exit(2);
}

const used = await collectUsedTypes(options.terraform);
const schema = { generatedBy: 'scripts/extract-provider-schemas.mjs', providers: {}, provider: {}, resource: {}, data: {} };

for (const providerName of [...used.providers].sort()) {
  const packageName = PROVIDER_PACKAGES[providerName];
  if (!packageName) throw new Error(`no schema package known for provider "${providerName}"`);
  const packageDir = join(options.packages, packageName);
  const packageJson = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  schema.providers[providerName] = {
    package: `${packageName}@${packageJson.version}`,
    source: packageJson.cdktf.provider.name.replace('registry.terraform.io/', ''),
    version: packageJson.cdktf.provider.version,
  };
  schema.provider[providerName] = extractType(join(packageDir, 'lib/provider'), null);
}
for (const kind of ['resource', 'data']) {
  for (const type of [...used[kind]].sort()) {
    if (kind === 'data' && BUILTIN_DATA_SOURCES[type]) {
      schema.data[type] = BUILTIN_DATA_SOURCES[type];
      continue;
    }
    const providerName = type.split('_')[0];
    const packageName = PROVIDER_PACKAGES[providerName];
    if (!packageName) throw new Error(`no schema package known for ${kind} "${type}"`);
    const bindingName = type.slice(providerName.length + 1).replaceAll('_', '-');
    // CDKTF renames a few resources whose names clash with JavaScript (random_string → string-resource).
    const candidates = kind === 'data' ? [`data-${type.replaceAll('_', '-')}`] : [bindingName, `${bindingName}-resource`];
    const bindingDir = candidates
      .map((name) => join(options.packages, packageName, 'lib', name))
      .find((dir) => existsSync(join(dir, 'index.js')) && readFileSync(join(dir, 'index.js'), 'utf8').includes(`terraformResourceType: '${type}'`));
    if (!bindingDir) throw new Error(`${kind} "${type}" not found in ${packageName}`);
    schema[kind][type] = extractType(bindingDir, type);
  }
}

mkdirSync(dirname(options.out), { recursive: true });
// One type per line: small diffs when a type is added, and still one file well under 500 KB.
const lines = [];
for (const section of ['providers', 'provider', 'resource', 'data']) {
  const entries = Object.entries(schema[section]).map(([name, value]) => `    ${JSON.stringify(name)}: ${JSON.stringify(value)}`);
  lines.push(`  ${JSON.stringify(section)}: {\n${entries.join(',\n')}\n  }`);
}
const text = `{\n  "generatedBy": ${JSON.stringify(schema.generatedBy)},\n${lines.join(',\n')}\n}\n`;
writeFileSync(options.out, text);
console.log(`wrote ${relative(repoRoot, options.out)}: ${Object.keys(schema.resource).length} resource types, ` +
  `${Object.keys(schema.data).length} data sources, ${Object.keys(schema.provider).length} providers, ${text.length} bytes`);

/** The provider, resource and data source types used by every .tf file under `dir`. */
async function collectUsedTypes(dir) {
  const used = { providers: new Set(), resource: new Set(), data: new Set() };
  for (const file of listTerraformFiles(dir)) {
    const config = await parse(file, readFileSync(file, 'utf8'));
    for (const type of Object.keys(config.resource ?? {})) used.resource.add(type);
    for (const type of Object.keys(config.data ?? {})) used.data.add(type);
    for (const name of Object.keys(config.provider ?? {})) used.providers.add(name);
    for (const terraformBlock of config.terraform ?? []) {
      for (const requirements of terraformBlock.required_providers ?? []) {
        for (const name of Object.keys(requirements)) used.providers.add(name);
      }
    }
  }
  for (const type of [...used.resource, ...used.data]) {
    if (!BUILTIN_DATA_SOURCES[type]) used.providers.add(type.split('_')[0]);
  }
  return used;
}

function listTerraformFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name.startsWith('.') ? [] : listTerraformFiles(path);
    return name.endsWith('.tf') ? [path] : [];
  });
}

/**
 * Reads one binding directory (index.js + index.d.ts, plus index-structs/ for the largest types)
 * and returns the schema of the type it binds, following nested blocks to any depth.
 *
 * The generated JavaScript describes every argument in a `*ToHclTerraform` function (for nested
 * blocks) or the class's `synthesizeHclAttributes()` (for the top level), as entries like
 *   default_node_pool: { value: kubernetesClusterDefaultNodePoolToHclTerraform(this._defaultNodePool.internalValue),
 *                        isBlock: true, type: "list", storageClassType: "..." }
 * and the declarations say which arguments are optional (`readonly name?: ...`).
 */
function extractType(bindingDir, type) {
  const jsSources = [];
  const dtsSources = [];
  collectSources(bindingDir, jsSources, dtsSources);
  const js = jsSources.join('\n');
  const dts = dtsSources.join('\n');
  const interfaces = parseInterfaces(dts);

  const functionBodies = new Map();
  for (const match of js.matchAll(/function (\w+ToHclTerraform)\(struct\) \{/g)) {
    functionBodies.set(match[1], attrsObjectAfter(js, match.index));
  }
  const classMatch = /synthesizeHclAttributes\(\) \{/.exec(js);
  if (!classMatch) throw new Error(`${bindingDir}: no synthesizeHclAttributes()`);
  const className = /export declare class (\w+) extends cdktf\.Terraform(?:Resource|DataSource|Provider)/.exec(dts)?.[1];
  if (!className) throw new Error(`${bindingDir}: no class declaration`);
  const topInterface = interfaces.get(`${className}Config`);
  if (!topInterface) throw new Error(`${bindingDir}: no ${className}Config interface`);

  const describe = (attrsText, declaration, path) => {
    const block = { attributes: {}, blocks: {} };
    for (const entry of parseAttrEntries(attrsText)) {
      const property = declaration?.get(entry.property);
      const required = property ? !property.optional : false;
      const nestedName = /(\w+)ToHclTerraform/.exec(entry.value.replace(/cdktf\.\w+ToHclTerraform/g, ''))?.[1];
      const nestedFunction = nestedName ? `${nestedName}ToHclTerraform` : undefined;
      const nested = () => {
        if (!functionBodies.has(nestedFunction)) throw new Error(`${bindingDir}: ${path}.${entry.name}: no ${nestedFunction}`);
        const nestedInterface = interfaces.get(nestedName[0].toUpperCase() + nestedName.slice(1));
        return describe(functionBodies.get(nestedFunction), nestedInterface, `${path}.${entry.name}`);
      };
      // `timeouts` is a block in every SDKv2 provider even though CDKTF renders it as a struct.
      const isBlock = entry.isBlock && (entry.kind !== 'struct' || entry.name === 'timeouts') &&
        !/listMapperHcl\(\S+, false\)/.test(entry.value);
      if (!isBlock) {
        const attribute = required ? { required: true } : {};
        // Object-typed attributes (Plugin Framework nested attributes such as helm's `set` or the helm
        // provider's `kubernetes`) carry their own attribute names, which are checked as well.
        if (entry.isBlock && nestedFunction) attribute.attributes = nested().attributes;
        block.attributes[entry.name] = attribute;
        continue;
      }
      const nestedBlock = nested();
      const single = !/listMapperHcl\(/.test(entry.value);
      block.blocks[entry.name] = { ...(required ? { required: true } : {}), ...(single ? { single: true } : {}), ...nestedBlock };
    }
    return block;
  };
  return describe(attrsObjectAfter(js, classMatch.index), topInterface, type ?? 'provider');
}

function collectSources(dir, jsSources, dtsSources) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collectSources(path, jsSources, dtsSources);
    else if (name.endsWith('.d.ts')) dtsSources.push(readFileSync(path, 'utf8'));
    else if (name.endsWith('.js')) jsSources.push(readFileSync(path, 'utf8'));
  }
}

/** The text of the `const attrs = { ... }` object literal that follows `start`. */
function attrsObjectAfter(js, start) {
  const open = js.indexOf('const attrs = {', start) + 'const attrs = '.length;
  let depth = 0;
  for (let i = open; i < js.length; i++) {
    if (js[i] === '{') depth++;
    else if (js[i] === '}' && --depth === 0) return js.slice(open + 1, i);
  }
  throw new Error('unterminated attrs object');
}

function parseAttrEntries(attrsText) {
  const entryPattern = /^\s+(\w+): \{\n\s+value: (.*),\n\s+isBlock: (true|false),\n\s+type: "(\w+)",/gm;
  return [...attrsText.matchAll(entryPattern)].map((match) => ({
    name: match[1],
    value: match[2],
    isBlock: match[3] === 'true',
    kind: match[4],
    // The camelCase property that the value reads: this._nodeCount, struct.nodeCount or struct['nodeCount'].
    property: /(?:this\._|struct\.|struct\[')(\w+)/.exec(match[2])?.[1],
  }));
}

/** interface name → property name → { optional } from the generated declarations. */
function parseInterfaces(dts) {
  const interfaces = new Map();
  for (const match of dts.matchAll(/export interface (\w+)[^{]*\{([\s\S]*?)\n\}/g)) {
    const properties = new Map();
    for (const property of match[2].matchAll(/readonly (\w+)(\??):/g)) {
      properties.set(property[1], { optional: property[2] === '?' });
    }
    interfaces.set(match[1], properties);
  }
  return interfaces;
}
