import { createServer, type Server } from 'node:https';
import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import type { DockerBuildRequest, Registry, Run, RunGetLogResult, RunStatus, SourceUploadDefinition } from '../../src/lib/acr.js';
import { armError, fixtureBody, type ArmResponse, type AzureStandIn } from './azure-stand-in.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, type Azurite } from './azurite.js';
import { closeServer, listenOnLoopback, readRequestText } from './local-server.js';
import { testTlsOptions } from './tls.js';

/**
 * Microsoft.ContainerRegistry on the ARM stand-in, with Azurite as the registry's storage:
 * - Registries_Get answers the official RegistryGet.json example (name, id and login server substituted);
 * - Registries_ScheduleRun checks the DockerBuildRequest and answers like RegistriesScheduleRun.json
 *   (202 then the 200 body, as the long-running operation it is);
 * - Registries_GetBuildSourceUploadUrl, Runs_Get and Runs_GetLogSasUrl have no example among the shared
 *   fixtures, so their answers are built from the REST API's own model types (SourceUploadDefinition,
 *   Run, RunGetLogResult in src/lib/acr.ts, transcribed from the 2019-04-01 specification) — typed here
 *   so a shape that drifts from the model does not compile.
 * The upload URL is a real SAS URL on Azurite; the "build" reads the uploaded tar.gz back from there,
 * fails when the Dockerfile is not in it or has a `RUN exit 1` / `RUN false` step, writes its log to a
 * log blob a bit more on each Runs_Get (so log streaming is exercised), and reports the sha256 of the
 * uploaded archive as the image digest.
 * A second HTTPS server is the registry's login server: POST /oauth2/exchange turns an Entra token the
 * Azure stand-in issued into an ACR refresh token (`az acr login`'s exchange).
 */

export const ACR_TASKS_EXAMPLES = 'Microsoft.ContainerRegistry/2019-04-01';
export const ACR_REGISTRY_EXAMPLES = 'Microsoft.ContainerRegistry/2025-11-01';

interface SimulatedRun {
  id: string;
  request: DockerBuildRequest;
  archive: Buffer;
  entries: string[];
  scheduledAt: number;
  getCount: number;
  logLines: string[];
  outcome: RunStatus;
  errorMessage?: string;
  digest: string;
  logBlob: string;
}

export class AcrStandIn {
  readonly scheduled: DockerBuildRequest[] = [];
  readonly runs = new Map<string, SimulatedRun>();
  readonly refreshTokens = new Set<string>();
  /** Runs_Get calls before a run ends (it reports Queued, then Running, then its outcome). */
  getsUntilDone = 3;
  loginServer = '';
  private server?: Server;
  private readonly blobService: BlobServiceClient;
  private readonly credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);

  constructor(
    private readonly azure: AzureStandIn,
    private readonly azurite: Azurite,
    readonly registry: { resourceGroup: string; name: string; loginServer?: string },
  ) {
    this.blobService = BlobServiceClient.fromConnectionString(azurite.connectionString);
  }

  async start(): Promise<this> {
    await this.blobService.getContainerClient('source').createIfNotExists();
    await this.blobService.getContainerClient('logs').createIfNotExists();
    this.server = createServer(testTlsOptions(), (req, res) => {
      void readRequestText(req).then((body) => {
        const answer = this.exchange(req.method ?? '', req.url ?? '', body);
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    // The login server is a host[:port], as ACR reports it (no scheme).
    this.loginServer = this.registry.loginServer ?? new URL(await listenOnLoopback(this.server)).host;
    this.addRoutes();
    return this;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }

  /** The archive a run built from, as a list of its entries. */
  runEntries(): string[][] {
    return [...this.runs.values()].map((run) => run.entries);
  }

  private sasUrl(container: string, blob: string, permissions: string): string {
    const sas = generateBlobSASQueryParameters(
      { containerName: container, blobName: blob, permissions: BlobSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) },
      this.credential,
    ).toString();
    return `${this.azurite.blobEndpoint}/${container}/${blob}?${sas}`;
  }

  private addRoutes(): void {
    const base = String.raw`^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.ContainerRegistry/registries/([^/]+)`;
    const known = (match: RegExpExecArray): boolean => match[2]!.toLowerCase() === this.registry.resourceGroup.toLowerCase() && match[3]!.toLowerCase() === this.registry.name.toLowerCase();
    const notFound = (match: RegExpExecArray): ArmResponse =>
      armError(404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerRegistry/registries/${match[3]}' under resource group '${match[2]}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);

    this.azure.route('GET', new RegExp(`${base}$`, 'i'), (_request, match) => {
      if (!known(match)) return notFound(match);
      const body = fixtureBody<Registry & { properties: { loginServer: string } }>(`${ACR_REGISTRY_EXAMPLES}/RegistryGet.json`);
      body.id = `/subscriptions/${match[1]}/resourceGroups/${match[2]}/providers/Microsoft.ContainerRegistry/registries/${match[3]}`;
      body.name = match[3];
      body.properties.loginServer = this.loginServer;
      return { status: 200, body };
    });

    this.azure.route('POST', new RegExp(`${base}/listBuildSourceUploadUrl$`, 'i'), (_request, match) => {
      if (!known(match)) return notFound(match);
      const relativePath = `source/${new Date().toISOString().slice(0, 10).replace(/-/g, '')}0000/${randomUUID()}.tar.gz`;
      const body: SourceUploadDefinition = { relativePath, uploadUrl: this.sasUrl('source', relativePath.slice('source/'.length), 'cw') };
      return { status: 200, body };
    });

    this.azure.route('POST', new RegExp(`${base}/scheduleRun$`, 'i'), async (request, match) => {
      if (!known(match)) return notFound(match);
      const problem = checkDockerBuildRequest(request.body);
      if (problem) return armError(400, 'InvalidRequestContent', problem);
      const runRequest = request.body as DockerBuildRequest;
      this.scheduled.push(runRequest);
      const blob = this.blobService.getContainerClient('source').getBlockBlobClient(runRequest.sourceLocation!.replace(/^source\//, ''));
      if (!(await blob.exists())) return armError(400, 'InvalidSourceLocation', `The source location '${runRequest.sourceLocation}' does not exist.`);
      const archive = await blob.downloadToBuffer();
      const run = this.prepareRun(runRequest, archive);
      const body = fixtureBody<Run & { properties: Record<string, unknown> }>(`${ACR_TASKS_EXAMPLES}/RegistriesScheduleRun.json`);
      body.properties = { ...body.properties, runId: run.id, status: 'Queued', lastUpdatedTime: new Date().toISOString() };
      body.id = `/subscriptions/${match[1]}/resourceGroups/${match[2]}/providers/Microsoft.ContainerRegistry/registries/${match[3]}/runs/${run.id}`;
      body.name = run.id;
      return this.azure.accepted(() => ({ status: 200, body }));
    });

    this.azure.route('GET', new RegExp(`${base}/runs/([^/]+)$`, 'i'), async (_request, match) => {
      const run = known(match) ? this.runs.get(match[4]!) : undefined;
      if (!run) return armError(404, 'RunNotFound', `The run '${match[4]}' was not found.`);
      run.getCount++;
      const status: RunStatus = run.getCount <= 1 ? 'Queued' : run.getCount < this.getsUntilDone ? 'Running' : run.outcome;
      // The agent writes the log as it goes: half of it while running, all of it at the end.
      const shown = status === 'Queued' ? 0 : status === 'Running' ? Math.ceil(run.logLines.length / 2) : run.logLines.length;
      if (shown > 0) {
        const text = run.logLines.slice(0, shown).join('\n') + (shown === run.logLines.length ? '\n' : '');
        await this.blobService.getContainerClient('logs').getBlockBlobClient(run.logBlob).upload(text, Buffer.byteLength(text));
      }
      const [repository] = (run.request.imageNames?.[0] ?? '').split(':');
      const body: Run = {
        id: `/subscriptions/${match[1]}/resourceGroups/${match[2]}/providers/Microsoft.ContainerRegistry/registries/${match[3]}/runs/${run.id}`,
        name: run.id,
        type: 'Microsoft.ContainerRegistry/registries/runs',
        properties: {
          runId: run.id,
          status,
          runType: 'QuickBuild',
          provisioningState: 'Succeeded',
          createTime: new Date(run.scheduledAt).toISOString(),
          lastUpdatedTime: new Date().toISOString(),
          platform: run.request.platform,
          agentConfiguration: { cpu: 2 },
          isArchiveEnabled: false,
          ...(status !== 'Queued' ? { startTime: new Date(run.scheduledAt + 100).toISOString() } : {}),
          ...(status === run.outcome ? { finishTime: new Date().toISOString() } : {}),
          ...(status === 'Succeeded'
            ? { outputImages: (run.request.imageNames ?? []).map((name) => ({ registry: this.loginServer, repository, tag: name.split(':')[1], digest: run.digest })) }
            : {}),
          ...(status === 'Failed' && run.errorMessage ? { runErrorMessage: run.errorMessage } : {}),
        },
      };
      return { status: 200, body };
    });

    this.azure.route('POST', new RegExp(`${base}/runs/([^/]+)/listLogSasUrl$`, 'i'), (_request, match) => {
      const run = known(match) ? this.runs.get(match[4]!) : undefined;
      if (!run) return armError(404, 'RunNotFound', `The run '${match[4]}' was not found.`);
      const body: RunGetLogResult = { logLink: this.sasUrl('logs', run.logBlob, 'r') };
      return { status: 200, body };
    });
  }

  /** What ACR's build agent would do with this archive, decided up front; revealed by Runs_Get. */
  private prepareRun(request: DockerBuildRequest, archive: Buffer): SimulatedRun {
    const id = `cb${(this.runs.size + 1).toString(36)}`;
    const files = tarFiles(gunzipSync(archive));
    const entries = [...files.keys()].sort();
    const stamp = (): string => new Date().toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, '/');
    const digest = `sha256:${createHash('sha256').update(archive).digest('hex')}`;
    const lines = [`${stamp()} Downloading source code...`, `${stamp()} Finished downloading source code`, `${stamp()} Logging in to registry: ${this.loginServer}`, `${stamp()} Successfully logged into ${this.loginServer}`, `${stamp()} Executing step ID: build. Timeout(sec): ${request.timeout ?? 3600}, Working directory: '', Network: ''`];
    const dockerfile = files.get(request.dockerFilePath);
    let outcome: RunStatus = 'Succeeded';
    let errorMessage: string | undefined;
    if (!dockerfile) {
      lines.push(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat /workspace/${request.dockerFilePath}: no such file or directory`);
      outcome = 'Failed';
      errorMessage = 'failed during run, err: exit status 1';
    } else {
      const instructions = dockerfile.toString('utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
      lines.push(`Sending build context to Docker daemon  ${(archive.length / 1024).toFixed(1)}kB`);
      for (const [index, instruction] of instructions.entries()) {
        lines.push(`Step ${index + 1}/${instructions.length} : ${instruction}`);
        if (/^RUN\s+(exit 1|false)\b/.test(instruction)) {
          lines.push(`The command '/bin/sh -c ${instruction.slice(4)}' returned a non-zero code: 1`);
          outcome = 'Failed';
          errorMessage = 'failed during run, err: exit status 1';
          break;
        }
        lines.push(` ---> ${createHash('sha256').update(instruction).digest('hex').slice(0, 12)}`);
      }
    }
    if (outcome === 'Succeeded') {
      for (const name of request.imageNames ?? []) {
        lines.push(`${stamp()} Pushing image: ${this.loginServer}/${name}, attempt 1`, `${name.split(':')[1]}: digest: ${digest} size: 2412`, `${stamp()} Successfully pushed image: ${this.loginServer}/${name}`);
      }
      lines.push(`Run ID: ${id} was successful after 3s`);
    } else {
      lines.push(`Run ID: ${id} failed after 2s. Error: ${errorMessage}`);
    }
    const run: SimulatedRun = { id, request, archive, entries, scheduledAt: Date.now(), getCount: 0, logLines: lines, outcome, errorMessage, digest, logBlob: `${id}/rawtext.log` };
    this.runs.set(id, run);
    return run;
  }

  /** ACR's /oauth2/exchange (the docker login token service). */
  private exchange(method: string, url: string, body: string): { status: number; body: unknown } {
    if (method !== 'POST' || !url.startsWith('/oauth2/exchange')) return { status: 404, body: { errors: [{ code: 'NOT_FOUND', message: 'not found' }] } };
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'access_token' || form.get('service') !== this.loginServer || !this.azure.issuedTokens.has(form.get('access_token') ?? '')) {
      return { status: 401, body: { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] } };
    }
    const refreshToken = `acr-refresh-${randomUUID()}`;
    this.refreshTokens.add(refreshToken);
    return { status: 200, body: { refresh_token: refreshToken } };
  }
}

/** The checks ARM makes against the DockerBuildRequest schema (required fields and enums). */
function checkDockerBuildRequest(body: unknown): string | undefined {
  const request = body as Partial<DockerBuildRequest> | undefined;
  if (!request || request.type !== 'DockerBuildRequest') return `The request type '${request?.type}' is not supported here.`;
  if (!request.dockerFilePath) return "The 'dockerFilePath' field is required.";
  if (!request.platform?.os || !['Linux', 'Windows'].includes(request.platform.os)) return "The 'platform.os' field is required and must be Linux or Windows.";
  if (request.platform.architecture && !['amd64', 'x86', 'arm', 'arm64'].includes(request.platform.architecture)) return `Architecture '${request.platform.architecture}' is not valid.`;
  if (request.timeout !== undefined && (request.timeout < 300 || request.timeout > 28800)) return "The 'timeout' must be between 300 and 28800 seconds.";
  if (!request.sourceLocation) return "The 'sourceLocation' field is required for a build from an uploaded context.";
  for (const name of request.imageNames ?? []) if (!/^[a-z0-9./_-]+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(name)) return `Invalid image name '${name}'.`;
  for (const argument of request.arguments ?? []) if (typeof argument.name !== 'string' || typeof argument.value !== 'string') return 'Each argument needs a name and a value.';
  return undefined;
}

/** The regular files of an (uncompressed) tar archive, by path. */
function tarFiles(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    if (type === '0') files.set(name, tar.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

export async function startAcr(azure: AzureStandIn, azurite: Azurite, registry: { resourceGroup: string; name: string; loginServer?: string }): Promise<AcrStandIn> {
  return new AcrStandIn(azure, azurite, registry).start();
}
