import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, GuidedError } from '../../src/lib/errors.js';
import { registerSecret, resetSecretsForTesting } from '../../src/lib/mask.js';
import { runAction } from '../../src/lib/run-action.js';
import { runInProcess } from '../support/in-process.js';

afterEach(() => resetSecretsForTesting());

function run(main: () => Promise<void>) {
  return runInProcess(() => runAction('my-action', main));
}

describe('runAction', () => {
  it('leaves a successful run alone', async () => {
    const result = await run(async () => {});
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBeUndefined();
    expect(result.stdout).not.toContain('::error::');
  });

  it('a ConfigurationError fails the step with the action name and the message, and no stack', async () => {
    const result = await run(async () => {
      throw new ConfigurationError('region', 'is "West Europe", which is not a region name', 'Set "region" to e.g. "westeurope".');
    });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(1);
    expect(result.log).toContain('::error::my-action: Input "region" is "West Europe", which is not a region name. Set "region" to e.g. "westeurope".');
    expect(result.log).not.toContain('::debug::');
    expect(result.log).not.toMatch(/at .*run-action/);
  });

  it('a GuidedError carries its guidance (multi-line, escaped as a workflow command) and no stack', async () => {
    const result = await run(async () => {
      throw new GuidedError('Azure refused it (403)', 'Give the identity the Contributor role.');
    });
    expect(result.exitCode).toBe(1);
    expect(result.log).toContain('::error::my-action: Azure refused it (403)%0AGive the identity the Contributor role.');
    expect(result.log).not.toContain('::debug::');
  });

  it('a bug fails the step and leaves its stack for ACTIONS_STEP_DEBUG only (::debug::)', async () => {
    const result = await run(async () => {
      throw new TypeError('cannot read properties of undefined');
    });
    expect(result.exitCode).toBe(1);
    expect(result.log).toContain('::error::my-action: cannot read properties of undefined');
    const debug = result.log.split('\n').find((line) => line.startsWith('::debug::'));
    expect(debug).toMatch(/^::debug::TypeError: cannot read properties of undefined%0A\s+at /);
  });

  it('scrubs every known secret from the message and the stack', async () => {
    const result = await run(async () => {
      registerSecret('tok-1234567890');
      throw new Error('request with tok-1234567890 failed');
    });
    expect(result.log).toContain('::error::my-action: request with *** failed');
    expect(result.log).not.toContain('tok-1234567890');
  });

  it('reports a thrown non-Error value', async () => {
    const result = await run(async () => {
      throw 'plain string';
    });
    expect(result.log).toContain('::error::my-action: plain string');
  });
});
