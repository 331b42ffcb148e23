import * as core from '@actions/core';
import { createTokenCredential } from '../lib/azure-auth.js';
import { parseConnectionString } from '../lib/connection-string.js';
import { describeAzureError } from '../lib/azure-errors.js';
import { ConfigurationError, GuidedError } from '../lib/errors.js';
import { scrub } from '../lib/mask.js';
import { appendJobSummary } from '../lib/summary.js';
import { createArmClients, ensureStateAccount, type ArmOptions } from './arm.js';
import { displayPath, renderBackendConfig, writeBackendConfig } from './backend-file.js';
import { ensureContainer } from './container.js';
import { readInputs, type Inputs } from './inputs.js';
import { BACKEND_FILE, Report } from './report.js';

export type RunOptions = ArmOptions;

/**
 * Ensures the Terraform remote state of one stack and environment (resource group, storage account,
 * blob settings, container), writes backend-<environment>.hcl, and sets the outputs the plan and
 * deploy steps take. Under `auth: connection-string` the account exists already: only the container.
 */
export async function run(options: RunOptions = {}): Promise<void> {
  const inputs = readInputs();
  const report = new Report();
  core.info(
    `Remote state for ${inputs.stack}/${inputs.environment}: ` +
      `${inputs.resourceGroup ? `resource group ${inputs.resourceGroup}, ` : ''}storage account ${inputs.storageAccount}, ` +
      `container ${inputs.container}, key ${inputs.stateKey} (auth: ${inputs.auth.method}${inputs.readOnly ? ', read-only' : ''}).`,
  );

  let blobEndpoint: string;
  try {
    blobEndpoint = await ensureRemoteState(inputs, report, options);
  } catch (error) {
    await appendJobSummary(report.markdown(`Remote state for ${inputs.stack}/${inputs.environment}: failed`, inputs.readOnly));
    throw withWhatExists(error, report);
  }

  const outcome = await writeBackendConfig(
    inputs.backendConfigFile,
    renderBackendConfig({
      method: inputs.auth.method,
      armEndpoint: inputs.auth.armEndpoint,
      subscriptionId: inputs.auth.subscriptionId,
      resourceGroup: inputs.resourceGroup,
      storageAccount: inputs.storageAccount,
      container: inputs.container,
      stateKey: inputs.stateKey,
    }),
  );
  report.add(BACKEND_FILE, displayPath(inputs.backendConfigFile), outcome, 'terraform init -backend-config=<this file>');

  core.setOutput('backend-config-file', inputs.backendConfigFile);
  core.setOutput('resource-group', inputs.resourceGroup ?? '');
  core.setOutput('storage-account', inputs.storageAccount);
  core.setOutput('container', inputs.container);
  core.setOutput('state-key', inputs.stateKey);
  core.setOutput('blob-endpoint', scrub(blobEndpoint));

  await appendJobSummary(report.markdown(`Remote state for ${inputs.stack}/${inputs.environment}`, inputs.readOnly));
  core.info(report.headline(inputs.readOnly));
  if (inputs.auth.method === 'connection-string') {
    core.info(`${displayPath(inputs.backendConfigFile)} holds no key: give Terraform ARM_ACCESS_KEY (or ARM_SAS_TOKEN) from a secret.`);
  }
}

/** Returns the blob endpoint the state lives behind. */
async function ensureRemoteState(inputs: Inputs, report: Report, options: RunOptions): Promise<string> {
  if (inputs.auth.method === 'connection-string') {
    const blobEndpoint = parseConnectionString(inputs.auth.connectionString!).blobEndpoint ?? '';
    await core.group('Container (auth: connection-string; the account exists already)', () =>
      ensureContainer({ connectionString: inputs.auth.connectionString! }, inputs, report),
    );
    return blobEndpoint;
  }
  const credential = await createTokenCredential(inputs.auth);
  const clients = await createArmClients(inputs.auth, credential);
  const { blobEndpoint } = await core.group(inputs.readOnly ? 'Resource group and storage account (read-only)' : 'Resource group and storage account', () =>
    ensureStateAccount(clients, inputs, report, options),
  );
  await core.group('Container', () => ensureContainer({ blobEndpoint, credential }, inputs, report));
  return blobEndpoint;
}

/**
 * A failure after some pieces were found or made says which, and that a re-run is safe: every step
 * looks before it creates. Nothing done yet = the original error, untouched.
 */
function withWhatExists(error: unknown, report: Report): unknown {
  const inPlace = report.inPlace();
  if (!inPlace.length) return error;
  if (!(error instanceof ConfigurationError || error instanceof GuidedError) && error instanceof Error && error.stack) {
    core.debug(scrub(error.stack));
  }
  const guidance = error instanceof GuidedError ? `${error.guidance}\n` : '';
  return new GuidedError(
    error instanceof GuidedError ? error.headline : describeAzureError(error),
    `${guidance}Already in place: ${inPlace.join(', ')}. Re-running this step with the same inputs is safe: it keeps what exists and ` +
      'continues (settings it did not get to apply are then reported as drifted; enforce-settings: true applies them).',
  );
}
