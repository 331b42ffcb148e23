import * as core from '@actions/core';
import { createTokenCredential } from '../lib/azure-auth.js';
import { explainAzureError } from '../lib/azure-errors.js';
import { inlineCode, markdownTable } from '../lib/markdown.js';
import { appendJobSummary } from '../lib/summary.js';
import { readInputs } from './inputs.js';

/**
 * Builds the image and pushes it to the stack's ACR, tagged with the commit SHA (+ extra tags), and
 * outputs it pinned by digest: `<login-server>/<name>@sha256:<digest>`, which setup-agent and
 * register-flow deploy, so a moving tag can never change what runs.
 */
export async function run(): Promise<void> {
  const inputs = readInputs();
  const credential = await createTokenCredential(inputs.auth);
  let result;
  try {
    if (inputs.mode === 'acr-task') {
      const { buildWithAcrTask } = await import('./acr-task.js');
      result = await buildWithAcrTask(inputs, credential);
    } else {
      const { buildWithDocker } = await import('./docker.js');
      result = await buildWithDocker(inputs, credential);
    }
  } catch (error) {
    throw explainAzureError(error, { doing: `building ${inputs.imageName}`, auth: inputs.auth, roleHint: '"Contributor" (acr-task) or "AcrPush" (docker) on the registry' });
  }

  const repository = `${result.loginServer}/${inputs.imageName}`;
  const image = `${repository}@${result.digest}`;
  const tagRefs = inputs.tags.map((tag) => `${repository}:${tag}`);
  core.setOutput('image', image);
  core.setOutput('digest', result.digest);
  core.setOutput('tags', tagRefs.join('\n'));
  if (result.runId) core.setOutput('run-id', result.runId);
  core.info(`Pushed ${image}`);
  await appendJobSummary(
    `### Image ${inputs.imageName}\n\n` +
      markdownTable(['', ''], [
        ['image', inlineCode(image)],
        ['tags', inputs.tags.map(inlineCode).join(' ')],
        ['built by', inputs.mode === 'acr-task' ? `ACR Tasks run ${inlineCode(result.runId ?? '')}` : 'docker buildx on the runner'],
        ['platform', inputs.platform.text],
      ]) +
      '\n',
  );
}
