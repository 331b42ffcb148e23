import * as core from '@actions/core';
import type { TokenCredential } from '@azure/core-auth';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ACR_TOKEN_USERNAME, createAcrTasksClient, exchangeAcrRefreshToken } from '../lib/acr.js';
import { GuidedError, errorMessage } from '../lib/errors.js';
import { runnerTemp } from '../lib/runner-env.js';
import type { BuildResult } from './acr-task.js';
import { listContextFiles, terraformFilesWarning } from './context.js';
import type { Inputs } from './inputs.js';

/**
 * `docker buildx build --push` on the runner, with the GitHub Actions cache backend (`type=gha`, which
 * needs a docker-container builder: run docker/setup-buildx-action first). Docker is logged in to the
 * registry with the Azure identity, as `az acr login` does, and logged out again at the end.
 */

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The arguments of the build, in the order docker documents them. */
export function buildxArguments(inputs: Inputs, loginServer: string, metadataFile: string): string[] {
  // One cache scope per image, so two images built in one repository do not evict each other's layers.
  const scope = inputs.imageName.replace(/[^a-z0-9._-]/g, '-');
  const args = ['buildx', 'build', '--push', '--platform', inputs.platform.text, '--file', inputs.dockerfile];
  for (const tag of inputs.tags) args.push('--tag', `${loginServer}/${inputs.imageName}:${tag}`);
  for (const [name, value] of Object.entries(inputs.buildArgs)) args.push('--build-arg', `${name}=${value}`);
  if (inputs.target) args.push('--target', inputs.target);
  if (inputs.noCache) args.push('--no-cache');
  args.push('--cache-from', `type=gha,scope=${scope}`, '--cache-to', `type=gha,mode=max,scope=${scope}`, '--metadata-file', metadataFile, inputs.context);
  return args;
}

export async function buildWithDocker(inputs: Inputs, credential: TokenCredential): Promise<BuildResult> {
  const io = await import('@actions/io');
  const docker = await io.which('docker', false);
  if (!docker) {
    throw new GuidedError('mode "docker" needs the docker CLI, and none is on PATH', 'Use mode "acr-task" (no Docker needed), or run on a runner with Docker and add docker/setup-buildx-action before this step.');
  }
  const { exec } = await import('@actions/exec');
  // docker sends the context itself (its .dockerignore applies); the files are listed the same way only
  // to give mode acr-task's warning about Terraform's working files.
  const terraformWarning = terraformFilesWarning((await listContextFiles(inputs.context)).files);
  if (terraformWarning) core.warning(terraformWarning);

  const loginServer =
    inputs.registryLoginServer ??
    (await createAcrTasksClient(inputs.auth, credential, { subscriptionId: inputs.auth.subscriptionId!, resourceGroup: inputs.resourceGroup!, registryName: inputs.registryName! }).loginServer());

  const workDir = mkdtempSync(path.join(runnerTemp(), 'build-image-'));
  const metadataFile = path.join(workDir, 'metadata.json');
  let loggedIn = false;
  try {
    if (inputs.dockerLogin) {
      await core.group(`Logging docker in to ${loginServer}`, async () => {
        let refreshToken: string;
        try {
          refreshToken = await exchangeAcrRefreshToken(inputs.auth, credential, loginServer);
        } catch (error) {
          throw new GuidedError(`Could not exchange the Azure token for a ${loginServer} token: ${errorMessage(error)}`, 'Give the identity "AcrPush" on the registry, and check that the registry allows Entra ID authentication.');
        }
        const code = await exec(docker, ['login', loginServer, '--username', ACR_TOKEN_USERNAME, '--password-stdin'], { input: Buffer.from(refreshToken), ignoreReturnCode: true });
        if (code !== 0) throw new GuidedError(`docker login ${loginServer} failed (exit ${code})`, 'See the output above; check that the runner can reach the registry.');
        loggedIn = true;
      });
    }
    const args = buildxArguments(inputs, loginServer, metadataFile);
    const code = await core.group(`docker buildx build ${inputs.imageName} (${inputs.platform.text})`, () => exec(docker, args, { ignoreReturnCode: true }));
    if (code !== 0) {
      throw new GuidedError(
        `docker buildx build failed (exit ${code})`,
        'The output above shows the failing step. "cache export feature is currently not supported for docker driver" means no docker-container builder: add docker/setup-buildx-action before this step.',
      );
    }
    let metadata: Record<string, unknown>;
    try {
      metadata = JSON.parse(readFileSync(metadataFile, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new GuidedError(`docker buildx wrote no readable metadata file (${errorMessage(error)})`, 'Use Docker Buildx 0.8 or newer (docker/setup-buildx-action installs a current one).');
    }
    const digest = metadata['containerimage.digest'];
    if (typeof digest !== 'string' || !DIGEST.test(digest)) {
      throw new GuidedError(`docker buildx reported no image digest (containerimage.digest is ${JSON.stringify(digest)})`, 'Check that the build pushed an image (a multi-platform or --output build may not).');
    }
    return { loginServer, digest };
  } finally {
    if (loggedIn) await exec(docker, ['logout', loginServer], { ignoreReturnCode: true, silent: true }).catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }
}
