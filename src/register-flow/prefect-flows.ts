import path from 'node:path';
import * as core from '@actions/core';
import type { ContainerClient } from '@azure/storage-blob';
import { createTokenCredential } from '../lib/azure-auth.js';
import { explainAzureError } from '../lib/azure-errors.js';
import { accountNameOfBlobEndpoint } from '../lib/connection-string.js';
import { formatBytes } from '../lib/bytes.js';
import { formatDuration } from '../lib/duration.js';
import { ConfigurationError, GuidedError } from '../lib/errors.js';
import { collectFlowPackage, uploadFlowPackage, type FlowPackage, type UploadResult } from '../lib/flow-package.js';
import { withStatusLines } from '../lib/progress.js';
import { PrefectClient, deploymentUrl, flowRunUrl, type DeploymentCreate, type DeploymentResponse, type PrefectClientOptions } from '../lib/prefect.js';
import { resolvePrefectFlows, type FlowEntrypoint } from './entrypoints.js';
import type { PrefectInputs } from './inputs.js';
import { watchFlowRuns, type WatchOptions, type WatchedRun } from './watch.js';

/**
 * Registers flows with Prefect the way `prefect deploy` with an Azure Blob push step would, without a
 * Python toolchain on the runner: package each flow's directory, upload it once under a content hash,
 * upsert the flow and its deployment (pull step = download that folder with the pod's workload
 * identity), and optionally start and follow a smoke run.
 */

export const PULL_STEP = 'prefect_azure.deployments.steps.pull_from_azure_blob_storage';

export interface RegisteredFlow {
  entry: FlowEntrypoint;
  /** `<code-prefix>/<flow>/<hash>` in the container. */
  folder: string;
  package: FlowPackage;
  upload: UploadResult;
  deployment: DeploymentResponse;
  deploymentCreated: boolean;
  deploymentUrl: string;
  smokeRun?: WatchedRun & { url: string };
}

export interface PrefectRunOptions {
  client?: PrefectClientOptions;
  watch?: Pick<WatchOptions, 'sleep' | 'now' | 'statusIntervalMs'>;
}

/** A flow name as one blob path segment: Prefect allows spaces and more; a folder is clearer without. */
export function folderSegment(flowName: string): string {
  return flowName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'flow';
}

async function openContainer(inputs: PrefectInputs): Promise<ContainerClient> {
  const blob = await import('@azure/storage-blob');
  if (inputs.auth.method === 'connection-string') {
    try {
      return blob.BlobServiceClient.fromConnectionString(inputs.auth.connectionString!).getContainerClient(inputs.container);
    } catch (error) {
      // The SDK's words ("Invalid AccountKey in the provided Connection String") name no secret.
      throw new ConfigurationError('connection-string', `is not a usable storage connection string (${error instanceof Error ? error.message : String(error)})`, 'Copy the whole connection string from the storage account\'s "Access keys" page, and pass it from a secret.');
    }
  }
  const credential = await createTokenCredential(inputs.auth);
  return new blob.BlobServiceClient(inputs.blobEndpoint, credential).getContainerClient(inputs.container);
}

function sourceOfRun(): string | undefined {
  const { GITHUB_REPOSITORY: repo, GITHUB_SHA: sha, GITHUB_SERVER_URL: server, GITHUB_RUN_ID: runId } = process.env;
  if (!repo || !sha) return undefined;
  return `${repo}@${sha.slice(0, 12)}${server && runId ? ` (${server}/${repo}/actions/runs/${runId})` : ''}`;
}

/**
 * The platform's facts, given to every flow run as environment variables (the deployment's
 * `job_variables.env`, which Prefect's Kubernetes worker sets on the flow-run container). A flow reads
 * them as the defaults of its parameters, so a workflow that registers it needs no step outputs in
 * `parameters` — which deploy.yml's caller could not write anyway. Names and meanings are documented in
 * actions/register-flow/action.yml and examples/flows/README.md. Nothing secret: names and endpoints.
 */
export function platformEnvironment(inputs: PrefectInputs): Record<string, string> {
  const account = accountNameOfBlobEndpoint(inputs.blobEndpoint);
  return {
    BAKERY_IMAGE: inputs.image,
    BAKERY_NAMESPACE: inputs.namespace,
    BAKERY_SERVICE_ACCOUNT: inputs.serviceAccount,
    ...(account ? { BAKERY_FLOW_STORAGE_ACCOUNT: account } : {}),
    BAKERY_FLOW_STORAGE_BLOB_ENDPOINT: inputs.blobEndpoint,
    BAKERY_FLOW_STORAGE_CONTAINER: inputs.container,
    ...(inputs.cacheContainer ? { BAKERY_FLOW_CACHE_CONTAINER: inputs.cacheContainer } : {}),
    // JSON, for the pods a flow starts itself (Dask workers): the flow-run pod gets the same placement
    // from the work pool's template (setup-agent), but Kubernetes has no way to pass it on.
    ...(inputs.flowPodPlacement.tolerations.length ? { BAKERY_FLOW_POD_TOLERATIONS: JSON.stringify(inputs.flowPodPlacement.tolerations) } : {}),
    ...(Object.keys(inputs.flowPodPlacement.nodeSelector).length ? { BAKERY_FLOW_POD_NODE_SELECTOR: JSON.stringify(inputs.flowPodPlacement.nodeSelector) } : {}),
  };
}

/** The deployment body. Nothing secret goes in: the pod reaches storage with its workload identity. */
export function deploymentBody(inputs: PrefectInputs, entry: FlowEntrypoint, flowId: string, folder: string, contentHash: string): DeploymentCreate {
  const source = sourceOfRun();
  return {
    name: inputs.deploymentName,
    flow_id: flowId,
    // The pull step downloads the folder into the pod's working directory: the entrypoint is relative to it.
    entrypoint: `${path.basename(entry.file)}:${entry.functionName}`,
    work_pool_name: inputs.workPool,
    pull_steps: [{ [PULL_STEP]: { container: inputs.container, folder, credentials: { account_url: inputs.blobEndpoint } } }],
    job_variables: { image: inputs.image, namespace: inputs.namespace, service_account_name: inputs.serviceAccount, env: platformEnvironment(inputs) },
    parameters: inputs.parameters,
    // No parameter schema can be computed without importing the flow; Prefect then skips enforcement.
    enforce_parameter_schema: false,
    tags: inputs.tags,
    // Declarative: no cron means no schedule, so removing "cron" from the workflow removes the schedule.
    schedules: inputs.cron ? [{ schedule: { cron: inputs.cron.expression, timezone: inputs.cron.timezone, day_or: true }, active: true }] : [],
    version: contentHash.slice(0, 16),
    description: source ? `Registered by register-flow from ${source}.` : 'Registered by register-flow.',
  };
}

export async function registerPrefectFlows(inputs: PrefectInputs, options: PrefectRunOptions = {}): Promise<RegisteredFlow[]> {
  const entries = await resolvePrefectFlows(inputs.flows, inputs.workingDirectory);
  const prefect = new PrefectClient(inputs.prefect, options.client);
  // Made (not yet used) up front, so a malformed connection string stops the run before any call.
  const container = await openContainer(inputs);

  // Before anything is uploaded: the work pool (setup-agent's) must exist, or every deployment fails.
  const pool = await prefect.readWorkPool(inputs.workPool);
  if (!pool) {
    throw new GuidedError(
      `The work pool "${inputs.workPool}" does not exist in ${inputs.prefect.apiUrl}`,
      'Run setup-agent before register-flow (it creates the pool and starts its worker), or check "work-pool".',
    );
  }
  if (pool.type !== 'kubernetes') {
    core.warning(`Work pool "${pool.name}" is of type "${pool.type}", not "kubernetes": its workers may ignore the image, namespace and service_account_name job variables.`);
  }

  const packages = new Map<string, FlowPackage>();
  await core.group(`Package ${entries.length} flow${entries.length === 1 ? '' : 's'}`, async () => {
    for (const entry of entries) {
      const root = path.dirname(entry.file);
      if (packages.has(root)) continue;
      const pkg = await collectFlowPackage(root);
      packages.set(root, pkg);
      const where = path.relative(inputs.workingDirectory, root) || '.';
      core.info(`${where}: ${pkg.files.length} files, ${formatBytes(pkg.totalBytes)}, content ${pkg.shortHash} (ignore rules: ${pkg.ignoreRules === 'prefectignore' ? '.prefectignore' : 'built-in defaults, no .prefectignore'})`);
      if (pkg.ignored.length) core.info(`  left out: ${pkg.ignored.slice(0, 15).join(', ')}${pkg.ignored.length > 15 ? `, … (${pkg.ignored.length} in all)` : ''}`);
      if (pkg.files.length === 0) {
        throw new GuidedError(`The flow directory ${where} holds no file after .prefectignore`, `Check ${where}/.prefectignore: it excludes everything, including ${path.basename(entry.file)}.`);
      }
      if (!pkg.files.some((f) => path.join(root, f.path) === entry.file)) {
        throw new GuidedError(`${entry.displayPath} itself is excluded from its package`, `Remove the rule that matches ${path.basename(entry.file)} from ${where}/.prefectignore.`);
      }
    }
  });

  const uploads = new Map<string, UploadResult>();
  await core.group(`Upload flow code to ${inputs.container}`, async () => {
    for (const entry of entries) {
      const pkg = packages.get(path.dirname(entry.file))!;
      const folder = `${inputs.codePrefix}/${folderSegment(entry.flowName)}/${pkg.shortHash}`;
      try {
        const result = await withStatusLines(`uploading ${entry.flowName}'s code`, uploadFlowPackage(container, folder, pkg, sourceOfRun()));
        uploads.set(entry.flowName, result);
        core.info(result.uploaded ? `${entry.flowName}: uploaded ${result.files} file${result.files === 1 ? '' : 's'} to ${inputs.container}/${folder}/` : `${entry.flowName}: ${inputs.container}/${folder}/ already holds this code; nothing to upload`);
      } catch (error) {
        throw explainAzureError(error, { doing: `uploading ${entry.flowName}'s code to ${inputs.container}/${folder}`, auth: inputs.auth, roleHint: 'the "Storage Blob Data Contributor" role on the flow storage account (or its container)' });
      }
    }
  });

  const registered: RegisteredFlow[] = [];
  await core.group(`Register ${entries.length} deployment${entries.length === 1 ? '' : 's'} in work pool ${inputs.workPool}`, async () => {
    for (const entry of entries) {
      const pkg = packages.get(path.dirname(entry.file))!;
      const upload = uploads.get(entry.flowName)!;
      const flow = await prefect.createFlow({ name: entry.flowName });
      const deployment = await prefect.createDeployment(deploymentBody(inputs, entry, flow.id, upload.folder, pkg.contentHash));
      const url = deploymentUrl(inputs.prefect, deployment.id);
      core.info(`${entry.flowName}/${deployment.name}: ${deployment.wasCreated ? 'created' : 'updated'} deployment ${deployment.id} (entrypoint ${deployment.entrypoint}${inputs.cron ? `, cron "${inputs.cron.expression}" ${inputs.cron.timezone}` : ''}) ${url}`);
      registered.push({ entry, folder: upload.folder, package: pkg, upload, deployment, deploymentCreated: deployment.wasCreated, deploymentUrl: url });
    }
  });

  if (inputs.run) {
    await core.group(`Smoke run${registered.length === 1 ? '' : 's'} (timeout ${formatDuration(inputs.runTimeoutMs)})`, async () => {
      // One key per deployment and job attempt: a retried POST makes no second run; a re-run job does.
      const attempt = `${process.env.GITHUB_RUN_ID ?? 'local'}-${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`;
      const started = [];
      for (const flow of registered) {
        const run = await prefect.createFlowRunFromDeployment(flow.deployment.id, { idempotency_key: `register-flow-${attempt}-${flow.deployment.id}`, tags: ['smoke-test'] });
        core.info(`${flow.entry.flowName}: started flow run ${run.name ?? run.id} ${flowRunUrl(inputs.prefect, run.id)}`);
        started.push({ flowName: flow.entry.flowName, run });
      }
      const results = await watchFlowRuns(prefect, started, { timeoutMs: inputs.runTimeoutMs, pollIntervalMs: inputs.pollIntervalMs, ...options.watch });
      results.forEach((result, index) => {
        registered[index]!.smokeRun = { ...result, url: flowRunUrl(inputs.prefect, result.run.id) };
      });
    });
  }
  return registered;
}
