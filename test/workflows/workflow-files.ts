import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, parseDocument } from 'yaml';
import { REPO_ROOT } from '../support/run-dist.js';

export { REPO_ROOT };

/** The actions the workflows use; their action.yml files are written by the actions' owners. */
export const EXPECTED_ACTIONS = ['setup-remote-state', 'plan', 'deploy', 'build-image', 'setup-agent', 'register-flow', 'destroy'] as const;

export const REUSABLE_WORKFLOWS = ['plan.yml', 'deploy.yml', 'destroy.yml', 'drift.yml'] as const;
export const OWN_WORKFLOWS = ['ci.yml', 'release.yml'] as const;
export const EXAMPLE_WORKFLOWS = ['pull-request.yml', 'release.yml', 'manual.yml', 'drift.yml'] as const;

/** The Metaflow stack's reusable workflows (metaflow/infra, then metaflow/services) and their examples. */
export const METAFLOW_REUSABLE_WORKFLOWS = ['metaflow-deploy.yml', 'metaflow-destroy.yml'] as const;
export const METAFLOW_EXAMPLE_WORKFLOWS = ['metaflow-release.yml', 'metaflow-manual.yml', 'metaflow-pull-request.yml', 'metaflow-drift.yml'] as const;

function ymlIn(directory: string): string[] {
  const full = path.join(REPO_ROOT, directory);
  if (!existsSync(full)) return [];
  return readdirSync(full)
    .filter((name) => name.endsWith('.yml') || name.endsWith('.yaml'))
    .sort()
    .map((name) => `${directory}/${name}`);
}

/** Every workflow of this repository and every example, relative to the repository root. */
export function workflowFiles(): string[] {
  return [...ymlIn('.github/workflows'), ...ymlIn('examples/workflows')];
}

/** Every actions/<name>/action.yml that exists now. */
export function actionMetadataFiles(): string[] {
  const actionsDirectory = path.join(REPO_ROOT, 'actions');
  if (!existsSync(actionsDirectory)) return [];
  return readdirSync(actionsDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(actionsDirectory, entry.name, 'action.yml')))
    .map((entry) => `actions/${entry.name}/action.yml`)
    .sort();
}

export function readRepoFile(relativePath: string): string {
  return readFileSync(path.join(REPO_ROOT, relativePath), 'utf8');
}

/** A step of a job, found by its id or its name: the parsed step mapping as plain data. */
export function findStep(relativePath: string, jobId: string, idOrName: string): Record<string, unknown> {
  const workflow = parseDocument(readRepoFile(relativePath));
  const steps = workflow.getIn(['jobs', jobId, 'steps'], true);
  if (!isSeq(steps)) throw new Error(`${relativePath}: job '${jobId}' has no steps`);
  for (const item of steps.items) {
    if (!isMap(item)) continue;
    const step = item.toJSON() as Record<string, unknown>;
    if (step.id === idOrName || step.name === idOrName) return step;
  }
  throw new Error(`${relativePath}: job '${jobId}' has no step with id or name '${idOrName}'`);
}
