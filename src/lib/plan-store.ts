import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import type { AzureAuth } from './azure-auth.js';
import { blobEndpointFor, type BackendConfig } from './backend-config.js';
import { GuidedError, errorMessage } from './errors.js';
import { sha256OfFile } from './file-hash.js';
import { httpStatusOf, isNotFound } from './retry.js';

/**
 * The reviewed plan is the applied plan. `plan` stores the binary plan file with its SHA-256 next to the
 * Terraform state; `deploy` fetches it by id, checks the hash, and applies exactly that file — never a
 * fresh plan that nobody reviewed. Layout in the state container:
 *
 *   plans/<environment>/<commit>/<slug>/tfplan          the binary plan (`terraform plan -out`)
 *   plans/<environment>/<commit>/<slug>/tfplan.sha256   "<hex>  tfplan", as sha256sum prints it
 *   plans/<environment>/<commit>/<slug>/meta.json       who/what/when (StoredPlan), written last
 *
 * The plan id is `<environment>/<commit>/<slug>`, where the slug names the working directory (and the
 * label, when one is given). Re-planning the same commit replaces the stored plan.
 */

export interface PlanMeta {
  environment: string;
  commit: string;
  workingDirectory: string;
  label?: string;
  /** A `plan -destroy`. */
  destroy: boolean;
  hasChanges: boolean;
  /** The counts of the plan summary (add, change, destroy, replace, ...). */
  counts?: Record<string, number>;
  terraformVersion?: string;
  /** The workflow run that made the plan. */
  runUrl?: string;
}

export interface StoredPlan extends PlanMeta {
  planId: string;
  /** Hex SHA-256 of the binary plan file. */
  sha256: string;
  size: number;
  createdAt: string;
  /** Where it lives, for messages: `<account or endpoint>/<container>/plans/<planId>/`. */
  location: string;
}

/** Where plans are kept: the state account's container, reached like the backend reaches it. */
export type PlanStoreTarget =
  | { kind: 'connection-string'; connectionString: string; containerName: string }
  | { kind: 'token'; blobEndpoint: string; containerName: string; auth: AzureAuth };

/**
 * The state account and container from the backend config, with the action's credentials: a
 * connection string when auth is `connection-string` (a pre-provisioned account, Azurite), otherwise
 * an Entra ID token for `https://<account>.blob.<cloud suffix>` (or `blobEndpoint` when given).
 */
export function planStoreTarget(backend: BackendConfig, auth: AzureAuth, blobEndpoint?: string): PlanStoreTarget {
  if (auth.method === 'connection-string') {
    return { kind: 'connection-string', connectionString: auth.connectionString!, containerName: backend.container_name };
  }
  return { kind: 'token', blobEndpoint: blobEndpoint ?? blobEndpointFor(backend), containerName: backend.container_name, auth };
}

const PLAN_FILE = 'tfplan';
const SHA_FILE = 'tfplan.sha256';
const META_FILE = 'meta.json';

/** Lowercase letters, digits, dots, dashes; `/` and everything else become `-`. */
export function slugify(value: string): string {
  return (
    value
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/\.{2,}/g, '.')
      .replace(/^[-.]+|[-.]+$/g, '') || 'root'
  );
}

export const PLAN_ID_PATTERN = /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/[a-z0-9][a-z0-9.-]*$/;

/** `dev/6dcb09b…/terraform-stacks-bakery` (+ `--<label>` when a label is given). */
export function planIdFor(environment: string, commit: string, workingDirectory: string, label?: string): string {
  const directory = slugify(path.posix.normalize(workingDirectory.split(path.sep).join('/')).replace(/^\.\/?/, ''));
  const slug = label ? `${directory}--${slugify(label)}` : directory;
  return `${environment}/${commit}/${slug}`;
}

/**
 * fetchPlan found no stored plan under the id: it was never made (or was made for another commit).
 * Distinct from a plan that fails its integrity check, which must never be worked around by re-planning.
 */
export class StoredPlanMissingError extends GuidedError {}

function blobPrefix(planId: string): string {
  return `plans/${planId}/`;
}

async function containerClient(target: PlanStoreTarget): Promise<ContainerClient> {
  const { BlobServiceClient } = await import('@azure/storage-blob');
  if (target.kind === 'connection-string') {
    return BlobServiceClient.fromConnectionString(target.connectionString).getContainerClient(target.containerName);
  }
  const { createTokenCredential } = await import('./azure-auth.js');
  return new BlobServiceClient(target.blobEndpoint, await createTokenCredential(target.auth)).getContainerClient(target.containerName);
}

/** The container URL without its query: a SAS token there would be a credential. */
function locationOf(container: ContainerClient, planId: string): string {
  return `${container.url.split('?')[0]!.replace(/\/$/, '')}/${blobPrefix(planId)}`;
}

/** Uploads the plan, its hash and its metadata (in that order: meta.json present = plan complete). */
export async function storePlan(target: PlanStoreTarget, planFile: string, meta: PlanMeta & { planId: string }): Promise<StoredPlan> {
  const container = await containerClient(target);
  const prefix = blobPrefix(meta.planId);
  const sha256 = await sha256OfFile(planFile);
  const stored: StoredPlan = {
    ...meta,
    sha256,
    size: statSync(planFile).size,
    createdAt: new Date().toISOString(),
    location: locationOf(container, meta.planId),
  };
  try {
    await container.getBlockBlobClient(prefix + PLAN_FILE).uploadFile(planFile, {
      blobHTTPHeaders: { blobContentType: 'application/zip' },
      metadata: { sha256 },
    });
    const shaLine = `${sha256}  ${PLAN_FILE}\n`;
    await container.getBlockBlobClient(prefix + SHA_FILE).upload(shaLine, Buffer.byteLength(shaLine), { blobHTTPHeaders: { blobContentType: 'text/plain' } });
    const metaJson = `${JSON.stringify(stored, null, 2)}\n`;
    await container.getBlockBlobClient(prefix + META_FILE).upload(metaJson, Buffer.byteLength(metaJson), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404) {
      throw new GuidedError(`Cannot store the plan: the state container ${container.url.split('?')[0]} does not exist`, 'Run setup-remote-state for this environment first; it creates the container.');
    }
    if (status === 403 || status === 401) {
      throw new GuidedError(
        `Cannot store the plan in ${container.url.split('?')[0]}: access denied (${status})`,
        'The identity needs "Storage Blob Data Contributor" on the state storage account (the same role Terraform\'s backend needs with use_azuread_auth).',
      );
    }
    throw error;
  }
  return stored;
}

/**
 * Downloads a stored plan to `destFile` and proves it is the reviewed one: its SHA-256 must match the
 * stored hash, the metadata, and `expectedSha256` when the caller has one. Anything missing or not
 * matching is a GuidedError that says to re-plan.
 */
export async function fetchPlan(target: PlanStoreTarget, planId: string, destFile: string, options: { expectedSha256?: string } = {}): Promise<StoredPlan> {
  const container = await containerClient(target);
  const prefix = blobPrefix(planId);
  const rePlan = `Re-plan: run the plan action for this commit and environment, review its plan, then deploy with its "plan-id" output.`;
  let meta: StoredPlan;
  let storedSha: string;
  try {
    meta = JSON.parse((await container.getBlockBlobClient(prefix + META_FILE).downloadToBuffer()).toString('utf8')) as StoredPlan;
    storedSha = (await container.getBlockBlobClient(prefix + SHA_FILE).downloadToBuffer()).toString('utf8').trim().split(/\s+/)[0] ?? '';
    mkdirSync(path.dirname(destFile), { recursive: true });
    await container.getBlockBlobClient(prefix + PLAN_FILE).downloadToFile(destFile);
  } catch (error) {
    if (isNotFound(error)) {
      throw new StoredPlanMissingError(`No stored plan "${planId}" in ${locationOf(container, planId)}`, `It was never made, or it was made for another commit or environment. ${rePlan}`);
    }
    throw new GuidedError(`Could not read the stored plan "${planId}": ${errorMessage(error)}`, `Check the identity's access to the state account (Storage Blob Data Reader or above). ${rePlan}`);
  }
  const actual = await sha256OfFile(destFile);
  const expectations: [string, string | undefined][] = [
    ['its tfplan.sha256', storedSha],
    ['its meta.json', meta.sha256],
    ['the SHA-256 that was reviewed', options.expectedSha256],
  ];
  for (const [source, expected] of expectations) {
    if (expected !== undefined && expected.toLowerCase() !== actual) {
      throw new GuidedError(
        `The stored plan "${planId}" does not match ${source}: expected SHA-256 ${expected}, the file is ${actual}`,
        `It was changed or damaged after review; do not apply it. ${rePlan}`,
      );
    }
  }
  return { ...meta, planId, sha256: actual, location: locationOf(container, planId) };
}
