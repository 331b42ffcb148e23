import { describe, expect, it } from 'vitest';
import type { StorageAccount } from '@azure/arm-storage';
import {
  DEFAULT_CONTAINER,
  IDENTIFIER_PATTERN,
  backendConfigFileName,
  defaultResourceGroupName,
  defaultStateKey,
  defaultStorageAccountName,
} from '../../src/lib/remote-state-names.js';
import { accountDrift, accountFix, blobServiceDrift, blobServiceFix, describeDrift, tagDrift } from '../../src/setup-remote-state/arm.js';
import { Report } from '../../src/setup-remote-state/report.js';
import { fixtureBody } from '../support/azure-stand-in.js';

const WANTED_TAGS = { 'managed-by': 'azure-bakery-actions' };
const COMPLIANT: StorageAccount = {
  location: 'westeurope',
  kind: 'StorageV2',
  minimumTlsVersion: 'TLS1_2',
  enableHttpsTrafficOnly: true,
  allowBlobPublicAccess: false,
  allowSharedKeyAccess: false,
  tags: { ...WANTED_TAGS },
};

describe('remote state names', () => {
  it('derives a storage account name that fits Azure for every identifier, stable per identifier', () => {
    for (const identifier of ['a', '0', 'contoso1', 'abcdefghij', '1234567890']) {
      expect(identifier).toMatch(IDENTIFIER_PATTERN);
      const name = defaultStorageAccountName(identifier);
      expect(name).toMatch(/^[a-z0-9]{3,24}$/);
      expect(name.startsWith(`${identifier}tfstate`)).toBe(true);
      expect(defaultStorageAccountName(identifier)).toBe(name);
    }
    expect(defaultStorageAccountName('abcdefghij')).toHaveLength(23);
    expect(defaultStorageAccountName('contoso1')).not.toBe(defaultStorageAccountName('contoso2'));
  });

  it('derives the resource group, key, container and file names', () => {
    expect(defaultResourceGroupName('contoso1')).toBe('contoso1-bakery-remote-state-rg');
    expect(defaultStateKey('metaflow/infra', 'prod')).toBe('metaflow/infra/prod.tfstate');
    expect(backendConfigFileName('staging')).toBe('backend-staging.hcl');
    expect(DEFAULT_CONTAINER).toBe('tfstate');
  });
});

describe('storage account drift', () => {
  it('finds none in a compliant account (TLS 1.3 counts as compliant)', () => {
    expect(accountDrift(COMPLIANT, WANTED_TAGS)).toEqual([]);
    expect(accountDrift({ ...COMPLIANT, minimumTlsVersion: 'TLS1_3' }, WANTED_TAGS)).toEqual([]);
  });

  it('reads unset properties as their documented defaults', () => {
    // The official GetProperties example: no minimumTlsVersion, allowSharedKeyAccess or allowBlobPublicAccess.
    const example = fixtureBody<{ properties: Record<string, unknown> }>('Microsoft.Storage/2026-09-01/StorageAccountGetProperties.json');
    const account: StorageAccount = {
      location: 'eastus',
      kind: 'Storage',
      enableHttpsTrafficOnly: example.properties.supportsHttpsTrafficOnly as boolean,
      tags: { key1: 'value1' },
    };
    expect(accountDrift(account, WANTED_TAGS)).toEqual([
      { setting: 'kind', actual: 'Storage', wanted: 'StorageV2' },
      { setting: 'minimumTlsVersion', actual: 'unset (TLS1_0)', wanted: 'TLS1_2' },
      { setting: 'supportsHttpsTrafficOnly', actual: 'false', wanted: 'true' },
      { setting: 'allowSharedKeyAccess', actual: 'unset (true)', wanted: 'false' },
      { setting: 'tag managed-by', actual: 'missing', wanted: '"azure-bakery-actions"' },
    ]);
  });

  it('flags public blob access and shared keys when explicitly on', () => {
    const drift = accountDrift({ ...COMPLIANT, allowBlobPublicAccess: true, allowSharedKeyAccess: true, minimumTlsVersion: 'TLS1_1' }, WANTED_TAGS);
    expect(drift.map((d) => d.setting)).toEqual(['minimumTlsVersion', 'allowBlobPublicAccess', 'allowSharedKeyAccess']);
    expect(describeDrift(drift)).toBe('minimumTlsVersion is TLS1_1, wanted TLS1_2; allowBlobPublicAccess is true, wanted false; allowSharedKeyAccess is true, wanted false');
  });

  it('patches only what drifted, keeping tags others added', () => {
    const account: StorageAccount = { ...COMPLIANT, allowSharedKeyAccess: true, tags: { owner: 'ops', 'managed-by': 'someone' } };
    const drift = accountDrift(account, WANTED_TAGS);
    expect(accountFix(account, drift, WANTED_TAGS)).toEqual({ allowSharedKeyAccess: false, tags: { owner: 'ops', 'managed-by': 'azure-bakery-actions' } });
    expect(accountFix(COMPLIANT, [], WANTED_TAGS)).toEqual({});
    // A v1 account's upgrade to StorageV2 carries the access tier Azure requires for it.
    const v1: StorageAccount = { ...COMPLIANT, kind: 'Storage' };
    expect(accountFix(v1, accountDrift(v1, WANTED_TAGS), WANTED_TAGS)).toEqual({ kind: 'StorageV2', accessTier: 'Hot' });
    expect(accountFix({ ...v1, accessTier: 'Cool' }, accountDrift(v1, WANTED_TAGS), WANTED_TAGS)).toEqual({ kind: 'StorageV2', accessTier: 'Cool' });
  });

  it('tag drift ignores extra tags and reports changed values', () => {
    expect(tagDrift({ a: '1', extra: 'x' }, { a: '1' })).toEqual([]);
    expect(tagDrift({ a: '2' }, { a: '1' })).toEqual([{ setting: 'tag a', actual: '"2"', wanted: '"1"' }]);
    expect(tagDrift(undefined, { a: '1' })).toEqual([{ setting: 'tag a', actual: 'missing', wanted: '"1"' }]);
  });
});

describe('blob service drift', () => {
  it('wants versioning and soft delete of blobs and containers', () => {
    expect(blobServiceDrift(undefined, 30).map((d) => d.setting)).toEqual(['blob versioning', 'blob soft delete', 'container soft delete']);
  });

  it('reads the official BlobServicesGet example: versioning and 300-day blob retention are fine, container soft delete is missing', () => {
    const example = fixtureBody<{ properties: Record<string, unknown> }>('Microsoft.Storage/2025-08-01/BlobServicesGet.json');
    expect(blobServiceDrift(example.properties, 30)).toEqual([{ setting: 'container soft delete', actual: 'off', wanted: '30 days' }]);
  });

  it('a shorter retention than wanted is drift; a longer one is kept', () => {
    const service = { isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 7 }, containerDeleteRetentionPolicy: { enabled: true, days: 90 } };
    expect(blobServiceDrift(service, 30)).toEqual([{ setting: 'blob soft delete', actual: '7 days', wanted: '30 days' }]);
    expect(blobServiceDrift(service, 7)).toEqual([]);
    expect(blobServiceFix(14)).toEqual({
      isVersioningEnabled: true,
      deleteRetentionPolicy: { enabled: true, days: 14 },
      containerDeleteRetentionPolicy: { enabled: true, days: 14 },
    });
  });
});

describe('report', () => {
  it('says "Nothing changed" when nothing in Azure was created or fixed, even if the backend file was written', () => {
    const report = new Report();
    report.add('Storage account', 'acct', 'unchanged');
    report.add('Backend config', 'backend-dev.hcl', 'created');
    expect(report.changedAzure).toBe(false);
    expect(report.headline(false)).toMatch(/^Nothing changed/);
    report.add('Container', 'tfstate', 'created');
    expect(report.headline(false)).toBe('Remote state ready: 1 created, 0 fixed.');
  });

  it('renders a table row per piece, escaping cell content, and counts drift', () => {
    const report = new Report();
    report.add('Storage account', 'acct', 'drifted', 'a | b');
    const markdown = report.markdown('Remote state for bakery/dev', true);
    expect(markdown).toContain('| Resource | Name | Result | Details |');
    expect(markdown).toContain('| Storage account | `acct` | drifted | a \\| b |');
    expect(markdown).toContain('1 setting group(s) drifted');
    expect(report.inPlace()).toEqual(['Storage account acct (drifted)']);
  });
});
