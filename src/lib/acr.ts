import type { TokenCredential } from '@azure/core-auth';
import { renewingToken, type AzureAuth } from './azure-auth.js';
import { ArmRestClient } from './arm-rest.js';
import { GuidedError } from './errors.js';
import { registerSecret } from './mask.js';
import { HttpError, withHttpRetry } from './retry.js';

/**
 * Azure Container Registry: ACR Tasks quick builds (what `az acr build` does) and the token exchange
 * behind `az acr login`. The types below are the REST API's own models (azure-rest-api-specs,
 * Microsoft.ContainerRegistry/stable/2019-04-01/containerregistry_build.json): the installed
 * @azure/arm-containerregistry 12 no longer carries the Tasks operations, so they go through ArmRestClient.
 */

/** The stable ACR Tasks API version (the one the official ScheduleRun examples use). */
export const ACR_TASKS_API_VERSION = '2019-04-01';

export interface SourceUploadDefinition {
  /** SAS URL where the client uploads the source archive. */
  uploadUrl?: string;
  /** Path to give back as `sourceLocation` in the run request. */
  relativePath?: string;
}

export type Os = 'Linux' | 'Windows';
export type Architecture = 'amd64' | 'x86' | 'arm' | 'arm64';
export type Variant = 'v6' | 'v7' | 'v8';

export interface PlatformProperties {
  os: Os;
  architecture?: Architecture;
  variant?: Variant;
}

export interface Argument {
  name: string;
  value: string;
  /** Removed from the build log by ACR. */
  isSecret?: boolean;
}

export interface DockerBuildRequest {
  type: 'DockerBuildRequest';
  isArchiveEnabled?: boolean;
  /** Fully qualified names (repository:tag) inside the registry. */
  imageNames?: string[];
  isPushEnabled?: boolean;
  noCache?: boolean;
  /** Relative to the source root. */
  dockerFilePath: string;
  target?: string;
  arguments?: Argument[];
  /** Seconds, 300–28800 (default 3600). */
  timeout?: number;
  platform: PlatformProperties;
  agentConfiguration?: { cpu?: number };
  sourceLocation?: string;
}

export type RunStatus = 'Queued' | 'Started' | 'Running' | 'Succeeded' | 'Failed' | 'Canceled' | 'Error' | 'Timeout';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['Succeeded', 'Failed', 'Canceled', 'Error', 'Timeout'];

export interface ImageDescriptor {
  registry?: string;
  repository?: string;
  tag?: string;
  digest?: string;
}

export interface RunProperties {
  runId?: string;
  status?: RunStatus;
  lastUpdatedTime?: string;
  runType?: 'QuickBuild' | 'QuickRun' | 'AutoBuild' | 'AutoRun';
  createTime?: string;
  startTime?: string;
  finishTime?: string;
  outputImages?: ImageDescriptor[];
  task?: string;
  platform?: PlatformProperties;
  agentConfiguration?: { cpu?: number };
  runErrorMessage?: string;
  provisioningState?: 'Creating' | 'Updating' | 'Deleting' | 'Succeeded' | 'Failed' | 'Canceled';
  isArchiveEnabled?: boolean;
}

export interface Run {
  id?: string;
  name?: string;
  type?: string;
  properties?: RunProperties;
}

export interface RunGetLogResult {
  logLink?: string;
}

export interface RegistryRef {
  subscriptionId: string;
  resourceGroup: string;
  registryName: string;
}

/** The registry resource as Registries_Get (2025-11-01) returns it; only what we read. */
export interface Registry {
  id?: string;
  name?: string;
  properties?: { loginServer?: string; provisioningState?: string };
}

export const REGISTRY_API_VERSION = '2025-11-01';

export class AcrTasksClient {
  private readonly base: string;
  private readonly registryName: string;

  constructor(
    private readonly arm: ArmRestClient,
    registry: RegistryRef,
  ) {
    this.registryName = registry.registryName;
    this.base = `/subscriptions/${registry.subscriptionId}/resourceGroups/${encodeURIComponent(registry.resourceGroup)}/providers/Microsoft.ContainerRegistry/registries/${encodeURIComponent(registry.registryName)}`;
  }

  getRegistry(): Promise<Registry> {
    return this.arm.request<Registry>('GET', this.base, REGISTRY_API_VERSION);
  }

  /** The registry's login server (lowercase), as Registries_Get reports it. */
  async loginServer(): Promise<string> {
    const loginServer = (await this.getRegistry()).properties?.loginServer;
    if (!loginServer) {
      throw new GuidedError(`Registry ${this.registryName} reported no login server`, 'Pass "registry-login-server" (the deploy step\'s `registry-login-server` output).');
    }
    return loginServer.toLowerCase();
  }

  /** Registries_GetBuildSourceUploadUrl. */
  getBuildSourceUploadUrl(): Promise<SourceUploadDefinition> {
    return this.arm.request<SourceUploadDefinition>('POST', `${this.base}/listBuildSourceUploadUrl`, ACR_TASKS_API_VERSION);
  }

  /** Registries_ScheduleRun (a long-running operation; resolves with the queued Run). */
  scheduleRun(request: DockerBuildRequest): Promise<Run> {
    return this.arm.request<Run>('POST', `${this.base}/scheduleRun`, ACR_TASKS_API_VERSION, request);
  }

  /** Runs_Get. */
  getRun(runId: string): Promise<Run> {
    return this.arm.request<Run>('GET', `${this.base}/runs/${encodeURIComponent(runId)}`, ACR_TASKS_API_VERSION);
  }

  /** Runs_GetLogSasUrl. */
  getLogSasUrl(runId: string): Promise<RunGetLogResult> {
    return this.arm.request<RunGetLogResult>('POST', `${this.base}/runs/${encodeURIComponent(runId)}/listLogSasUrl`, ACR_TASKS_API_VERSION);
  }
}

export function createAcrTasksClient(auth: AzureAuth, credential: TokenCredential, registry: RegistryRef, onRetry?: (message: string) => void): AcrTasksClient {
  return new AcrTasksClient(new ArmRestClient(auth, credential, { onRetry }), registry);
}

/**
 * `az acr login`'s exchange: an Entra ID token for ARM becomes an ACR refresh token, which `docker login`
 * accepts as the password of the all-zero user. The refresh token is registered as a secret.
 */
export async function exchangeAcrRefreshToken(auth: AzureAuth, credential: TokenCredential, loginServer: string): Promise<string> {
  const accessToken = await renewingToken(credential, `${auth.armEndpoint}/.default`)();
  const url = `https://${loginServer}/oauth2/exchange`;
  const form = new URLSearchParams({ grant_type: 'access_token', service: loginServer, access_token: accessToken });
  if (auth.tenantId) form.set('tenant', auth.tenantId);
  const body = await withHttpRetry(
    `POST ${url}`,
    async () => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
      const text = await response.text();
      if (!response.ok) throw new HttpError('POST', url, response.status, text, response.headers.get('retry-after'));
      return JSON.parse(text) as { refresh_token?: string };
    },
    { attempts: 4 },
  );
  if (!body.refresh_token) throw new Error(`${url} answered without a refresh_token`);
  registerSecret(body.refresh_token);
  return body.refresh_token;
}

/** The user name ACR expects with an exchanged refresh token. */
export const ACR_TOKEN_USERNAME = '00000000-0000-0000-0000-000000000000';
