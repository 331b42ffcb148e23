import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/lib/errors.js';
import { resetSecretsForTesting } from '../../src/lib/mask.js';
import { defaultResourceGroupName, defaultStorageAccountName } from '../../src/lib/remote-state-names.js';
import { readInputs, type Inputs } from '../../src/setup-remote-state/inputs.js';
import { clearInputs, configurationErrorOf, readWith } from '../support/action-inputs.js';

const workDir = mkdtempSync(path.join(tmpdir(), 'remote-state-inputs-'));
const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';
const ARM_BASE = {
  identifier: 'contoso1',
  environment: 'dev',
  region: 'westeurope',
  auth: 'client-secret',
  'subscription-id': SUBSCRIPTION,
  'tenant-id': '72f988bf-86f1-41af-91ab-2d7cd011db47',
  'client-id': '11111111-2222-3333-4444-555555555555',
  'client-secret': 'a-client-secret-value',
  'working-directory': workDir,
};
const CONNECTION_STRING = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;';

afterEach(() => {
  clearInputs();
  resetSecretsForTesting();
});

function read(inputs: Record<string, string>): Inputs {
  return readWith(inputs, readInputs);
}

function errorOf(inputs: Record<string, string>): ConfigurationError {
  return configurationErrorOf(() => read(inputs));
}

describe('setup-remote-state inputs: defaults', () => {
  it('derives every name from identifier, stack and environment', () => {
    const inputs = read(ARM_BASE);
    expect(inputs).toMatchObject({
      identifier: 'contoso1',
      stack: 'bakery',
      environment: 'dev',
      region: 'westeurope',
      resourceGroup: 'contoso1-bakery-remote-state-rg',
      storageAccount: defaultStorageAccountName('contoso1'),
      container: 'tfstate',
      stateKey: 'bakery/dev.tfstate',
      tags: { 'managed-by': 'azure-bakery-actions' },
      retentionDays: 30,
      readOnly: false,
      enforceSettings: false,
      workingDirectory: workDir,
      backendConfigFile: path.join(workDir, 'backend-dev.hcl'),
    });
    expect(inputs.auth).toMatchObject({ method: 'client-secret', subscriptionId: SUBSCRIPTION });
  });

  it('takes explicit names, a nested stack and tags', () => {
    const inputs = read({
      ...ARM_BASE,
      stack: 'metaflow/infra',
      'resource-group': 'Platform.State_RG(1)',
      'storage-account': 'mystate123',
      container: 'state-files',
      'state-key': 'teams/data/prod.tfstate',
      tags: 'team = data\n# comment\ncost-center=42',
      'retention-days': '90',
    });
    expect(inputs).toMatchObject({
      stack: 'metaflow/infra',
      resourceGroup: 'Platform.State_RG(1)',
      storageAccount: 'mystate123',
      container: 'state-files',
      stateKey: 'teams/data/prod.tfstate',
      tags: { 'managed-by': 'azure-bakery-actions', team: 'data', 'cost-center': '42' },
      retentionDays: 90,
    });
    expect(read({ ...ARM_BASE, stack: 'metaflow/infra' }).stateKey).toBe('metaflow/infra/dev.tfstate');
  });

  it('lets the user set the managed-by tag', () => {
    expect(read({ ...ARM_BASE, tags: 'managed-by=terraform' }).tags).toEqual({ 'managed-by': 'terraform' });
  });

  it('needs no region when read-only', () => {
    const inputs = read({ ...ARM_BASE, region: '', 'read-only': 'true' });
    expect(inputs.region).toBeUndefined();
    expect(inputs.readOnly).toBe(true);
  });

  it('takes the account from the connection string, and no region or resource group, with auth: connection-string', () => {
    const inputs = read({ identifier: 'local', environment: 'dev', auth: 'connection-string', 'connection-string': CONNECTION_STRING, 'working-directory': workDir });
    expect(inputs.storageAccount).toBe('devstoreaccount1');
    expect(inputs.resourceGroup).toBeUndefined();
    expect(inputs.region).toBeUndefined();
    expect(read({ identifier: 'local', environment: 'dev', auth: 'connection-string', 'connection-string': CONNECTION_STRING, 'storage-account': 'devstoreaccount1', 'working-directory': workDir }).storageAccount).toBe('devstoreaccount1');
  });
});

/** Every string input with a rule, and a good value for it. */
const RULES: [input: string, good: string, overLong: string][] = [
  ['identifier', 'abc123', 'a'.repeat(11)],
  ['environment', 'prod-eu', `e${'x'.repeat(30)}`],
  ['stack', 'bakery', `s${'x'.repeat(40)}`],
  ['region', 'westeurope', `r${'x'.repeat(40)}`],
  ['resource-group', 'my-rg', `g${'x'.repeat(90)}`],
  ['storage-account', 'abc123def', 'a'.repeat(25)],
  ['container', 'tfstate', 'c'.repeat(64)],
  ['state-key', 'a/b.tfstate', `${'k'.repeat(1020)}.tfstate`],
];

describe('setup-remote-state inputs: every rule', () => {
  it.each(RULES)('%s: accepts a good value', (input, good) => {
    expect(() => read({ ...ARM_BASE, [input]: good })).not.toThrow();
  });

  it.each(RULES)('%s: refuses an over-long value, naming the input', (input, _good, overLong) => {
    const error = errorOf({ ...ARM_BASE, [input]: overLong });
    expect(error.input).toBe(input);
    expect(error.message).toContain(`Set "${input}"`);
  });

  it.each(RULES)('%s: refuses a non-ASCII value (a pasted non-breaking space or smart quote)', (input, good) => {
    const error = errorOf({ ...ARM_BASE, [input]: `${good.slice(0, 2)}\u00a0${good.slice(2)}` });
    expect(error.input).toBe(input);
    expect(error.problem).toMatch(/outside printable ASCII/);
    expect(errorOf({ ...ARM_BASE, [input]: `“${good}”` }).input).toBe(input);
  });

  it.each([
    ['identifier', ''],
    ['identifier', '   '],
    ['environment', ''],
    ['environment', ' \t '],
    ['region', ''],
    ['region', '  '],
  ])('%s: empty or whitespace-only %j is "required but empty"', (input, value) => {
    const error = errorOf({ ...ARM_BASE, [input]: value });
    expect(error.input).toBe(input);
    expect(error.problem).toBe('is required but empty');
  });

  it.each([
    ['stack', 'bakery'],
    ['container', 'tfstate'],
  ])('%s: whitespace-only means the default %j', (input, expected) => {
    const inputs = read({ ...ARM_BASE, [input]: '   ' });
    expect(input === 'stack' ? inputs.stack : inputs.container).toBe(expected);
  });

  it('resource-group, storage-account, state-key: whitespace-only means the derived default', () => {
    const inputs = read({ ...ARM_BASE, 'resource-group': ' ', 'storage-account': '\t', 'state-key': '  ' });
    expect(inputs.resourceGroup).toBe(defaultResourceGroupName('contoso1'));
    expect(inputs.storageAccount).toBe(defaultStorageAccountName('contoso1'));
    expect(inputs.stateKey).toBe('bakery/dev.tfstate');
  });

  it.each([
    ['identifier', 'Contoso', /1–10 lowercase letters or digits/],
    ['identifier', 'con-toso', /1–10 lowercase letters or digits/],
    ['environment', 'Dev', /lowercase environment name/],
    ['environment', 'dev-', /lowercase environment name/],
    ['environment', '1dev', /lowercase environment name/],
    ['stack', 'a/b/c', /stack name/],
    ['region', 'West Europe', /az account list-locations/],
    ['resource-group', 'ends.with.period.', /not ending in a period/],
    ['resource-group', 'has space', /letters, digits/],
    ['storage-account', 'Has-Upper', /3–24 lowercase letters or digits/],
    ['storage-account', 'ab', /3–24 lowercase letters or digits/],
    ['container', 'ab', /3–63 lowercase/],
    ['container', 'double--hyphen', /single inner hyphens/],
    ['container', '-leading', /single inner hyphens/],
    ['state-key', '/leading.tfstate', /without "\." or "\.\." segments/],
    ['state-key', 'a//b.tfstate', /separated by single "\/"/],
    ['state-key', 'a/../b.tfstate', /without "\." or "\.\." segments/],
    ['state-key', 'trailing/', /blob path/],
    ['state-key', 'back\\slash', /blob path/],
  ])('%s: refuses %j', (input, value, expected) => {
    const error = errorOf({ ...ARM_BASE, [input]: value });
    expect(error.input).toBe(input);
    expect(error.message).toContain(JSON.stringify(value));
    expect(error.message).toMatch(expected);
  });

  it('boolean inputs refuse anything but true/false words', () => {
    expect(errorOf({ ...ARM_BASE, 'read-only': 'maybe' }).input).toBe('read-only');
    expect(errorOf({ ...ARM_BASE, 'enforce-settings': 'ja' }).input).toBe('enforce-settings');
    expect(read({ ...ARM_BASE, 'read-only': '  ' }).readOnly).toBe(false);
  });

  it('refuses read-only together with enforce-settings', () => {
    const error = errorOf({ ...ARM_BASE, 'read-only': 'true', 'enforce-settings': 'true' });
    expect(error.input).toBe('enforce-settings');
    expect(error.message).toMatch(/read-only/);
  });

  it.each([
    ['0', /outside the accepted range/],
    ['366', /outside the accepted range/],
    ['thirty', /not a whole number/],
    ['３０', /not a whole number/],
  ])('retention-days: refuses %j', (value, expected) => {
    const error = errorOf({ ...ARM_BASE, 'retention-days': value });
    expect(error.input).toBe('retention-days');
    expect(error.message).toMatch(expected);
  });

  it.each([
    ['no-equals-sign', /not of the form name=value/],
    ['=value', /not of the form name=value/],
    ['a=1\na=2', /twice/],
    ['bad/name=1', /Azure refuses/],
    [`${'n'.repeat(129)}=1`, /Azure refuses/],
    [`long=${'v'.repeat(257)}`, /over 256 characters/],
    ['näme=1', /printable ASCII/],
    [Array.from({ length: 15 }, (_, i) => `t${i}=v`).join('\n'), /Azure allows 15/],
  ])('tags: refuses %j', (value, expected) => {
    const error = errorOf({ ...ARM_BASE, tags: value });
    expect(error.input).toBe('tags');
    expect(error.message).toMatch(expected);
  });

  it('tags: accepts a non-ASCII value (Azure allows it) and 14 tags plus managed-by', () => {
    expect(read({ ...ARM_BASE, tags: 'city=Zürich' }).tags.city).toBe('Zürich');
    expect(Object.keys(read({ ...ARM_BASE, tags: Array.from({ length: 14 }, (_, i) => `t${i}=v`).join('\n') }).tags)).toHaveLength(15);
  });

  it('working-directory must be an existing directory', () => {
    const missing = errorOf({ ...ARM_BASE, 'working-directory': path.join(workDir, 'nope') });
    expect(missing.input).toBe('working-directory');
    expect(missing.message).toMatch(/not a directory/);
    const file = path.join(workDir, 'a-file');
    writeFileSync(file, '');
    expect(errorOf({ ...ARM_BASE, 'working-directory': file }).input).toBe('working-directory');
  });

  it('auth inputs go through readAzureAuth: a missing subscription or client secret is named', () => {
    expect(errorOf({ ...ARM_BASE, 'subscription-id': '' }).input).toBe('subscription-id');
    expect(errorOf({ ...ARM_BASE, 'subscription-id': 'not-a-guid' }).input).toBe('subscription-id');
    expect(errorOf({ ...ARM_BASE, 'client-secret': ' ' }).input).toBe('client-secret');
    expect(errorOf({ ...ARM_BASE, auth: 'password' }).input).toBe('auth');
  });

  it('connection-string: a different storage-account is refused, naming both accounts', () => {
    const error = errorOf({ identifier: 'local', environment: 'dev', auth: 'connection-string', 'connection-string': CONNECTION_STRING, 'storage-account': 'otheraccount', 'working-directory': workDir });
    expect(error.input).toBe('storage-account');
    expect(error.message).toContain('"otheraccount"');
    expect(error.message).toContain('"devstoreaccount1"');
    expect(error.message).not.toContain('a2V5');
  });
});
