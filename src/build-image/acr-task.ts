import * as core from '@actions/core';
import type { TokenCredential } from '@azure/core-auth';
import { createAcrTasksClient, TERMINAL_RUN_STATUSES, type AcrTasksClient, type DockerBuildRequest, type ImageDescriptor, type Run } from '../lib/acr.js';
import { armErrorOf } from '../lib/azure-errors.js';
import { formatBytes } from '../lib/bytes.js';
import { formatDuration } from '../lib/duration.js';
import { GuidedError } from '../lib/errors.js';
import { registerSecret, scrub } from '../lib/mask.js';
import { STATUS_INTERVAL_MS, withStatusLines } from '../lib/progress.js';
import { HttpError, httpStatusOf, sleep, withHttpRetry } from '../lib/retry.js';
import { listContextFiles, packContext, terraformFilesWarning } from './context.js';
import type { Inputs } from './inputs.js';

/**
 * `az acr build` without the Azure CLI: pack the context, upload it to the registry's source SAS URL,
 * schedule a DockerBuildRequest run, follow its log blob while polling the run, and read the digest
 * from the run's output images. No Docker engine is needed on the runner.
 */

export interface BuildResult {
  loginServer: string;
  /** sha256:<64 hex> */
  digest: string;
  runId?: string;
}

/** How often the run and its log are polled; a status line is printed at least every STATUS_INTERVAL_MS. */
const POLL_MS = 2000;
/** ACR enforces the run timeout itself; we wait a little longer for it to say so. */
const TIMEOUT_GRACE_MS = 5 * 60_000;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export async function buildWithAcrTask(inputs: Inputs, credential: TokenCredential): Promise<BuildResult> {
  const registry = { subscriptionId: inputs.auth.subscriptionId!, resourceGroup: inputs.resourceGroup!, registryName: inputs.registryName! };
  const acr = createAcrTasksClient(inputs.auth, credential, registry, (message) => core.info(message));

  const archive = await core.group('Packing the build context', async () => {
    const { files, excludedCount, patterns } = await listContextFiles(inputs.context, [inputs.dockerfileInContext!, '.dockerignore']);
    const terraformWarning = terraformFilesWarning(files);
    if (terraformWarning) core.warning(terraformWarning);
    const packed = await packContext(inputs.context, files);
    core.info(`${files.length} files${patterns.length ? ` (${excludedCount} left out by .dockerignore)` : ''}, ${formatBytes(packed.length)} compressed.`);
    return packed;
  });

  const sourceLocation = await core.group(`Uploading the context to registry ${registry.registryName}`, async () => {
    const upload = await explainAcr(acr.getBuildSourceUploadUrl(), inputs);
    if (!upload.uploadUrl || !upload.relativePath) throw new Error('ACR answered listBuildSourceUploadUrl without uploadUrl/relativePath');
    registerSecret(upload.uploadUrl);
    await withStatusLines(`uploading the context (${formatBytes(archive.length)})`, uploadBlob(upload.uploadUrl, archive));
    core.info(`Uploaded as ${upload.relativePath}.`);
    return upload.relativePath;
  });

  const request: DockerBuildRequest = {
    type: 'DockerBuildRequest',
    imageNames: inputs.tags.map((tag) => `${inputs.imageName}:${tag}`),
    isPushEnabled: true,
    noCache: inputs.noCache,
    dockerFilePath: inputs.dockerfileInContext!,
    target: inputs.target,
    arguments: Object.entries(inputs.buildArgs).map(([name, value]) => ({ name, value, isSecret: false })),
    timeout: Math.round(inputs.timeoutMs / 1000),
    platform: { os: 'Linux', architecture: inputs.platform.architecture, variant: inputs.platform.variant },
    sourceLocation,
    isArchiveEnabled: false,
  };

  const run = await core.group(`Building ${inputs.imageName} with ACR Tasks (${inputs.platform.text})`, async () => {
    const scheduled = await explainAcr(acr.scheduleRun(request), inputs);
    const runId = scheduled.properties?.runId ?? scheduled.name;
    if (!runId) throw new Error('ACR answered scheduleRun without a run id');
    core.info(`Run ${runId} queued; following its log.`);
    return followRun(acr, runId, inputs.timeoutMs + TIMEOUT_GRACE_MS);
  });

  const runId = run.properties?.runId ?? run.name;
  const status = run.properties?.status;
  if (status !== 'Succeeded') {
    const why = run.properties?.runErrorMessage ? `: ${run.properties.runErrorMessage}` : '';
    throw new GuidedError(
      `ACR Tasks run ${runId} ended ${status ?? 'without a status'}${why}`,
      status === 'Timeout'
        ? `The build took longer than "timeout" (${formatDuration(inputs.timeoutMs)}); raise it (at most 8h) or make the build faster (a smaller context, fewer layers).`
        : 'The build log above shows the failing step. Fix the Dockerfile or the context and push again; re-running the same commit rebuilds it.',
    );
  }
  const image = pickOutputImage(run.properties?.outputImages ?? [], inputs.imageName, inputs.tags[0]!);
  if (!image?.digest || !DIGEST.test(image.digest)) {
    throw new GuidedError(`ACR Tasks run ${runId} succeeded but reported no digest for ${inputs.imageName}`, 'Check that the Dockerfile builds one image and that "image-name" matches the pushed repository.');
  }
  const loginServer = inputs.registryLoginServer ?? image.registry?.toLowerCase() ?? (await explainAcr(acr.loginServer(), inputs));
  return { loginServer, digest: image.digest, runId };
}

function pickOutputImage(images: readonly ImageDescriptor[], repository: string, tag: string): ImageDescriptor | undefined {
  return images.find((image) => image.repository === repository && image.tag === tag) ?? images.find((image) => image.repository === repository);
}

/** Put Blob to a SAS URL (one request; the 2021-08-06 service version takes up to 5000 MiB). */
async function uploadBlob(sasUrl: string, body: Buffer): Promise<void> {
  const target = sasUrl.split('?')[0]!;
  await withHttpRetry(
    `PUT ${target}`,
    async () => {
      const response = await fetch(sasUrl, {
        method: 'PUT',
        headers: { 'x-ms-blob-type': 'BlockBlob', 'x-ms-version': '2021-08-06', 'content-type': 'application/gzip', 'content-length': String(body.length) },
        body: new Uint8Array(body),
      });
      if (!response.ok) throw new HttpError('PUT', target, response.status, await response.text(), response.headers.get('retry-after'));
    },
    { attempts: 5, onRetry: (message) => core.info(message) },
  );
}

/**
 * Polls the run until it ends, printing each new complete line of its log blob as it appears (read
 * with HTTP Range from the last offset) and a status line when the log is quiet.
 */
async function followRun(acr: AcrTasksClient, runId: string, waitLimitMs: number): Promise<Run> {
  const log = new LogTail();
  const started = Date.now();
  let lastOutput = Date.now();
  let lastStatus = '';
  // Poll quickly at first, then every POLL_MS.
  for (let attempt = 0; ; attempt++) {
    const run = await acr.getRun(runId);
    const status = run.properties?.status ?? 'Queued';
    if (!log.url && status !== 'Queued') {
      const link = (await acr.getLogSasUrl(runId)).logLink;
      if (link) {
        registerSecret(link);
        log.url = link;
      }
    }
    const printed = await log.printNew(false);
    const done = TERMINAL_RUN_STATUSES.includes(status);
    if (done) {
      await log.printNew(true);
      core.info(`Run ${runId}: ${status} after ${formatDuration(Date.now() - started)}.`);
      return run;
    }
    if (printed > 0) lastOutput = Date.now();
    if (status !== lastStatus || Date.now() - lastOutput >= STATUS_INTERVAL_MS) {
      core.info(`Run ${runId}: ${status} (${formatDuration(Date.now() - started)})`);
      lastStatus = status;
      lastOutput = Date.now();
    }
    if (Date.now() - started > waitLimitMs) {
      throw new GuidedError(`ACR Tasks run ${runId} is still ${status} after ${formatDuration(Date.now() - started)}`, 'ACR should have ended it at "timeout"; check the run in the portal (Container registry → Tasks → Runs).');
    }
    await sleep(Math.min(POLL_MS, 500 * 2 ** attempt));
  }
}

/** The unread tail of a growing blob, printed line by line. */
class LogTail {
  url?: string;
  private offset = 0;
  private partial = '';

  /** Prints the complete new lines (all of them, and any unterminated rest, when `final`); returns how many. */
  async printNew(final: boolean): Promise<number> {
    if (!this.url) return 0;
    const response = await fetch(this.url, { headers: { range: `bytes=${this.offset}-`, 'x-ms-version': '2021-08-06' } }).catch(() => undefined);
    // 404: the agent has not written the log yet; 416: nothing past the offset; both mean "nothing new".
    if (!response || (response.status !== 200 && response.status !== 206)) return 0;
    let chunk = Buffer.from(await response.arrayBuffer());
    // A server that ignores Range sends the whole blob again.
    if (response.status === 200) chunk = chunk.subarray(Math.min(this.offset, chunk.length));
    this.offset += chunk.length;
    const text = this.partial + chunk.toString('utf8');
    const lines = text.split(/\r?\n/);
    this.partial = final ? '' : (lines.pop() ?? '');
    const complete = lines.filter((line, index) => line || index < lines.length - 1);
    for (const line of complete) core.info(scrub(line));
    return complete.length;
  }
}

/** ARM refusals about the registry, turned into what to do. */
async function explainAcr<T>(operation: Promise<T>, inputs: Inputs): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const armError = armErrorOf(error);
    const status = httpStatusOf(error);
    const where = `registry "${inputs.registryName}" in resource group "${inputs.resourceGroup}"`;
    if (status === 404) {
      throw new GuidedError(`Azure found no ${where} (${armError?.code ?? 404}: ${armError?.message ?? ''})`, 'Pass the deploy step\'s `registry-name` and `resource-group-name` outputs, and check "subscription-id".');
    }
    if (status === 403 || status === 401) {
      throw new GuidedError(
        `Azure refused to run an ACR Tasks build in ${where} (${armError?.code ?? status}: ${armError?.message ?? ''})`,
        'Give the identity "Contributor" on the registry (ACR Tasks needs Microsoft.ContainerRegistry/registries/scheduleRun/action and listBuildSourceUploadUrl/action; AcrPush alone is not enough).',
      );
    }
    if (armError?.code === 'TasksOperationsNotAllowed' || /tasks/i.test(armError?.code ?? '')) {
      throw new GuidedError(`ACR Tasks is not available for ${where}: ${armError?.message ?? armError?.code}`, 'ACR Tasks needs a registry SKU and region that support it and a subscription not on a free trial; otherwise use mode "docker".');
    }
    throw error;
  }
}
