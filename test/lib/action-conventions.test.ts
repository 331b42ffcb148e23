import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ARM_ENDPOINT } from '../../src/lib/azure-auth.js';

/**
 * What CONTRIBUTING.md asks of every action and cannot be left to review: the entry is only
 * `runAction(name, run)`; nothing heavy is imported on the way from index.ts to the inputs check (so
 * a bad input fails in milliseconds); and the common Azure auth inputs read the same in every
 * action.yml. The checks read the source and the metadata; each has a case below showing it can fail.
 */

const ROOT = path.resolve(import.meta.dirname, '../..');
const ACTIONS = readdirSync(path.join(ROOT, 'actions')).filter((name) => existsSync(path.join(ROOT, 'actions', name, 'action.yml'))).sort();

// ---------------------------------------------------------------------------------------------------
// Static imports

/** Packages that must be loaded with `await import()` after the inputs check out, never at the top level. */
const HEAVY_PACKAGES = [/^@azure\//, /^@actions\/(github|cache|tool-cache)$/, /^@octokit\//, /^yaml$/, /^tar$/, /^@?kubernetes-models/];

/** The module specifiers a file imports at run time at its top level (type-only imports left out). */
export function runtimeImports(sourceText: string, fileName = 'module.ts'): string[] {
  const source = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.Latest, false);
  const specifiers: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.isTypeOnly) continue;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      if (clause && !clause.name && named && named.length > 0 && named.every((element) => element.isTypeOnly)) continue;
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text);
    }
  }
  return specifiers;
}

function packageOf(specifier: string): string {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
}

/** Every package reached through top-level imports from `entry`, with the first file that imports it. */
function packagesReachedFrom(entry: string): Map<string, string> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of runtimeImports(readFileSync(file, 'utf8'), file)) {
      if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')));
      else if (!specifier.startsWith('node:') && !packages.has(packageOf(specifier))) packages.set(packageOf(specifier), path.relative(ROOT, file));
    }
  };
  visit(entry);
  return packages;
}

describe.each(ACTIONS)('src/%s', (action) => {
  it('index.ts is only `runAction(name, run)`', () => {
    const text = readFileSync(path.join(ROOT, 'src', action, 'index.ts'), 'utf8');
    expect(text).toBe(`import { runAction } from '../lib/run-action.js';\nimport { run } from './main.js';\n\nvoid runAction('${action}', run);\n`);
  });

  it('imports no heavy package at the top level of index → main → inputs and what they import', () => {
    const reached = packagesReachedFrom(path.join(ROOT, 'src', action, 'index.ts'));
    const heavy = [...reached].filter(([name]) => HEAVY_PACKAGES.some((pattern) => pattern.test(name))).map(([name, file]) => `${name} (imported by ${file})`);
    expect(heavy).toEqual([]);
  });
});

describe('the import check itself', () => {
  it('counts value imports and re-exports, and leaves type-only imports out', () => {
    const source = [
      "import type { TokenCredential } from '@azure/core-auth';",
      "import { type ContainerClient } from '@azure/storage-blob';",
      "import YAML from 'yaml';",
      "import { getOctokit, type GitHub } from '@actions/github';",
      "export { parse } from './kubeconfig.js';",
      "export type { Kubeconfig } from './kubeconfig-types.js';",
      "const lazy = () => import('@azure/identity');",
    ].join('\n');
    expect(runtimeImports(source)).toEqual(['yaml', '@actions/github', './kubeconfig.js']);
  });
});

// ---------------------------------------------------------------------------------------------------
// action.yml: the common Azure auth inputs

interface InputSpec {
  description?: string;
  required?: boolean;
  default?: string;
}

/** Word for word in every action that has the input. */
const SAME_EVERYWHERE: Record<string, string> = {
  'tenant-id': 'Entra ID tenant id (GUID). Required for oidc and client-secret.',
  'client-id': 'Application (client) id of the app registration or managed identity. Required for oidc and client-secret.',
  'client-secret': 'Client secret, from a GitHub secret. Required for auth client-secret; masked, never printed.',
  'arm-endpoint': `Azure Resource Manager endpoint, for a sovereign cloud (e.g. https://management.usgovcloudapi.net). Optional, default ${DEFAULT_ARM_ENDPOINT}.`,
  'authority-host': "Entra ID authority for a sovereign cloud (e.g. https://login.microsoftonline.us). Optional, default the public cloud's.",
};

/** The same opening in every action; the rest says what the input means for that action. */
const SAME_OPENING: Record<string, string> = {
  auth: 'How to sign in to Azure: oidc (needs `permissions: id-token: write`), client-secret, ',
  'subscription-id': 'Azure subscription id (GUID)',
  'connection-string': 'Storage connection string, from a GitHub secret. Required for auth connection-string; masked, never printed',
};

const DEFAULTS: Record<string, string | undefined> = { auth: 'oidc', 'arm-endpoint': DEFAULT_ARM_ENDPOINT };

export function authInputProblems(inputs: Record<string, InputSpec | null>): string[] {
  const problems: string[] = [];
  if (!inputs.auth) return problems;
  for (const name of [...Object.keys(SAME_EVERYWHERE), ...Object.keys(SAME_OPENING)]) {
    const spec = inputs[name];
    if (!spec) continue;
    const description = (spec.description ?? '').replace(/\s+/g, ' ').trim();
    if (name in SAME_EVERYWHERE && description !== SAME_EVERYWHERE[name]) problems.push(`${name}: description is "${description}", not "${SAME_EVERYWHERE[name]}"`);
    if (name in SAME_OPENING && !description.startsWith(SAME_OPENING[name]!)) problems.push(`${name}: description does not start "${SAME_OPENING[name]}"`);
    // Which of them a run needs depends on `auth`: the action checks that, so none is required here.
    if (spec.required !== false) problems.push(`${name}: required is ${String(spec.required)}, not false`);
    if (spec.default !== DEFAULTS[name]) problems.push(`${name}: default is ${JSON.stringify(spec.default)}, not ${JSON.stringify(DEFAULTS[name])}`);
  }
  const auth = (inputs.auth.description ?? '').replace(/\s+/g, ' ');
  if (!/azure-cli \(after azure\/login\)/.test(auth)) problems.push('auth: description does not name azure-cli (after azure/login)');
  if (!auth.endsWith('Optional, default oidc.')) problems.push('auth: description does not end "Optional, default oidc."');
  if (/connection-string/.test(auth) !== 'connection-string' in inputs) {
    problems.push('auth: the description offers connection-string exactly when the action has a "connection-string" input');
  }
  return problems;
}

describe.each(ACTIONS)('actions/%s/action.yml', (action) => {
  it('describes and defaults the common Azure auth inputs as every other action does', () => {
    const metadata = parse(readFileSync(path.join(ROOT, 'actions', action, 'action.yml'), 'utf8')) as { inputs?: Record<string, InputSpec | null> };
    expect(metadata.inputs?.auth, 'every action calls Azure').toBeDefined();
    expect(authInputProblems(metadata.inputs ?? {})).toEqual([]);
  });
});

describe('the auth input check itself', () => {
  const good: Record<string, InputSpec> = {
    auth: { description: 'How to sign in to Azure: oidc (needs `permissions: id-token: write`), client-secret, or azure-cli (after azure/login). Optional, default oidc.', required: false, default: 'oidc' },
    'subscription-id': { description: 'Azure subscription id (GUID). Required.', required: false },
    ...Object.fromEntries(Object.entries(SAME_EVERYWHERE).map(([name, description]) => [name, { description, required: false, default: DEFAULTS[name] }])),
  };

  it('accepts the canonical wording', () => {
    expect(authInputProblems(good)).toEqual([]);
  });

  it('reports a reworded description, a required flag, a changed default and a connection-string mismatch', () => {
    expect(
      authInputProblems({
        ...good,
        'tenant-id': { description: 'Entra ID tenant id. Required with `oidc`.', required: false },
        'client-id': { ...good['client-id'], required: true },
        'arm-endpoint': { ...good['arm-endpoint'], default: 'https://management.usgovcloudapi.net' },
        'connection-string': { description: 'Storage connection string, from a GitHub secret. Required for auth connection-string; masked, never printed.', required: false },
      }),
    ).toEqual([
      'tenant-id: description is "Entra ID tenant id. Required with `oidc`.", not "Entra ID tenant id (GUID). Required for oidc and client-secret."',
      'client-id: required is true, not false',
      'arm-endpoint: default is "https://management.usgovcloudapi.net", not "https://management.azure.com"',
      'auth: the description offers connection-string exactly when the action has a "connection-string" input',
    ]);
  });
});
