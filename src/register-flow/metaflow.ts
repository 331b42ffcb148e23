import path from 'node:path';
import * as core from '@actions/core';
import { stripAnsi } from '../lib/ansi.js';
import { azureSdkEnvironment } from '../lib/azure-sdk-env.js';
import { GuidedError } from '../lib/errors.js';
import { registerSecret, scrub } from '../lib/mask.js';
import { STATUS_INTERVAL_MS, withStatusLines } from '../lib/progress.js';
import { resolveMetaflowFlows, type FlowEntrypoint } from './entrypoints.js';
import type { MetaflowInputs } from './inputs.js';

/**
 * `orchestrator: metaflow`: what a Metaflow user runs by hand, `python <flow.py> --with kubernetes
 * argo-workflows create`, with the stack's metaflow_config as environment (Metaflow reads every
 * METAFLOW_* setting from the environment first) and this action's Azure identity for the datastore.
 *
 * Metaflow reports on stderr, in lines such as (Netflix/metaflow, plugins/argo/argo_workflows_cli.py):
 *   Deploying helloflow to Argo Workflows...
 *   The namespace of this production flow is
 *       production:helloflow-0-abcd
 *   Workflow helloflow for flow HelloFlow pushed to Argo Workflows successfully.
 *   See the deployed workflow here:
 *       https://argo.example.org/workflow-templates/metaflow/helloflow
 *   What will trigger execution of the workflow:
 *       No triggers defined. You need to launch this workflow manually.
 * Each line is read here before it is printed: the production token (which authorises redeploys) is
 * masked first, and the workflow template name, link and triggers are taken for the outputs.
 */

export interface MetaflowDeployment {
  entry: FlowEntrypoint;
  /** The FlowSpec class name Metaflow reported. */
  flowName: string;
  workflowTemplate: string;
  /** The Argo Workflows UI link, when METAFLOW_ARGO_WORKFLOWS_UI_URL is configured. */
  url?: string;
  triggers?: string;
}

const PUSHED = /^Workflow (\S+) for flow (\S+) pushed to Argo Workflows successfully\.$/;
const PRODUCTION_TOKEN = /production:([A-Za-z0-9._-]+)/g;
const AUTHORIZE_TOKEN = /--authorize\s+(\S+)/g;

/** Reads Metaflow's output line by line; `accept(line)` returns the line safe to print. */
export class MetaflowOutput {
  workflowTemplate?: string;
  flowName?: string;
  url?: string;
  private triggerLines: string[] = [];
  private expecting: 'url' | 'triggers' | undefined;
  readonly tail: string[] = [];

  accept(rawLine: string): string {
    // Metaflow marks emphasis with ANSI colours (and erase-to-end-of-line) when it thinks it has a terminal.
    const line = stripAnsi(rawLine).replace(/\r$/, '');
    for (const match of line.matchAll(PRODUCTION_TOKEN)) registerSecret(match[1]!);
    for (const match of line.matchAll(AUTHORIZE_TOKEN)) if (match[1] !== 'MY_TOKEN') registerSecret(match[1]!.replace(/^production:/, ''));
    const trimmed = line.trim();
    const pushed = PUSHED.exec(trimmed);
    if (pushed) {
      this.workflowTemplate = pushed[1];
      this.flowName = pushed[2];
      this.expecting = undefined;
    } else if (trimmed === 'See the deployed workflow here:') {
      this.expecting = 'url';
    } else if (trimmed === 'What will trigger execution of the workflow:') {
      this.expecting = 'triggers';
    } else if (this.expecting === 'url' && trimmed) {
      this.url = /^https?:\/\/\S+$/.test(trimmed) ? trimmed : undefined;
      this.expecting = undefined;
    } else if (this.expecting === 'triggers') {
      if (trimmed) this.triggerLines.push(trimmed);
      else if (this.triggerLines.length) this.expecting = undefined;
    }
    const safe = scrub(line);
    this.tail.push(safe);
    if (this.tail.length > 40) this.tail.shift();
    return safe;
  }

  get triggers(): string | undefined {
    return this.triggerLines.length ? this.triggerLines.join(' ') : undefined;
  }
}

export interface MetaflowRunOptions {
  /** How often a "still deploying" line is printed while Metaflow is quiet; default STATUS_INTERVAL_MS. */
  statusIntervalMs?: number;
}

export async function deployMetaflowFlows(inputs: MetaflowInputs, options: MetaflowRunOptions = {}): Promise<MetaflowDeployment[]> {
  const entries = await resolveMetaflowFlows(inputs.flows, inputs.workingDirectory);
  const exec = await import('@actions/exec');
  const identity = await azureSdkEnvironment(inputs.auth);
  const deployments: MetaflowDeployment[] = [];
  try {
    for (const entry of entries) {
      const args = [entry.displayPath, '--with', 'kubernetes', 'argo-workflows', 'create', ...inputs.tags.flatMap((tag) => ['--tag', tag])];
      const output = new MetaflowOutput();
      // Metaflow says nothing while it packages the code and uploads it to the datastore: minutes for a
      // large repository, so status lines show the step is alive.
      const deploying = exec.exec(inputs.python, args, {
        cwd: inputs.workingDirectory,
        env: { ...(process.env as Record<string, string>), ...inputs.metaflowConfig, ...identity.env, PYTHONUNBUFFERED: '1' },
        ignoreReturnCode: true,
        silent: true,
        listeners: {
          stdline: (line) => core.info(output.accept(line)),
          errline: (line) => core.info(output.accept(line)),
        },
      });
      const exitCode = await core.group(`${inputs.python} ${args.join(' ')}`, () =>
        withStatusLines(`deploying ${entry.displayPath} with Metaflow`, deploying, options.statusIntervalMs ?? STATUS_INTERVAL_MS),
      );
      if (exitCode !== 0) {
        throw new GuidedError(
          `Metaflow exited with ${exitCode} deploying ${entry.displayPath}; its last lines:\n${output.tail.slice(-15).join('\n')}`,
          'Check the step log above. Metaflow needs its packages installed on the runner (pip install metaflow kubernetes azure-identity azure-storage-blob), a kubeconfig for the cluster (e.g. azure/aks-set-context) and this identity allowed to write the datastore.',
        );
      }
      if (!output.workflowTemplate) {
        throw new GuidedError(
          `Metaflow exited 0 for ${entry.displayPath} but reported no workflow pushed to Argo Workflows`,
          'Check that the file defines a FlowSpec and that nothing in "metaflow-config" (or the environment) makes Metaflow only print the template.',
        );
      }
      core.info(`${entry.displayPath}: workflow template ${output.workflowTemplate} (flow ${output.flowName})${output.url ? ` ${output.url}` : ''}`);
      deployments.push({ entry, flowName: output.flowName ?? path.basename(entry.file, '.py'), workflowTemplate: output.workflowTemplate, url: output.url, triggers: output.triggers });
    }
  } finally {
    await identity.cleanup();
  }
  return deployments;
}
