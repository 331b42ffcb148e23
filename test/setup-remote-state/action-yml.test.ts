import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readInputs } from '../../src/setup-remote-state/inputs.js';
import { REPO_ROOT, inputEnv } from '../support/run-dist.js';

interface ActionYml {
  name: string;
  description: string;
  author: string;
  branding: { icon: string; color: string };
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
}

const actionYml = parse(readFileSync(path.join(REPO_ROOT, 'actions/setup-remote-state/action.yml'), 'utf8')) as ActionYml;

/** The INPUT_* variables readInputs() reads for these inputs (recorded through a Proxy over process.env). */
function inputsRead(inputs: Record<string, string>): Set<string> {
  const seen = new Set<string>();
  const original = process.env;
  process.env = new Proxy({ ...original, ...inputEnv(inputs) }, {
    get(target, key, receiver) {
      if (typeof key === 'string' && key.startsWith('INPUT_')) seen.add(key.slice('INPUT_'.length).toLowerCase());
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  try {
    readInputs();
  } finally {
    process.env = original;
  }
  return seen;
}

describe('actions/setup-remote-state/action.yml', () => {
  it('runs the bundle on node24 and carries name, description, author and branding', () => {
    expect(actionYml.runs).toEqual({ using: 'node24', main: '../../dist/setup-remote-state/index.js' });
    expect(actionYml.name).toBeTruthy();
    expect(actionYml.description.length).toBeGreaterThan(40);
    expect(actionYml.author).toBeTruthy();
    expect(actionYml.branding).toEqual({ icon: expect.any(String), color: expect.any(String) });
  });

  it('has the contract\'s inputs and outputs (CONTRIBUTING.md), each described', () => {
    for (const input of ['identifier', 'stack', 'environment', 'region', 'resource-group', 'storage-account', 'container', 'state-key', 'tags', 'read-only', 'enforce-settings', 'working-directory']) {
      expect(actionYml.inputs[input]?.description, input).toBeTruthy();
    }
    for (const output of ['backend-config-file', 'resource-group', 'storage-account', 'container', 'state-key']) {
      expect(actionYml.outputs[output]?.description, output).toBeTruthy();
    }
    for (const [name, input] of Object.entries(actionYml.inputs)) {
      expect(input.description, name).toMatch(/Required|Optional|required|default/);
    }
  });

  it('declares exactly the inputs the code reads (ARM and connection-string paths together)', () => {
    const workDir = REPO_ROOT;
    const read = new Set([
      ...inputsRead({ identifier: 'a', environment: 'dev', region: 'westeurope', auth: 'client-secret', 'subscription-id': '00000000-0000-0000-0000-000000000000', 'tenant-id': '00000000-0000-0000-0000-000000000000', 'client-id': '00000000-0000-0000-0000-000000000000', 'client-secret': 'x-secret', 'working-directory': workDir }),
      ...inputsRead({ identifier: 'a', environment: 'dev', auth: 'connection-string', 'connection-string': 'AccountName=devstoreaccount1;AccountKey=a2V5', 'working-directory': workDir }),
    ]);
    expect([...read].sort()).toEqual(Object.keys(actionYml.inputs).sort());
  });

  it('declares exactly the outputs the code sets', () => {
    // A real run's outputs are checked in connection-string.test.ts and dist.test.ts; here, the names
    // main.ts passes to core.setOutput against the declared ones.
    const source = readFileSync(path.join(REPO_ROOT, 'src/setup-remote-state/main.ts'), 'utf8');
    const set = [...source.matchAll(/core\.setOutput\('([a-z-]+)'/g)].map((match) => match[1]);
    expect(set.sort()).toEqual(Object.keys(actionYml.outputs).sort());
  });

  it('its defaults are the ones the code applies', () => {
    expect(actionYml.inputs.stack?.default).toBe('bakery');
    expect(actionYml.inputs.container?.default).toBe('tfstate');
    expect(actionYml.inputs.auth?.default).toBe('oidc');
    expect(actionYml.inputs['retention-days']?.default).toBe('30');
    expect(actionYml.inputs.identifier?.required).toBe(true);
    expect(actionYml.inputs.environment?.required).toBe(true);
  });
});
