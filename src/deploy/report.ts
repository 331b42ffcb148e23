import * as core from '@actions/core';
import { PUBLIC_CLOUD, cloudOfArmEndpoint } from '../lib/azure-clouds.js';
import { escapeMarkdownText, inlineCode, markdownTable } from '../lib/markdown.js';
import { registerSecret } from '../lib/mask.js';
import { toActionOutputName } from '../lib/stack-outputs.js';
import { appendJobSummary, truncate } from '../lib/summary.js';
import { attemptsText } from '../lib/terraform-retry.js';
import type { Inputs } from './inputs.js';
import type { ModuleResult } from './main.js';

/** What the summary shows in place of a sensitive output's value. */
export const SENSITIVE_SHOWN_AS = '(sensitive)';
const SUMMARY_VALUE_LIMIT = 120;

export interface PublishedOutput {
  /** `cluster_name` */
  terraformName: string;
  /** `cluster-name` */
  actionName: string;
  sensitive: boolean;
  /** The output's value as the action output holds it: a string as is, anything else as JSON. */
  text: string;
  from: string;
}

export function outputText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/** Every string inside a value (a map of connection details holds several secrets). */
function stringsIn(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'string') found.push(value);
  else if (Array.isArray(value)) for (const item of value) stringsIn(item, found);
  else if (value && typeof value === 'object') for (const item of Object.values(value)) stringsIn(item, found);
  return found;
}

/**
 * Registers every sensitive output value as a secret — the whole text and every string inside it — so
 * the runner masks it wherever it could appear in the log. Called as soon as the outputs are read.
 */
export function registerSensitiveOutputs(outputs: Record<string, { value: unknown; sensitive: boolean }>): void {
  for (const output of Object.values(outputs)) {
    if (!output.sensitive) continue;
    registerSecret(outputText(output.value));
    for (const inner of stringsIn(output.value)) registerSecret(inner);
  }
}

/**
 * Sets every Terraform output of every root module as an action output (`cluster_name` →
 * `cluster-name`). Sensitive values are registered as secrets first (registerSensitiveOutputs), so the
 * runner masks them in the log; they reach later steps through their own output only. When two root
 * modules have an output of the same name, the later one (applied last) wins, as a workflow reading
 * the step would expect.
 */
export function publishOutputs(results: ModuleResult[]): PublishedOutput[] {
  const byName = new Map<string, PublishedOutput>();
  for (const result of results) {
    registerSensitiveOutputs(result.outputs);
    for (const [name, output] of Object.entries(result.outputs)) {
      const text = outputText(output.value);
      const previous = byName.get(name);
      if (previous) core.info(`Output ${name} of ${result.module.displayPath} replaces the one of ${previous.from}.`);
      byName.set(name, { terraformName: name, actionName: toActionOutputName(name), sensitive: output.sensitive, text, from: result.module.displayPath });
    }
  }
  const published = [...byName.values()];
  for (const output of published) core.setOutput(output.actionName, output.text);
  core.info(`Set ${published.length} output${published.length === 1 ? '' : 's'}: ${published.map((o) => o.actionName).join(', ') || '(none)'}`);
  return published;
}

/** `https://portal.azure.com/#@<tenant>/resource/subscriptions/<sub>/resourceGroups/<rg>[/providers/…]/overview` */
export function portalLink(options: { armEndpoint: string; tenantId?: string; subscriptionId: string; resourceGroup: string; resource?: string }): string {
  const tenant = options.tenantId ? `@${options.tenantId}/` : '';
  const id = `/subscriptions/${options.subscriptionId}/resourceGroups/${encodeURIComponent(options.resourceGroup)}${options.resource ?? ''}`;
  return `${(cloudOfArmEndpoint(options.armEndpoint) ?? PUBLIC_CLOUD).portal}/#${tenant}resource${id}/overview`;
}

function valueCell(output: PublishedOutput): string {
  if (output.sensitive) return SENSITIVE_SHOWN_AS;
  return inlineCode(truncate(output.text, SUMMARY_VALUE_LIMIT, '…'));
}

export async function writeDeploySummary(inputs: Inputs, results: ModuleResult[], outputs: PublishedOutput[], partial?: { stoppedAt: string }): Promise<void> {
  const title = partial ? `## Deploy of ${escapeMarkdownText(inputs.environment)} stopped at ${inlineCode(partial.stoppedAt)}` : `## Deployed ${escapeMarkdownText(inputs.environment)}`;
  const lines: string[] = [title, ''];
  if (partial) lines.push('These root modules were applied before the failure (the step\'s error says what failed); their outputs were not published.', '');
  lines.push(
    markdownTable(
      ['Root module', 'Plan', 'Result', 'Attempts'],
      results.map((result) => [
        inlineCode(result.module.displayPath),
        result.planSource === 'stored' ? `${inlineCode(result.module.planId)} (SHA-256 ${inlineCode((result.sha256 ?? '').slice(0, 12))}…)` : 'planned here (plan-if-missing, not reviewed)',
        result.outcome, // Terraform's own fixed-form line; markdownTable escapes the cell
        attemptsText(result.attempts, result.retried),
      ]),
    ),
    '',
  );
  if (outputs.length) {
    lines.push('### Outputs', '', markdownTable(['Output', 'Value'], outputs.map((output) => [inlineCode(output.actionName), valueCell(output)])), '');
  }
  const plain = (name: string) => outputs.find((output) => output.terraformName === name && !output.sensitive)?.text;
  const resourceGroup = plain('resource_group_name');
  const cluster = plain('cluster_name');
  const { subscriptionId, tenantId } = inputs.portal;
  if (resourceGroup && subscriptionId) {
    const common = { armEndpoint: inputs.auth.armEndpoint, tenantId, subscriptionId, resourceGroup };
    lines.push('### In the Azure portal', '', `- Resource group: [${escapeMarkdownText(resourceGroup)}](${portalLink(common)})`);
    if (cluster) {
      lines.push(`- AKS cluster: [${escapeMarkdownText(cluster)}](${portalLink({ ...common, resource: `/providers/Microsoft.ContainerService/managedClusters/${encodeURIComponent(cluster)}` })})`);
    }
    lines.push('');
  }
  await appendJobSummary(lines.join('\n'));
}
