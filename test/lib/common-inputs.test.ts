import { afterEach, describe, expect, it } from 'vitest';
import {
  readBlobContainer,
  readClusterName,
  readCommit,
  readEnvironment,
  readNamespace,
  readNamespaceIfGiven,
  readResourceGroup,
  readServiceAccount,
} from '../../src/lib/common-inputs.js';
import type { ConfigurationError } from '../../src/lib/errors.js';
import { isLoopbackHost, readUrl } from '../../src/lib/inputs.js';
import { clearInputs, configurationErrorOf, readWith } from '../support/action-inputs.js';

// The readers several actions share (src/lib/common-inputs.ts, readUrl): one rule per input, the
// service's own, so every action accepts and refuses the same values.

afterEach(() => clearInputs());

function refusal(inputs: Record<string, string>, read: () => unknown): ConfigurationError {
  return configurationErrorOf(() => readWith(inputs, read));
}

const accepted = readWith;

describe('resource-group', () => {
  it('accepts Azure\'s whole range: one character up to 90, with . _ - ( )', () => {
    // A one-character group is valid in Azure; build-image and setup-agent used to refuse it.
    expect(accepted({ 'resource-group': 'a' }, () => readResourceGroup({ required: true }))).toBe('a');
    expect(accepted({ 'resource-group': `rg.(${'x'.repeat(85)})` }, () => readResourceGroup())).toHaveLength(90);
  });

  it.each([['x'.repeat(91)], ['ends.in.period.'], ['has space'], ['slash/name']])('refuses %j, naming the input and the rule', (value) => {
    const error = refusal({ 'resource-group': value }, () => readResourceGroup());
    expect(error.input).toBe('resource-group');
    expect(error.message).toMatch(/1–90 letters, digits, or \. _ - \( \), not ending in a period/);
  });

  it('is required only when asked', () => {
    expect(accepted({ 'resource-group': '' }, () => readResourceGroup())).toBeUndefined();
    expect(refusal({ 'resource-group': '' }, () => readResourceGroup({ required: true })).problem).toBe('is required but empty');
  });
});

describe('cluster-name', () => {
  it('accepts AKS names and refuses a trailing hyphen or underscore (register-flow used to accept one)', () => {
    expect(accepted({ 'cluster-name': 'b' }, () => readClusterName())).toBe('b');
    expect(accepted({ 'cluster-name': 'bakery_dev-aks1' }, () => readClusterName())).toBe('bakery_dev-aks1');
    for (const value of ['bakery-', 'bakery_', '-bakery', 'x'.repeat(64)]) {
      expect(refusal({ 'cluster-name': value }, () => readClusterName()).input, value).toBe('cluster-name');
    }
  });
});

describe('Kubernetes names', () => {
  it('namespace: an RFC 1123 label, default bakery', () => {
    expect(accepted({ namespace: '' }, readNamespace)).toBe('bakery');
    for (const value of ['Bakery', 'bakery.dev', 'x'.repeat(64), '-bakery']) expect(refusal({ namespace: value }, readNamespace).input, value).toBe('namespace');
  });

  it('namespace without a default (destroy finds it in the state): undefined when empty, the same rule otherwise', () => {
    expect(accepted({ namespace: '' }, readNamespaceIfGiven)).toBeUndefined();
    expect(accepted({ namespace: 'pangeo-forge' }, readNamespaceIfGiven)).toBe('pangeo-forge');
    for (const value of ['Bakery', 'bakery.dev', 'x'.repeat(64), '-bakery']) expect(refusal({ namespace: value }, readNamespaceIfGiven).input, value).toBe('namespace');
  });

  it('service-account: an RFC 1123 subdomain, default bakery-worker', () => {
    expect(accepted({ 'service-account': '' }, readServiceAccount)).toBe('bakery-worker');
    expect(accepted({ 'service-account': 'worker.bakery' }, readServiceAccount)).toBe('worker.bakery');
    // Each dot-separated part must start and end with a letter or digit.
    for (const value of ['worker..bakery', 'worker.-bakery', 'Worker']) expect(refusal({ 'service-account': value }, readServiceAccount).input, value).toBe('service-account');
  });
});

describe('environment, blob containers, commit', () => {
  it('environment: lowercase, up to 30, no trailing hyphen', () => {
    expect(accepted({ environment: 'prod-eu' }, readEnvironment)).toBe('prod-eu');
    for (const value of ['Dev', 'dev-', '1dev', `e${'x'.repeat(30)}`]) expect(refusal({ environment: value }, readEnvironment).message, value).toMatch(/lowercase environment name/);
  });

  it('a blob container of the input\'s own name', () => {
    expect(accepted({ container: '' }, () => readBlobContainer('container', { default: 'tfstate', example: 'tfstate' }))).toBe('tfstate');
    const error = refusal({ 'flow-storage-container': 'double--hyphen' }, () => readBlobContainer('flow-storage-container', { required: true, example: 'flows' }));
    expect(error.input).toBe('flow-storage-container');
    expect(error.message).toMatch(/3–63 lowercase letters, digits or single inner hyphens/);
  });

  it('commit: the run\'s GITHUB_SHA by default', () => {
    const saved = process.env.GITHUB_SHA;
    process.env.GITHUB_SHA = '6dcb09b5b57875f334f61aebed695e2e4193db5e';
    try {
      expect(accepted({ commit: '' }, () => readCommit('a commit SHA'))).toBe('6dcb09b5b57875f334f61aebed695e2e4193db5e');
      expect(refusal({ commit: 'not a sha' }, () => readCommit('a commit SHA')).message).toMatch(/which is not a commit SHA/);
    } finally {
      if (saved === undefined) delete process.env.GITHUB_SHA;
      else process.env.GITHUB_SHA = saved;
    }
  });
});

describe('readUrl', () => {
  it('returns the URL without a trailing slash, and its default as given', () => {
    expect(accepted({ 'blob-endpoint': 'https://acct.blob.core.windows.net/' }, () => readUrl('blob-endpoint', {}))).toBe('https://acct.blob.core.windows.net');
    expect(accepted({ 'arm-endpoint': '' }, () => readUrl('arm-endpoint', { default: 'https://management.azure.com', httpsOnly: true }))).toBe('https://management.azure.com');
    expect(accepted({ 'github-api-url': 'http://127.0.0.1:8080/api/v3' }, () => readUrl('github-api-url', {}))).toBe('http://127.0.0.1:8080/api/v3');
  });

  it.each([
    ['ftp://example.org', false],
    ['http://example.org', true],
    // A query could carry a SAS token into a log line; user info is a credential in the URL.
    ['https://acct.blob.core.windows.net/?sv=2022-11-02&sig=abc', false],
    ['https://user:pass@example.org', false],
    ['https://example.org/#fragment', false],
    ['https://exa mple.org', false],
  ])('refuses %j (https only: %s)', (value, httpsOnly) => {
    expect(refusal({ 'some-url': value }, () => readUrl('some-url', { httpsOnly })).input).toBe('some-url');
  });

  it('isLoopbackHost: this machine only', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['example.org', '10.0.0.1', '128.0.0.1', 'localhost.example.org'].some(isLoopbackHost)).toBe(false);
  });
});
