import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { globMatches } from '../../src/destroy/inputs.js';
import { run } from '../../src/destroy/main.js';
import { ConfigurationError } from '../../src/lib/errors.js';
import { installFakeTerraform } from '../support/fake-terraform.js';
import { runInProcess } from '../support/in-process.js';
import { BAKERY, makeWorkspace } from '../deploy/helpers.js';

// The two guards of destroy, checked before anything else: a wrong confirmation or a protected
// environment stops the action before a single command runs (the fake terraform records every call).

function runDestroy(environment: string, inputs: Record<string, string>) {
  const workspace = makeWorkspace([BAKERY]);
  const terraform = installFakeTerraform();
  return runInProcess(run, {
    workDir: workspace,
    inputs: {
      environment,
      'working-directories': BAKERY,
      'backend-config-file': `backend-dev.hcl`,
      'terraform-binary': path.join(terraform.binDir, 'terraform'),
      auth: 'connection-string',
      'connection-string': 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
      ...inputs,
    },
    env: terraform.env,
  }).then((result) => ({ ...result, calls: terraform.calls() }));
}

describe('destroy guards', () => {
  it('a confirm that is not the environment\'s name stops everything and says exactly what to type', async () => {
    const result = await runDestroy('dev', { confirm: 'yes' });
    expect(result.error).toBeInstanceOf(ConfigurationError);
    const error = result.error as ConfigurationError;
    expect(error.input).toBe('confirm');
    expect(error.message).toBe('Input "confirm" is "yes", which is not the environment\'s name, so nothing was destroyed. To destroy the environment "dev" and everything in it, set "confirm" to exactly: dev');
    expect(result.calls).toEqual([]);
    expect(result.outputs).toEqual({});
  });

  it('masks the credentials before the guards, though auth is read after them', async () => {
    const result = await runDestroy('dev', { confirm: 'yes', auth: 'client-secret', 'client-secret': 'destroy-guard-client-secret' });
    expect((result.error as ConfigurationError).input).toBe('confirm');
    expect(result.masked).toEqual(expect.arrayContaining(['destroy-guard-client-secret', 'a2V5']));
  });

  it('an empty confirm stops everything too', async () => {
    const result = await runDestroy('dev', {});
    expect((result.error as ConfigurationError).message).toContain('Input "confirm" is empty, so nothing was destroyed');
    expect(result.calls).toEqual([]);
  });

  it('the confirmation is exact: another case or surrounding words are refused', async () => {
    for (const confirm of ['DEV', 'destroy dev']) {
      const result = await runDestroy('dev', { confirm });
      expect((result.error as ConfigurationError).input, confirm).toBe('confirm');
      expect(result.calls).toEqual([]);
    }
  });

  it('an environment matching the default protected pattern prod* is refused', async () => {
    const result = await runDestroy('prod-eu', { confirm: 'prod-eu' });
    const error = result.error as ConfigurationError;
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.input).toBe('environment');
    expect(error.message).toContain('is "prod-eu", which matches the protected-environments pattern "prod*", so nothing was destroyed');
    expect(error.message).toContain('allow-protected: true');
    expect(result.calls).toEqual([]);
  });

  it('allow-protected: true lets a protected environment be destroyed', async () => {
    const result = await runDestroy('prod-eu', { confirm: 'prod-eu', 'allow-protected': 'true', 'backend-config-file': '' });
    // No backend-prod-eu.hcl in the workspace: the guards passed and the next check speaks.
    expect((result.error as ConfigurationError).input).toBe('backend-config-file');
  });

  it('protected-environments replaces the default list; patterns are globs', async () => {
    const refused = await runDestroy('qa-7', { confirm: 'qa-7', 'protected-environments': 'staging\nqa-*' });
    expect((refused.error as ConfigurationError).message).toContain('matches the protected-environments pattern "qa-*"');
    const allowed = await runDestroy('dev', { confirm: 'dev', 'protected-environments': 'staging, qa-*' });
    expect(allowed.error).toBeUndefined();
    expect(allowed.calls.map((call) => call.command)).toEqual(['version', 'init', 'destroy']);
    expect(allowed.outputs.destroyed).toBe('true');
  });

  it('globMatches: whole-name, case-insensitive, * and ?', () => {
    expect(globMatches('prod*', 'prod')).toBe(true);
    expect(globMatches('prod*', 'production')).toBe(true);
    expect(globMatches('prod*', 'preprod')).toBe(false);
    expect(globMatches('*-prod', 'eu-prod')).toBe(true);
    expect(globMatches('qa-?', 'QA-1')).toBe(true);
    expect(globMatches('qa-?', 'qa-12')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
  });
});
